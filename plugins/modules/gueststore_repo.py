#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: gueststore_repo
short_description: Set the GuestStore repository of ESXi hosts and keep its content in sync
version_added: 0.1.0
description:
  - Sets or clears the GuestStore repository of one or many ESXi hosts, as
    C(esxcli system settings gueststore repository set --url ds:///vmfs/volumes/<datastore id>/<folder>) does,
    through one connection to a vCenter Server or a standalone ESXi host.
  - GuestStore lets every VM of a host read files (VMware Tools updates, agents, scripts, configuration) from the
    repository folder on a datastore. A guest reads the repository file C(<folder>/a/b.msi) as C(/a/b.msi).
  - With O(src), the files of a local folder are copied to the repository folder over the datastore's HTTPS file
    access, once per datastore (a datastore the hosts of a cluster share gets one copy), before the hosts get the
    URL. Files are compared by size and SHA-256, recorded in a manifest in the repository, so an unchanged file is
    not uploaded again.
  - Checks every host first (ESXi version, connection, datastore, current setting) and changes nothing when a host
    fails a check. A host gets the repository URL only after the content sync succeeded.
  - See the C(docs/gueststore.md) file of the collection for the rules and more examples.
author:
  - fleetpatch.esxi contributors (@fleetpatch)
requirements:
  - pyvmomi
  - requests
extends_documentation_fragment:
  - fleetpatch.esxi.connection
  - fleetpatch.esxi.targets
  - fleetpatch.esxi.attributes
  - fleetpatch.esxi.attributes.actiongroup_esxi
  - fleetpatch.esxi.attributes.idempotent
attributes:
  check_mode:
    support: full
    details:
      - Reads the hosts, the repository listing and its manifest; uploads, deletes and sets nothing.
  diff_mode:
    support: full
    details:
      - Shows each host's repository URL before and after, and the repository files before and after (path, size,
        SHA-256).
options:
  state:
    description:
      - V(present) sets the repository (O(url), or O(datastore) and O(path)).
      - V(absent) clears the repository setting. The repository content on the datastore is left alone. Hosts
        older than ESXi 7.0 Update 2 have no GuestStore and are reported unchanged.
    type: str
    choices: [present, absent]
    default: present
  url:
    description:
      - The repository URL, V(ds:///vmfs/volumes/<datastore id>/<folder>), set as given on every host.
      - Exclusive with O(datastore). Content sync (O(src)) needs O(datastore) instead.
    type: str
  datastore:
    description:
      - The datastore that holds the repository. The module builds the URL
        V(ds:///vmfs/volumes/<datastore id>/<path>) from the datastore's own URL (C(summary.url)) as each host
        sees it.
      - Every host must mount the datastore. A datastore shared by a cluster gives one repository to the cluster.
    type: str
    aliases: [datastore_name]
  path:
    description:
      - The repository folder on O(datastore), relative to the datastore root.
      - The datastore root itself is refused (every guest could read every file of the datastore).
      - Defaults to V(GuestStore) when O(datastore) is set.
    type: str
  src:
    description:
      - A local folder (on the machine that runs the module) whose files are copied into the repository folder,
        keeping the sub-folders.
      - Files larger than 512 MiB (536870912 bytes) are refused, by name, before anything is uploaded.
      - The name C(.fleetpatch-manifest.json) at the top of the repository is reserved for the manifest.
      - A symbolic link in O(src) whose target is outside O(src) is refused, by name, before anything is
        uploaded (it would publish a file of the controller to every guest). See O(follow_links) for links
        inside O(src).
    type: path
  follow_links:
    description:
      - With O(src), upload what the symbolic links inside O(src) point to (files, and folders, which are
        descended). Links whose target is outside O(src) are refused whatever this option says.
      - When V(false), any symbolic link in O(src) is refused, by name.
    type: bool
    default: false
    version_added: 0.2.0
  delete_extra:
    description:
      - With O(src), delete the files and folders of the repository folder that are not in O(src).
      - When V(false), such files are kept (and stay readable by the guests).
    type: bool
    default: false
notes:
  - "Requirements on the hosts: ESXi 7.0 Update 2 or later (Windows guests with VMware Tools 11.2.5 or later);
    Linux guests need ESXi 7.0 Update 3 and VMware Tools 11.3.0 or later. The module fails for hosts older than
    7.0 Update 2 and warns for hosts older than 7.0 Update 3. The update is the third field of the version the
    host reports in C(summary.config.product.version): V(7.0.2) is 7.0 Update 2."
  - The user needs the privilege C(Host.Config.GuestStore) on the hosts, and datastore file access
    (C(Datastore.FileManagement)) with O(src).
  - GuestStore has no vSphere API; the module runs the esxcli command through the host's esxcli interface of the
    vSphere API session.
seealso:
  - name: Distributing content with GuestStore (vSphere 8)
    description: VMware's description of GuestStore, its requirements and its ESXCLI commands.
    link: https://docs.vmware.com/en/VMware-vSphere/8.0/vsphere-vm-administration/GUID-5AC648EF-99DB-4A66-8FC5-30147B13FB1F.html
"""

EXAMPLES = r"""
- name: One repository for a cluster, on its shared datastore, with its content
  fleetpatch.esxi.gueststore_repo:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    cluster_name: Prod-Cluster-01
    datastore: shared-nfs-01
    path: GuestStore
    src: files/gueststore/
    delete_extra: true
  register: gs

- name: Where the guests find the files
  ansible.builtin.debug:
    msg: "{{ gs.repositories | map(attribute='files') | flatten | map(attribute='guest_path') | list }}"

- name: Set an explicit URL on two hosts
  fleetpatch.esxi.gueststore_repo:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    esxi_hostname:
      - esx01.example.com
      - esx02.example.com
    url: ds:///vmfs/volumes/5f1e0e4a-8d1c9a2e-3c41-0025b5000a01/GuestStore

- name: A standalone host, with the connection options from module_defaults
  module_defaults:
    group/fleetpatch.esxi.esxi:
      hostname: esx03.example.com
      username: root
      password: "{{ esxi_root_password }}"
  block:
    - name: Repository on the local datastore
      fleetpatch.esxi.gueststore_repo:
        datastore: datastore1
        src: files/gueststore/

- name: Preview the change of a whole datacenter
  fleetpatch.esxi.gueststore_repo:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    datacenter: DC-West
    datastore: shared-vsan
  check_mode: true
  diff: true

- name: Clear the repository setting of a cluster
  fleetpatch.esxi.gueststore_repo:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    cluster_name: Prod-Cluster-01
    state: absent
"""

RETURN = r"""
hosts:
  description:
    - One entry per selected host, sorted by name.
    - Also in the failed result, where the failed hosts have RV(hosts[].failed), RV(hosts[].msg) and
      RV(hosts[].error_kind).
  returned: always (may be empty when the connection failed)
  type: list
  elements: dict
  contains:
    name:
      description: The host name (in vCenter).
      type: str
      sample: esx01.example.com
    version:
      description: The ESXi version the host reports (C(summary.config.product.version)).
      type: str
      sample: 8.0.2
    build:
      description: The ESXi build number.
      type: str
      sample: "22380479"
    supported:
      description: Whether the host has GuestStore (ESXi 7.0 Update 2 or later).
      type: bool
    linux_guests:
      description: Whether Linux guests can use GuestStore on the host (ESXi 7.0 Update 3 or later).
      type: bool
    datastore:
      description: The datastore of the repository (with O(datastore)).
      type: str
      sample: shared-nfs-01
    url_before:
      description: The repository URL before the task; empty when none was set.
      type: str
      sample: ""
    url_after:
      description: The repository URL after the task (in check mode, the URL it would have).
      type: str
      sample: ds:///vmfs/volumes/5f1e0e4a-8d1c9a2e-3c41-0025b5000a01/GuestStore
    url_reported:
      description: What the host reported, when that was not a C(ds:) URL (counted as no repository).
      type: str
      returned: when different from RV(hosts[].url_before)
    changed:
      description: Whether the host's setting was changed (or would be, in check mode).
      type: bool
    warnings:
      description: Warnings about this host (older than ESXi 7.0 Update 3).
      type: list
      elements: str
      returned: when there are any
    failed:
      description: True when this host failed.
      type: bool
      returned: on failure of this host
    msg:
      description: Why the host failed, or a note (no GuestStore to clear, content sync failed).
      type: str
      returned: when there is something to say
    error_kind:
      description: The kind of the host's error (V(precheck), V(not_found), V(esxcli), V(host_not_connected), ...).
      type: str
      returned: on failure of this host
repositories:
  description:
    - One entry per datastore holding a repository (with O(datastore)); hosts sharing a datastore share the entry.
  returned: always (empty with O(url) or O(state=absent))
  type: list
  elements: dict
  contains:
    datastore:
      description: Datastore name.
      type: str
    datastore_url:
      description: The datastore's URL (C(summary.url)).
      type: str
      sample: ds:///vmfs/volumes/5f1e0e4a-8d1c9a2e-3c41-0025b5000a01/
    path:
      description: The repository folder on the datastore.
      type: str
      sample: GuestStore
    url:
      description: The repository URL set on the hosts.
      type: str
    hosts:
      description: The hosts that use this repository.
      type: list
      elements: str
    changed:
      description: Whether the content changed (or would, in check mode).
      type: bool
    exists:
      description: Without O(src), whether the repository folder exists.
      type: bool
      returned: without O(src)
    manifest:
      description: The manifest file, C([datastore] <path>/.fleetpatch-manifest.json).
      type: str
      returned: with O(src)
    uploaded:
      description: Repository-relative paths uploaded (in check mode, to upload).
      type: list
      elements: str
      returned: with O(src)
    deleted:
      description: Repository-relative paths deleted (in check mode, to delete); folders are deleted whole.
      type: list
      elements: str
      returned: with O(src)
    unchanged:
      description: Repository-relative paths already up to date.
      type: list
      elements: str
      returned: with O(src)
    kept:
      description: Files in the repository but not in O(src), left in place (O(delete_extra=false)).
      type: list
      elements: str
      returned: with O(src)
    files:
      description: Every file of O(src), with the path a guest uses to read it.
      type: list
      elements: dict
      returned: with O(src)
      contains:
        path:
          description: Path relative to the repository folder.
          type: str
          sample: tools/setup.exe
        guest_path:
          description: The GuestStore resource path a guest reads (the repository path, from the root).
          type: str
          sample: /tools/setup.exe
        datastore_path:
          description: The file on the datastore.
          type: str
          sample: "[shared-nfs-01] GuestStore/tools/setup.exe"
        size:
          description: Size in bytes.
          type: int
        sha256:
          description: SHA-256 of the content.
          type: str
        status:
          description: V(uploaded) (or to upload, in check mode) or V(unchanged).
          type: str
    failed:
      description: True when the content sync of this repository failed (no host got the URL then).
      type: bool
      returned: on failure
diff:
  description: URLs per host and repository files (path, size, SHA-256) before and after.
  returned: in diff mode
  type: dict
"""

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import (
    connection_argument_spec, target_argument_spec)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._gueststore.gueststore import manage
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.datastore import (
    HAS_REQUESTS, REQUESTS_IMPORT_ERROR)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR


def argument_spec():
    spec = connection_argument_spec()
    spec.update(target_argument_spec())
    spec.update(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        url=dict(type="str"),
        datastore=dict(type="str", aliases=["datastore_name"]),
        path=dict(type="str"),
        src=dict(type="path"),
        delete_extra=dict(type="bool", default=False),
        follow_links=dict(type="bool", default=False),
    )
    return spec


def _libs(params):
    libs = {"pyvmomi": (HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR)}
    if params["datastore"]:
        libs["requests"] = (HAS_REQUESTS, REQUESTS_IMPORT_ERROR)
    return libs


def main():
    module = FleetpatchModule(
        argument_spec(),
        mutually_exclusive=[("url", "datastore"), ("url", "path"), ("url", "src")],
        required_by={"path": "datastore", "src": "datastore"},
        supports_check_mode=True, libs=_libs, connection=True, secret_urls=("url",),
        partial={"hosts": [], "repositories": []})
    module.run(lambda ctx: manage(ctx.params, ctx.check_mode, partial=ctx.partial, diff=ctx.diff_mode,
                                  warn=ctx.warn))


if __name__ == "__main__":
    main()
