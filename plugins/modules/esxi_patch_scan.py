#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: esxi_patch_scan
short_description: Find the bulletins of a depot that ESXi hosts miss
version_added: 0.1.0
description:
  - Compares one or more VMware ESXi hosts with a software depot and reports, per host, which bulletins are
    V(installed), V(missing), V(superseded) and V(not_applicable), each with the reason.
  - Targets one host, a list of hosts, or every host of a cluster or datacenter, through vCenter or on an ESXi
    host directly. One connection serves all of them.
  - Read-only; nothing on the hosts is changed (for a host engine scan, O(manage_firewall) opens the host's
    C(httpClient) firewall ruleset for the host's download and restores it afterwards).
  - The result of each host is also written to a scan record in O(scan_record_dir), which
    M(fleetpatch.esxi.esxi_patch_deploy) reads.
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
  - fleetpatch.esxi.attributes.info_module
  - fleetpatch.esxi.attributes.actiongroup_esxi
options:
  engine:
    description:
      - V(controller) reads each host's installed VIBs (C(ImageConfigManager.FetchSoftwarePackages)) and compares
        them with the depot on the controller. The host downloads nothing.
      - V(host) works as patch consoles do it (Shavlik Protect, Ivanti). The C(metadata.zip) that the depot's
        C(vendor-index.xml) lists for the host's product line and version is handed to the host
        (C(HostPatchManager.ScanHostPatchV2_Task)), which downloads it and reports each bulletin. The URL must be
        reachable from the host (see O(depot_url) and O(manage_firewall)).
      - V(auto) uses the controller engine and falls back to the host engine for a host whose inventory cannot
        be read.
      - Both engines report the same groups. The controller engine also checks dependencies, conflicts and
        supersedence as the host does (a bulletin that needs another bulletin of the depot is V(missing) with
        RV(hosts[].missing[].needs)).
    type: str
    choices: [auto, controller, host]
    default: auto
  depot_url:
    description:
      - Where the hosts reach the depot, when it is a local path on the controller (an air-gapped setup where a web
        server on the controller or elsewhere serves it), or when hosts reach an online depot at another address.
      - One URL per entry of O(depot), in the same order; an empty entry uses the O(depot) entry itself. With a
        single local source, one URL is enough.
      - Name the C(index.xml) of the served depot (for example V(http://depot.example.com/esxi/index.xml)) or its
        folder; an offline bundle zip may also be served as the zip itself (then only M(fleetpatch.esxi.esxi_patch_deploy)
        with O(fleetpatch.esxi.esxi_patch_deploy#module:method=esxcli) can install from it).
      - IPv6 literals are written in brackets, for example V(http://[fd00::10]:8080/depot/index.xml).
    type: list
    elements: str
  manage_firewall:
    description:
      - Open the host's C(httpClient) firewall ruleset for the time the host downloads from the depot (host engine
        scans) and restore its previous state afterwards, also when the scan fails.
      - ESXi ships with the ruleset closed, so a host engine scan needs it open. Set V(false) where the ruleset is
        managed elsewhere; a host whose ruleset is closed is then reported in a warning and its download may fail.
      - The controller engine does not need it (the host downloads nothing).
    type: bool
    default: true
  scan_record_dir:
    description:
      - Folder on the machine running the module (usually the controller) where each host's scan result is written
        as C(<host>.json) (created with mode 0700; files 0600). M(fleetpatch.esxi.esxi_patch_deploy) reads the records
        from the same folder.
      - Through vCenter the file is named after the host; on an ESXi host directly after C(<host name>@<address>:<port>).
      - By default no record is written.
      - With a record folder the scan is incremental. Each host's installed-software inventory is kept in
        C(<folder>/.inventory/). A later scan of a host whose image profile, boot time and image install date are
        unchanged uses the kept inventory instead of reading it from the host again.
    type: path
  scan_workers:
    description:
      - How many hosts are read at the same time over the one vCenter session (facts of every host come in one
        call; the software inventories of the hosts are read by this many threads).
      - The default, 64, is a tenth of the 640 concurrent SOAP requests a vCenter serves. Lower it for a busy
        vCenter or when several scans run at once (job slices); raise it (up to 256) when round trips to vCenter are
        slow and the controller has CPU to spare.
    type: int
    default: 64
  bulletins:
    description:
      - Bulletin ids that RV(hosts[].compliant) is computed against (all criteria combine).
      - By default every bulletin of the depot counts.
    type: list
    elements: str
  severity:
    description:
      - Only bulletins of these severities count for RV(hosts[].compliant) (V(critical), V(important), V(general),
        V(security), ... as written in the depot; case-insensitive).
    type: list
    elements: str
  category:
    description:
      - Only bulletins of these categories count for RV(hosts[].compliant) (V(security), V(bugfix), V(enhancement),
        ...; case-insensitive).
    type: list
    elements: str
  released_after:
    description:
      - Only bulletins released on or after this date (ISO 8601, V(YYYY-MM-DD)) count for RV(hosts[].compliant).
    type: str
  released_before:
    description:
      - Only bulletins released on or before this date (ISO 8601) count for RV(hosts[].compliant).
    type: str
  exclude:
    description:
      - Bulletin ids that never count for RV(hosts[].compliant).
    type: list
    elements: str
    default: []
  profile:
    description:
      - An image profile of the depot. A host is compliant only when every VIB of the profile (or a newer one) is
        installed; see RV(hosts[].profile_compliance).
    type: str
notes:
  - "The digest of the depot metadata used (RV(depot_digest)) is recorded with each host's scan. A deploy compares
    it to make sure it installs from the metadata the scan saw."
  - The depot is read once per task on the controller, whichever engine is used (the host engine maps the host's
    per-bulletin answer to the depot's bulletins).
  - The O(depot_validate_certs) option checks the depot's TLS certificate; O(validate_certs) the one of vCenter or ESXi.
seealso:
  - module: fleetpatch.esxi.esxi_patch_deploy
  - module: fleetpatch.esxi.esxi_depot_info
"""

EXAMPLES = r"""
- name: Scan every host of a cluster against an online depot (controller engine)
  fleetpatch.esxi.esxi_patch_scan:
    hostname: vcenter.example.com
    username: "{{ vcenter_user }}"
    password: "{{ vcenter_password }}"
    cluster_name: Production
    depot:
      - https://depot.example.com/esxi/index.xml
    scan_record_dir: /var/lib/fleetpatch/scans
  delegate_to: localhost
  register: scan

- name: Hosts that miss something
  ansible.builtin.debug:
    msg: "{{ scan.hosts | rejectattr('compliant') | map(attribute='name') | list }}"

- name: Let one host scan itself (as patch consoles do), opening its firewall for the download
  fleetpatch.esxi.esxi_patch_scan:
    hostname: vcenter.example.com
    username: "{{ vcenter_user }}"
    password: "{{ vcenter_password }}"
    esxi_hostname: [esx01.example.com, esx02.example.com]
    depot: [https://depot.example.com/esxi/index.xml]
    engine: host
    manage_firewall: true
  delegate_to: localhost

- name: Air-gapped - the depot is a folder on the controller, served to the hosts by a web server over IPv6
  fleetpatch.esxi.esxi_patch_scan:
    hostname: esx01.example.com
    username: root
    password: "{{ esx_root_password }}"
    depot: [/srv/depots/drivers]
    depot_url: ["http://[fd00::10]:8080/drivers/index.xml"]
    engine: host
    manage_firewall: true
  delegate_to: localhost

- name: Compliance against the critical security bulletins of 2024
  fleetpatch.esxi.esxi_patch_scan:
    hostname: vcenter.example.com
    username: "{{ vcenter_user }}"
    password: "{{ vcenter_password }}"
    datacenter: DC1
    depot: [/srv/depots/VMware-ESXi-8.0U3e-24674464-depot.zip]
    severity: [critical]
    category: [security]
    released_after: "2024-01-01"
    exclude: [ESXi_8.0.3-0.35.24280767]
  delegate_to: localhost

- name: Is the host on the image profile?
  fleetpatch.esxi.esxi_patch_scan:
    hostname: esx01.example.com
    username: root
    password: "{{ esx_root_password }}"
    depot: [/srv/depots/VMware-ESXi-8.0U3e-24674464-depot.zip]
    profile: ESXi-8.0U3e-24674464-standard
  delegate_to: localhost
"""

RETURN = r"""
hosts:
  description: One entry per host, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The host's name (in vCenter, or the ESXi host's own name).
      type: str
      sample: esx01.example.com
    moid:
      description: Managed object id of the host.
      type: str
      sample: host-42
    cluster:
      description: Cluster of the host, or null.
      type: str
    datacenter:
      description: Datacenter of the host, or null.
      type: str
    endpoint:
      description: The vCenter or ESXi endpoint the scan went through.
      type: str
      sample: vcenter.example.com:443
    version:
      description: ESXi version.
      type: str
      sample: 8.0.2
    build:
      description: ESXi build number.
      type: str
      sample: "22380479"
    product_line:
      description: Product line id.
      type: str
      sample: embeddedEsx
    image_profile:
      description: Name of the host's image profile.
      type: str
      sample: ESXi-8.0U2-22380479-standard
    acceptance_level:
      description: The host's acceptance level.
      type: str
      choices: [certified, accepted, partner, community]
    in_maintenance_mode:
      description: Whether the host is in maintenance mode.
      type: bool
    connection_state:
      description: Connection state of the host.
      type: str
      sample: connected
    engine:
      description: The engine that scanned this host (V(controller) or V(host)).
      type: str
    engine_fallback:
      description: Why V(auto) fell back to the host engine, or null.
      type: str
    metadata_urls:
      description: The metadata URLs handed to the host (host engine; secrets redacted).
      type: list
      elements: str
    scanned_at:
      description: When the host was scanned (UTC, ISO 8601).
      type: str
      sample: "2026-05-02T10:11:12+00:00"
    depot_digest:
      description: sha256 over the depot metadata used.
      type: str
    inventory_digest:
      description: sha256 over the host's installed VIB ids (null when the inventory could not be read).
      type: str
    vib_count:
      description: Number of VIBs installed on the host.
      type: int
    installed:
      description: Bulletins whose VIBs are all installed.
      type: list
      elements: dict
      contains:
        id:
          description: Bulletin id.
          type: str
        summary:
          description: Bulletin summary.
          type: str
        severity:
          description: Severity as written.
          type: str
        category:
          description: Category as written.
          type: str
        release_type:
          description: Release type as written.
          type: str
        release_date:
          description: Release date (ISO 8601).
          type: str
        vendor:
          description: Vendor.
          type: str
        component:
          description: Component identity (ESXi 7.0+), or null.
          type: dict
        vib_ids:
          description: VIB ids of the bulletin.
          type: list
          elements: str
        reason:
          description: Why the bulletin is in this group.
          type: str
          sample: all 1 VIB(s) installed
    missing:
      description:
        - Applicable bulletins that are not installed, like RV(hosts[].installed) plus the keys below.
      type: list
      elements: dict
      contains:
        is_update:
          description:
            - Whether the host has an older version of one of its VIBs (null from the host engine).
            - Named C(update) before version 0.2.0; renamed because C(item.update) is a method of every dict in
              Jinja2.
          type: bool
        needs:
          description: Other bulletins of the depot it needs (for example an ESXi update providing a newer vmkapi);
            a deploy adds them. Null from the host engine.
          type: list
          elements: str
        acceptance_blocked:
          description: Its VIBs below the host's acceptance level (controller engine).
          type: list
          elements: str
    superseded:
      description:
        - Bulletins superseded by newer VIBs on the host or by another bulletin of the depot, like
          RV(hosts[].installed) plus C(superseded_by).
      type: list
      elements: dict
    not_applicable:
      description:
        - Bulletins that cannot go on the host (platform, unsatisfiable dependency, conflict), like
          RV(hosts[].installed).
      type: list
      elements: dict
    counts:
      description: Number of bulletins per group.
      type: dict
      sample: {"installed": 0, "missing": 1, "superseded": 5, "not_applicable": 16}
    selected:
      description: The bulletins of the selection that apply to the host.
      type: list
      elements: str
    compliant:
      description: True when no selected bulletin is missing (and the profile, if any, is fully installed).
      type: bool
    profile_compliance:
      description: With O(profile), whether every VIB of the profile (or a newer one) is installed.
      returned: when O(profile) is set
      type: dict
      contains:
        profile:
          description: Profile name.
          type: str
        compliant:
          description: Whether the host has the profile's VIBs.
          type: bool
        missing_vibs:
          description: VIBs of the profile that a deploy would install.
          type: list
          elements: str
    scan_record:
      description: Path of the scan record written, or null.
      type: str
    failed:
      description: True for a host that could not be scanned (the task then fails after scanning the others).
      type: bool
      returned: on failure of that host
    msg:
      description: Why the host could not be scanned.
      type: str
      returned: on failure of that host
compliant:
  description: True when every host is compliant.
  returned: success
  type: bool
depot_digest:
  description: sha256 over the depot metadata read.
  returned: success
  type: str
"""

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import (
    connection_argument_spec, target_argument_spec)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.depot_argspec import depot_argument_spec
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.options import scan_options, selection_options
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.scan import run_scan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR


def argument_spec():
    spec = connection_argument_spec()
    spec.update(depot_argument_spec(with_connection=True))
    spec.update(target_argument_spec())
    spec.update(scan_options())
    spec.update(selection_options())
    return spec


def main():
    module = FleetpatchModule(argument_spec(), libs={"pyvmomi": (HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR)}, connection=True,
                              secret_urls=("depot", "depot_url", "proxy"), supports_check_mode=True)
    module.run(lambda ctx: run_scan(ctx.params, partial=ctx.partial))


if __name__ == "__main__":
    main()
