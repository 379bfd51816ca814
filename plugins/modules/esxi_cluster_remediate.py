#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: esxi_cluster_remediate
short_description: Remediate the hosts of a vLCM image-managed cluster to its desired image
version_added: 0.2.0
description:
  - Brings the hosts of a cluster managed with a single image (vSphere Lifecycle Manager) to the cluster's desired
    image, through vCenter's REST API.
  - Always runs vCenter's remediation pre-check (C(?action=check)) first and stops with its findings when it fails;
    nothing is applied that was not checked. Then applies the image (C(?action=apply)) and follows vCenter's task
    with its progress (RV(progress), shown with C(-v)), and returns per host what happened.
  - A cluster whose selected hosts are compliant is left alone (V(changed=false), no check, no apply).
  - A failed task fails the module with vCenter's own messages and the per-host results so far.
  - Maintenance mode, VM evacuation and reboots are vCenter's, under the cluster's remediation policy. The policy
    options below (O(failure_action), O(vm_power_action), O(quick_boot), ...) change that configured policy of the
    cluster in vCenter (C(/api/esx/settings/clusters/{cluster}/policies/apply)) before the check; options not given
    leave it as it is. RV(policy) is the policy in force.
  - See the C(docs/vlcm.md) file of the collection.
author:
  - fleetpatch.esxi contributors (@fleetpatch)
requirements:
  - requests
extends_documentation_fragment:
  - fleetpatch.esxi.connection
  - fleetpatch.esxi.attributes
  - fleetpatch.esxi.attributes.actiongroup_esxi
  - fleetpatch.esxi.attributes.idempotent
attributes:
  check_mode:
    support: full
    details:
      - Runs vCenter's pre-check only and reports which hosts would be remediated.
  diff_mode:
    support: none
options:
  cluster:
    description: The name of the image-managed cluster.
    type: str
    required: true
    aliases: [cluster_name]
  hosts:
    description: Only these hosts of the cluster (vCenter names). By default every host.
    type: list
    elements: str
  accept_eula:
    description: Accept the end user license agreement of the image (vCenter refuses to apply without it).
    type: bool
    default: false
  failure_action:
    description: What vCenter does when a host fails to remediate, V(fail) or V(retry).
    type: str
    choices: [fail, retry]
  retry_count:
    description: With O(failure_action=retry), how many times vCenter retries a host.
    type: int
  retry_delay:
    description: With O(failure_action=retry), seconds between the retries.
    type: int
  vm_power_action:
    description: What vCenter does with the VMs of a host before remediating it.
    type: str
    choices: [do_not_change, power_off, suspend, suspend_to_memory]
  quick_boot:
    description: Use quick boot (no firmware reboot) where the hosts support it.
    type: bool
  disable_dpm:
    description: Disable Distributed Power Management during the remediation.
    type: bool
  disable_ha_admission_control:
    description: Disable HA admission control during the remediation.
    type: bool
  evacuate_powered_off_vms:
    description: Migrate powered-off and suspended VMs too before a host enters maintenance mode.
    type: bool
  enforce_hcl_validation:
    description: Refuse to remediate when vSAN hardware compatibility validation fails.
    type: bool
  parallel_remediation:
    description: Remediate hosts in parallel (hosts already in maintenance mode).
    type: bool
  max_parallel_hosts:
    description: With O(parallel_remediation), at most this many hosts at a time.
    type: int
  timeout:
    description: Seconds to wait for vCenter's check and remediation tasks.
    type: int
    default: 3600
  request_timeout:
    description: Seconds to wait for each answer of vCenter.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Remediate cluster Prod to its image
  fleetpatch.esxi.esxi_cluster_remediate:
    cluster: Prod
    accept_eula: true
  register: remediation
"""

RETURN = r"""
check:
  description: The pre-check findings, C({status, issues [{entity, status, message}]}).
  returned: when the check ran
  type: dict
hosts:
  description: Per host, C({name, moid, status, messages}); status V(ok), V(skipped), V(error) (or V(would_remediate)
    in check mode).
  returned: always
  type: list
  elements: dict
progress:
  description: The remediation task's progress as it was followed, C([{status, completed, total, message}]).
  returned: always
  type: list
  elements: dict
policy:
  description: The cluster's remediation policy in force (vCenter's C(ConfiguredPolicySpec) fields).
  returned: success
  type: dict
compliance_before:
  description: The compliance before (as M(fleetpatch.esxi.esxi_cluster_image_info) returns it).
  returned: success
  type: dict
compliance:
  description: The compliance after the task.
  returned: success
  type: dict
"""

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import connection_argument_spec
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import HAS_REQUESTS, REQUESTS_IMPORT_ERROR
from ansible_collections.fleetpatch.esxi.plugins.module_utils._vlcm.ops import run_remediate


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        cluster=dict(type="str", required=True, aliases=["cluster_name"]),
        hosts=dict(type="list", elements="str"),
        accept_eula=dict(type="bool", default=False),
        failure_action=dict(type="str", choices=["fail", "retry"]),
        retry_count=dict(type="int"),
        retry_delay=dict(type="int"),
        vm_power_action=dict(type="str", choices=["do_not_change", "power_off", "suspend", "suspend_to_memory"]),
        quick_boot=dict(type="bool"),
        disable_dpm=dict(type="bool"),
        disable_ha_admission_control=dict(type="bool"),
        evacuate_powered_off_vms=dict(type="bool"),
        enforce_hcl_validation=dict(type="bool"),
        parallel_remediation=dict(type="bool"),
        max_parallel_hosts=dict(type="int"),
        timeout=dict(type="int", default=3600),
        request_timeout=dict(type="int", default=60),
    )
    return spec


def main():
    module = FleetpatchModule(argument_spec(), supports_check_mode=True, connection=True,
                              libs={"requests": (HAS_REQUESTS, REQUESTS_IMPORT_ERROR)},
                              partial={"hosts": [], "progress": []})
    module.run(lambda ctx: run_remediate(ctx.params, ctx.check_mode, log=module.log, partial=ctx.partial))


if __name__ == "__main__":
    main()
