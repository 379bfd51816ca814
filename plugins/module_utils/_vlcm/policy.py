# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the remediation policy knobs of esxi_cluster_remediate, pure. Breaking changes at any time.

vCenter's configured apply policy of a cluster (``EsxSettingsClustersPoliciesApplyConfiguredPolicySpec``:
failure action and retries, VM power action, quick boot, DPM, HA admission control, powered-off VM evacuation,
HCL validation, parallel remediation) from the module's options: only the options given change the policy.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Optional

POWER_ACTIONS = {"power_off": "POWER_OFF_VMS", "suspend": "SUSPEND_VMS", "suspend_to_memory": "SUSPEND_VMS_TO_MEMORY",
                 "do_not_change": "DO_NOT_CHANGE_VMS_POWER_STATE"}
FLAGS = {"quick_boot": "enable_quick_boot", "disable_dpm": "disable_dpm", "disable_ha_admission_control": "disable_hac",
         "evacuate_powered_off_vms": "evacuate_offline_vms", "enforce_hcl_validation": "enforce_hcl_validation"}
OPTIONS = tuple(FLAGS) + ("failure_action", "retry_count", "retry_delay", "vm_power_action", "parallel_remediation",
                          "max_parallel_hosts")


def wanted_policy(current: Dict[str, Any], params: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The policy to PUT (a complete ConfiguredPolicySpec: a PUT replaces it), or None when no option changes
    ``current``."""
    if all(params.get(o) is None for o in OPTIONS):
        return None
    new = copy.deepcopy(current)
    for opt, key in FLAGS.items():
        if params.get(opt) is not None:
            new[key] = bool(params[opt])
    if params.get("vm_power_action") is not None:
        new["pre_remediation_power_action"] = POWER_ACTIONS[params["vm_power_action"]]
    fa = dict(new.get("failure_action") or {"action": "FAIL"})
    if params.get("failure_action") is not None:
        fa["action"] = params["failure_action"].upper()
    if fa.get("action") == "FAIL":
        fa.pop("retry_count", None)
        fa.pop("retry_delay", None)
    else:
        if params.get("retry_count") is not None:
            fa["retry_count"] = int(params["retry_count"])
        if params.get("retry_delay") is not None:
            fa["retry_delay"] = int(params["retry_delay"])
    new["failure_action"] = fa
    pr = dict(new.get("parallel_remediation_action") or {"enabled": False})
    if params.get("parallel_remediation") is not None:
        pr["enabled"] = bool(params["parallel_remediation"])
    if params.get("max_parallel_hosts") is not None:
        pr["max_hosts"] = int(params["max_parallel_hosts"])
    if not pr.get("enabled"):
        pr.pop("max_hosts", None)
    new["parallel_remediation_action"] = pr
    return None if new == current else new
