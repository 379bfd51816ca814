#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: esxi_patch_deploy
short_description: Install bulletins or an image profile from a depot on ESXi hosts
version_added: 0.1.0
description:
  - Installs the selected bulletins of a software depot (or updates to an image profile of the depot) on one or
    more VMware ESXi hosts, through vCenter or on an ESXi host directly, one host after the other.
  - "Per host: scan (the same engine and metadata as M(fleetpatch.esxi.esxi_patch_scan)), select, plan, pre-check,
    enter maintenance mode when needed, then for each step a dry run followed by the install, reboot and wait for
    the host, verify that the planned VIBs are active and scan again, exit maintenance mode if this task entered
    it."
  - "The plan is resolved from the depot metadata the scan used: dependencies (a bulletin that needs another
    bulletin of the depot, for example an ESXi update that provides a newer C(vmkapi), gets it added and the plan
    says so in RV(plan.added_dependencies)), C(provides), supersedence, conflicts and acceptance levels."
  - "Pre-checks run before anything on the host changes: the host's acceptance level against the VIBs, conflicts
    with installed VIBs, unmet dependencies, platform, maintenance mode and download URLs."
  - Each deploy records its start and end as a user event on the host (C(EventManager.LogUserEvent)), so vCenter's
    event history shows what was done.
  - "On failure (task error, disconnect, reboot timeout) the task stops and fails. The result says which steps were
    applied (RV(hosts[].steps)) and the host's state (RV(host_state)), including whether it is still in maintenance
    mode."
  - Works under C(async)/C(poll), so a long run survives the console that started it.
author:
  - fleetpatch.esxi contributors (@fleetpatch)
requirements:
  - pyVmomi
  - lxml
  - requests (for HTTP(S) depots)
extends_documentation_fragment:
  - fleetpatch.esxi.connection
  - fleetpatch.esxi.targets
  - fleetpatch.esxi.depot.connected
  - fleetpatch.esxi.attributes
  - fleetpatch.esxi.attributes.actiongroup_esxi
  - fleetpatch.esxi.attributes.idempotent
attributes:
  check_mode:
    support: full
    details:
      - Check mode scans the hosts and returns the plan; nothing on the hosts changes.
  diff_mode:
    support: full
    details:
      - Returns the hosts' VIB sets before and after (planned after in check mode).
options:
  bulletins:
    description:
      - Bulletin ids to install. A bulletin that the scan found V(installed) or V(superseded) is skipped (see
        RV(plan.skip)); one it found V(not_applicable) is refused and the task fails before changing anything.
      - Combines with the other criteria. Without any criterion and without O(profile), every bulletin the scan
        found V(missing) is installed.
    type: list
    elements: str
  severity:
    description:
      - Install the missing bulletins of these severities (V(critical), V(important), V(general), V(security), ...;
        case-insensitive).
    type: list
    elements: str
  category:
    description:
      - Install the missing bulletins of these categories (V(security), V(bugfix), V(enhancement), ...).
    type: list
    elements: str
  released_after:
    description:
      - Install the missing bulletins released on or after this date (ISO 8601, V(YYYY-MM-DD)).
    type: str
  released_before:
    description:
      - Install the missing bulletins released on or before this date (ISO 8601).
    type: str
  exclude:
    description:
      - Bulletin ids never to install. A dependency that only an excluded bulletin provides fails the pre-check.
    type: list
    elements: str
    default: []
  profile:
    description:
      - Update the host to this image profile of the depot, as C(esxcli software profile update) does. The
        profile's VIBs are installed or upgraded, VIBs of the host that the profile does not have are kept (listed
        in RV(plan.kept)).
      - With O(allow_removal=true) those VIBs are removed as well (a full replacement, as C(esxcli software profile
        install) does); every VIB that would go is listed in RV(plan.removed_by_request).
      - Combines with the bulletin criteria; the profile is applied first, the bulletins in a second step.
    type: str
  allow_removal:
    description:
      - With O(profile), remove the host's VIBs that are not in the profile. What such a replacement drops (drivers,
        agents) is lost; run in check mode first and read RV(plan.removed_by_request).
    type: bool
    default: false
  allow_image_drift:
    description:
      - Install bulletins on a host whose cluster is managed with a single image (vSphere Lifecycle Manager).
        Without it such a host is refused by the pre-check, naming M(fleetpatch.esxi.esxi_cluster_remediate); the
        bulletins would be standalone VIBs that make the host drift from the cluster image.
    type: bool
    default: false
  allow_acceptance_change:
    description:
      - Lower the host's acceptance level to the lowest level of the VIBs to install (for example V(community) for a
        community-supported driver) as the first step. Without it such a plan fails the pre-check.
    type: bool
    default: false
  method:
    description:
      - V(patch_manager) uses the host's patch manager (C(HostPatchManager)) - the dry run with
        C(CheckHostPatch_Task) and the depot's metadata URLs, the install with C(InstallHostPatchV2_Task) naming
        the exact VIB URLs of the step (so that only the planned VIBs are installed).
      - V(esxcli) runs C(esxcli software vib install -d <depot> -n <name:version>) or C(esxcli software profile
        update -d <depot> -p <profile>) on the host, with C(--dry-run) first. It can install from an offline
        bundle zip served as is.
      - Removals (O(allow_removal)) always run C(esxcli software vib remove).
    type: str
    choices: [patch_manager, esxcli]
    default: patch_manager
  stage_only:
    description:
      - Only download and stage the VIBs on the host (C(StageHostPatch_Task)) for a later maintenance window,
        without maintenance mode or reboot. Needs O(method=patch_manager).
    type: bool
    default: false
  scan:
    description:
      - V(always) scans each host first (and writes its scan record when O(scan_record_dir) is set; if an older
        record was made with other depot metadata, a warning says so).
      - V(record) uses the host's scan record from O(scan_record_dir) instead and refuses to deploy when there is
        none, when it was made with other depot metadata (digest) or when the host's VIBs changed since.
    type: str
    choices: [always, record]
    default: always
  engine:
    description:
      - The scan engine, as in M(fleetpatch.esxi.esxi_patch_scan) (V(controller), V(host) or V(auto)).
    type: str
    choices: [auto, controller, host]
    default: auto
  depot_url:
    description:
      - Where the hosts reach the depot (the host always downloads what it installs). Needed when the depot is a
        local path on the controller (air-gapped hosts; a web server serves the same files), or when hosts reach
        an online depot at another address.
      - One URL per entry of O(depot), in the same order; an empty entry uses the O(depot) entry itself. With a
        single local source, one URL is enough. IPv6 literals in brackets, for example
        V(http://[fd00::10]:8080/depot/index.xml).
    type: list
    elements: str
  manage_firewall:
    description:
      - Open the host's C(httpClient) firewall ruleset while the host downloads (scan, dry runs, installs) and
        restore its previous state afterwards, also when the deploy fails.
      - ESXi ships with the ruleset closed, so downloads from a depot need it open. Set V(false) where the ruleset
        is managed elsewhere; a host whose ruleset is closed is then reported in a warning and its downloads fail.
    type: bool
    default: true
  scan_record_dir:
    description:
      - Folder of the scan records (see M(fleetpatch.esxi.esxi_patch_scan)). A deploy writes the records of its
        scans there too, including the one after the deploy.
    type: path
  scan_workers:
    description:
      - How many hosts a scan reads at the same time over the one session (see M(fleetpatch.esxi.esxi_patch_scan)).
    type: int
    default: 64
  maintenance_mode:
    description:
      - V(auto) enters maintenance mode only when a VIB to install or remove requires it or the host must reboot,
        and exits it at the end if this task, or an earlier run of this module that did not finish, entered it
        (see O(keep_maintenance_mode)). Maintenance mode that someone else entered is left as it is.
      - V(require) enters maintenance mode whenever the host is changed (exits it as V(auto) does).
      - V(never) does not enter maintenance mode; a plan that needs it fails the pre-check (unless the host is in
        maintenance mode already).
    type: str
    choices: [auto, require, never]
    default: auto
  evacuate_powered_off_vms:
    description:
      - When entering maintenance mode through vCenter with DRS, also move powered-off VMs off the host.
    type: bool
    default: false
  keep_maintenance_mode:
    description:
      - Leave the host in maintenance mode at the end of a successful deploy, also when this task entered it. The
        host is then yours, and a later run does not take it out of maintenance mode.
    type: bool
    default: false
    version_added: 0.2.0
  maintenance_mode_timeout:
    description:
      - Seconds the host may take to enter (or exit) maintenance mode. When the time is up the task fails and names
        the powered-on VMs that did not evacuate. V(0) means no limit on the server side (the task then waits up to
        an hour).
      - The default was V(0) before version 0.2.0.
    type: int
    default: 1800
  vsan_mode:
    description:
      - vSAN data migration when entering maintenance mode. By default the server's default applies.
    type: str
    choices: [ensureObjectAccessibility, evacuateAllData, noAction]
  exit_maintenance_on_failure:
    description:
      - When the deploy fails after this task put the host in maintenance mode, take it out again. By default the
        host stays in maintenance mode for inspection (RV(host_state) says so).
    type: bool
    default: false
  reboot:
    description:
      - V(auto) reboots when a VIB needs it (or the host's answer says so), V(always) whenever the host was changed,
        V(never) leaves the reboot to you (RV(hosts[].pending_reboot) is then true).
      - After a reboot the task waits for the host (O(reboot_timeout)), checks that the planned VIBs are active and
        scans again.
    type: str
    choices: [auto, always, never]
    default: auto
  reboot_timeout:
    description:
      - Seconds to wait for a rebooting host to come back. It is also the longest wait for a host that dropped off
        during a failed install before its state is reported.
    type: int
    default: 1800
  lock_timeout:
    description:
      - One deploy per host at a time. When another run holds a host's lock, wait up to this many seconds for it,
        then fail naming the run that holds it. V(0) fails at once. A lock whose process is gone on this
        controller is taken over at once.
      - Through vCenter the lock is a custom attribute of the host (C(fleetpatch.esxi.lock)), so runs on different
        controllers see each other; a lock whose run died expires (it is renewed at every phase for the longest the
        phase may take plus ten minutes). On ESXi without vCenter the lock is a file in O(state_dir).
    type: int
    default: 600
    version_added: 0.2.0
  run_id:
    description:
      - The id of this run in the host lock, the marker and the events (for example the AWX job id). By default a
        new id from the time and a random part.
    type: str
    version_added: 0.2.0
  state_dir:
    description:
      - On ESXi without vCenter, the controller folder that holds the per-host lock and marker files (vCenter keeps
        them in custom attributes of the host). Controllers that deploy to the same hosts must share it.
      - Default C(~/.ansible/fleetpatch/hosts).
    type: path
    version_added: 0.2.0
notes:
  - Idempotent. A second run with the same selection finds the bulletins installed and changes nothing
    (C(changed=false)).
  - "A plan needs the host's VIB inventory; with O(engine=host) the inventory is still read for planning."
  - Through vCenter the hosts are patched one after the other; the task stops at the first host that fails.
  - The O(depot_validate_certs) option checks the depot's TLS certificate; O(validate_certs) the one of vCenter or ESXi.
  - Download tokens and passwords inside depot URLs are never shown in results, messages, events or logs.
seealso:
  - module: fleetpatch.esxi.esxi_patch_scan
  - module: fleetpatch.esxi.esxi_depot_info
"""

EXAMPLES = r"""
- name: Show what would be done (check mode returns the plan)
  fleetpatch.esxi.esxi_patch_deploy:
    hostname: vcenter.example.com
    username: "{{ vcenter_user }}"
    password: "{{ vcenter_password }}"
    esxi_hostname: esx01.example.com
    depot: [https://depot.example.com/esxi/index.xml]
    bulletins: [VMware-vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870]
  check_mode: true
  diff: true
  delegate_to: localhost
  register: plan

- name: Install the USB NIC fling, rebooting and re-scanning; vCenter shows start and end as events
  fleetpatch.esxi.esxi_patch_deploy:
    hostname: vcenter.example.com
    username: "{{ vcenter_user }}"
    password: "{{ vcenter_password }}"
    esxi_hostname: esx01.example.com
    depot: [https://depot.example.com/esxi/index.xml]
    bulletins: [VMware-vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870]
    manage_firewall: true
    reboot_timeout: 1200
  delegate_to: localhost

- name: Every critical security bulletin of 2024 on a whole cluster, host after host, survives a closed console
  fleetpatch.esxi.esxi_patch_deploy:
    hostname: vcenter.example.com
    username: "{{ vcenter_user }}"
    password: "{{ vcenter_password }}"
    cluster_name: Production
    depot: [/srv/depots/VMware-ESXi-8.0U3e-24674464-depot.zip]
    depot_url: ["http://depot.example.com/esxi-8.0U3e/index.xml"]
    severity: [critical]
    category: [security]
    released_after: "2024-01-01"
    evacuate_powered_off_vms: true
    maintenance_mode_timeout: 3600
    vsan_mode: ensureObjectAccessibility
  delegate_to: localhost
  async: 14400
  poll: 30

- name: Update to an image profile with esxcli (profile update keeps the host's other VIBs)
  fleetpatch.esxi.esxi_patch_deploy:
    hostname: esx01.example.com
    username: root
    password: "{{ esx_root_password }}"
    depot: [https://depot.example.com/esxi/index.xml]
    profile: ESXi-8.0U3e-24674464-standard
    method: esxcli
  delegate_to: localhost

- name: Full replacement by the profile; every VIB that would go is listed first
  fleetpatch.esxi.esxi_patch_deploy:
    hostname: esx01.example.com
    username: root
    password: "{{ esx_root_password }}"
    depot: [https://depot.example.com/esxi/index.xml]
    profile: ESXi-8.0U3e-24674464-standard
    allow_removal: true
  check_mode: true
  delegate_to: localhost
  register: replacement

- name: Community driver - lower the acceptance level first, IPv6 depot served to an air-gapped host
  fleetpatch.esxi.esxi_patch_deploy:
    hostname: "fd00::21"
    username: root
    password: "{{ esx_root_password }}"
    depot: [/srv/depots/community]
    depot_url: ["http://[fd00::10]:8080/community/index.xml"]
    bulletins: [sata-xahci-1.42-1]
    allow_acceptance_change: true
    manage_firewall: true
  delegate_to: localhost

- name: Stage now, install in the maintenance window
  fleetpatch.esxi.esxi_patch_deploy:
    hostname: vcenter.example.com
    username: "{{ vcenter_user }}"
    password: "{{ vcenter_password }}"
    cluster_name: Production
    depot: [https://depot.example.com/esxi/index.xml]
    severity: [critical]
    stage_only: true
  delegate_to: localhost

- name: Deploy only what the last scan found, with the same metadata; leave the reboot to a later window
  fleetpatch.esxi.esxi_patch_deploy:
    hostname: vcenter.example.com
    username: "{{ vcenter_user }}"
    password: "{{ vcenter_password }}"
    esxi_hostname: esx01.example.com
    depot: [https://depot.example.com/esxi/index.xml]
    scan: record
    scan_record_dir: /var/lib/fleetpatch/scans
    maintenance_mode: require
    reboot: never
    exit_maintenance_on_failure: true
  delegate_to: localhost
"""

RETURN = r"""
changed:
  description: Whether any host was changed (in check mode, whether one would be).
  returned: always
  type: bool
plan:
  description: The plan of the host, when one host is targeted (see RV(hosts[].plan)).
  returned: success, with one target host
  type: dict
  contains:
    changed:
      description: Whether the plan changes the host.
      type: bool
    selected:
      description: The bulletin ids the selection matched.
      type: list
      elements: str
    bulletins:
      description: The bulletins installed, including added dependencies.
      type: list
      elements: str
    profile:
      description: The image profile applied, or null.
      type: str
    install:
      description: VIB ids to install.
      type: list
      elements: str
      sample: [VMW_bootbank_vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870]
    remove:
      description: VIB ids that leave the host (upgraded, replaced, or removed on request).
      type: list
      elements: str
    removed_by_request:
      description: With O(allow_removal), every VIB removed because the profile does not have it.
      type: list
      elements: str
    replaces:
      description: New VIB id -> installed VIB ids it takes the place of.
      type: dict
    skip:
      description: Selected bulletins and candidate VIBs that are not installed, each with the reason
        (V(installed), V(superseded), V(already_installed), V(older_than_installed), V(superseded_by_candidate),
        V(replaced_by_installed), V(not_applicable)).
      type: list
      elements: dict
      contains:
        id:
          description: Bulletin or VIB id.
          type: str
        type:
          description: V(bulletin) or V(vib).
          type: str
        reason:
          description: Why it is skipped.
          type: str
        detail:
          description: Details.
          type: str
        by:
          description: What supersedes or replaces it, or null.
          type: str
    added_dependencies:
      description: Bulletins added because a VIB to install needs what they provide.
      type: list
      elements: dict
      contains:
        bulletin:
          description: The added bulletin.
          type: str
        vib:
          description: Its VIB that provides the requirement.
          type: str
        for:
          description: The VIB that needs it.
          type: str
        requires:
          description: The requirement.
          type: str
          sample: vmkapi_2_13_0_0
    kept:
      description: With O(profile) and without O(allow_removal), the host's VIBs that the profile does not have
        (kept, as C(profile update) does).
      type: list
      elements: str
    not_applicable_count:
      description: Bulletins matched by the filters that do not apply to the host.
      type: int
    steps:
      description: The steps, in order.
      type: list
      elements: dict
      contains:
        number:
          description: Step number, from 1.
          type: int
        kind:
          description: V(acceptance), V(profile_update), V(install) or V(remove).
          type: str
        bulletins:
          description: Bulletins of the step.
          type: list
          elements: str
        install:
          description: VIB ids the step installs.
          type: list
          elements: str
        remove:
          description: VIB ids the step removes or replaces.
          type: list
          elements: str
        profile:
          description: Image profile of the step, or null.
          type: str
        acceptance:
          description: New host acceptance level of an V(acceptance) step.
          type: str
        maintenance_mode_required:
          description: Whether a VIB of the step needs maintenance mode.
          type: bool
        reboot_required:
          description: Whether a VIB of the step needs a reboot.
          type: bool
    maintenance_mode_required:
      description: Whether a VIB to install or remove needs maintenance mode.
      type: bool
    reboot_required:
      description: Whether a VIB to install or remove needs a reboot.
      type: bool
    live_install_allowed:
      description: Whether everything can be done without a reboot.
      type: bool
    enter_maintenance_mode:
      description: Whether the deploy enters maintenance mode (from O(maintenance_mode), the VIBs and the reboot).
      type: bool
    reboot:
      description: Whether the deploy reboots the host (from O(reboot) and the VIBs).
      type: bool
    pending_reboot:
      description: VIBs to install that are already in the host's image for the next boot (installed earlier
        without the reboot); the deploy then only reboots.
      type: list
      elements: str
    acceptance:
      description: "C(host): the host's level, C(required): the lowest level of the VIBs, C(change_to): the level
        the acceptance step sets, or null."
      type: dict
    findings:
      description: Warnings and notes of the resolution (for example a VIB declared for an older platform).
      type: list
      elements: dict
    blockers:
      description: Why the pre-check fails (empty for a plan that can run).
      type: list
      elements: dict
hosts:
  description: One entry per host handled, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Host name.
      type: str
    moid:
      description: Managed object id.
      type: str
    changed:
      description: Whether the host was changed.
      type: bool
    plan:
      description: The host's plan, as RV(plan).
      type: dict
    scan:
      description: "The scan the plan was made from: C(engine), C(scanned_at), C(depot_digest), C(scan_record),
        C(missing) (bulletin ids)."
      type: dict
    steps:
      description: The steps run, with C(status) (V(applied), V(no_change), V(staged), V(failed), V(refused)),
        C(dry_run) and C(result) (VIBs installed, removed, skipped, C(reboot_required), message).
      type: list
      elements: dict
    maintenance_mode:
      description: "C(before): whether the host was in maintenance mode, C(required), C(entered): whether this
        task entered it, C(exited): whether it exited it again."
      type: dict
    rebooted:
      description: Whether the host was rebooted.
      type: bool
    reboot:
      description: Reboot details (boot times, builds, states seen, seconds).
      type: dict
      returned: when rebooted
    pending_reboot:
      description: True when changes wait for a reboot that was not done (O(reboot=never)).
      type: bool
    verified:
      description: "After the deploy: C(active) (planned VIBs running), C(not_active), C(still_installed),
        C(pending_reboot)."
      type: dict
    rescan:
      description: The scan after the deploy (C(missing), C(compliant), C(version), C(build)).
      type: dict
    compliant:
      description: Whether the host is compliant with the selection after the run.
      type: bool
    events:
      description: The user events recorded on the host (C(message), C(logged)).
      type: list
      elements: dict
    state:
      description: The host's state after a failure, as RV(host_state).
      type: dict
      returned: on failure
    converge:
      description: "What an earlier, unfinished run of this module left on the host (its marker): C(earlier_run),
        C(earlier_phase), C(earlier_outcome), C(adopted) (this run took over its maintenance mode and firewall
        changes) and C(notes)."
      type: dict
      returned: when an earlier run left a marker
      version_added: 0.2.0
    converged:
      description: "On a host with nothing to install: C(from_run) and C(done), what this run finished for that
        earlier run (for example V(exited maintenance mode))."
      type: dict
      returned: when a compliant host still had changes of an earlier run to undo
      version_added: 0.2.0
    lock_taken_over:
      description: The stale lock this run took over (C(run), C(holder), C(expires)).
      type: dict
      returned: when the host's lock had expired or its process was gone
      version_added: 0.2.0
run_id:
  description: The id of this run (O(run_id) or generated), as recorded in the host lock, marker and events.
  returned: always
  type: str
  version_added: 0.2.0
depot_digest:
  description: sha256 over the depot metadata used.
  returned: success
  type: str
diff:
  description: With C(--diff), the VIB ids before and after per host.
  returned: in diff mode
  type: raw
failed_host:
  description: The host the deploy failed on.
  returned: on failure
  type: str
host_state:
  description: The state of the failed host.
  returned: on failure
  type: dict
  contains:
    reachable:
      description: Whether the host answered after the failure.
      type: bool
    connection_state:
      description: Its connection state (or the last one known).
      type: str
    in_maintenance_mode:
      description: Whether it is in maintenance mode (null when unknown).
      type: bool
    entered_maintenance_mode:
      description: Whether this task put it in maintenance mode.
      type: bool
    maintenance_mode_exited:
      description: Whether O(exit_maintenance_on_failure) took it out again.
      type: bool
    pending_reboot_vibs:
      description: VIBs waiting for a reboot.
      type: list
      elements: str
"""

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import (
    connection_argument_spec, target_argument_spec)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.depot_argspec import depot_argument_spec
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.cancel import module_token
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.deploy import run_deploy
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.options import (
    deploy_options, scan_options, selection_options)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR


def argument_spec():
    spec = connection_argument_spec()
    spec.update(depot_argument_spec(with_connection=True))
    spec.update(target_argument_spec())
    spec.update(scan_options())
    spec.update(selection_options())
    spec.update(deploy_options())
    return spec


def main():
    module = FleetpatchModule(argument_spec(), libs={"pyvmomi": (HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR)}, connection=True,
                              secret_urls=("depot", "depot_url", "proxy"), supports_check_mode=True)
    module.run(lambda ctx: run_deploy(ctx.params, ctx.check_mode, ctx.diff_mode, partial=ctx.partial,
                                      cancel=module_token()))


if __name__ == "__main__":
    main()
