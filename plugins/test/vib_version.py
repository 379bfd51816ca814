# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: vib_version.yml (sidecar)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vibversion import normalize_relation, satisfies


def vib_version(value, version, operator="=="):
    """True if VIB version ``value`` stands in relation ``operator`` to ``version`` (VMware ordering)."""
    if not isinstance(value, str) or not isinstance(version, str):
        raise AnsibleFilterError("vib_version: both versions must be strings, got %s and %s"
                                 % (type(value).__name__, type(version).__name__))
    if not value.strip() or not version.strip():
        raise AnsibleFilterError("vib_version: empty version (%r, %r)" % (value, version))
    try:
        rel = normalize_relation(operator)
    except (ValueError, AttributeError):
        raise AnsibleFilterError("vib_version: unknown operator %r (use <, <=, ==, !=, >=, > or VMware's <<, =, >>)"
                                 % (operator,))
    if rel is None:
        raise AnsibleFilterError("vib_version: an operator is required")
    return satisfies(value, rel, version)


class TestModule(object):
    def tests(self):
        return {"vib_version": vib_version}
