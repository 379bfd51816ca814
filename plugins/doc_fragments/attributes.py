# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Use together: the base fragment describes the attributes, the others declare the support. Example:
    #   extends_documentation_fragment:
    #     - fleetpatch.esxi.attributes
    #     - fleetpatch.esxi.attributes.info_module
    #     - fleetpatch.esxi.attributes.actiongroup_esxi
    # A module that changes hosts sets check_mode/diff_mode support itself and adds
    # fleetpatch.esxi.attributes.idempotent when a second identical run reports changed=false.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
"""

    # For *_info modules and other read-only modules.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
"""

    # Every module of the collection is in the action group "esxi" (meta/runtime.yml).
    ACTIONGROUP_ESXI = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/fleetpatch.esxi.esxi) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - fleetpatch.esxi.esxi
"""

    IDEMPOTENT = r"""
options: {}
attributes:
  idempotent:
    support: full
"""
