# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation: vib_version.yml (sidecar)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vibversion import compare, normalize_relation


def vib_version(value, version, operator="=="):
    """True if VIB version ``value`` stands in relation ``operator`` to VIB version ``version``, ordered as VMware's
    esximage orders two VIB versions (``1.0 < 1.0-1``, only the leading digit run of a field is numeric)."""
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
    try:
        c = compare(value, version)
    except ValueError as exc:   # esximage: "Could not parse '...' to a Vib version." (two or more hyphens)
        raise AnsibleFilterError("vib_version: %s" % exc)
    return {"<<": c < 0, "<=": c <= 0, "=": c == 0, ">=": c >= 0, ">>": c > 0, "!=": c != 0}[rel]


class TestModule(object):
    def tests(self):
        return {"vib_version": vib_version}
