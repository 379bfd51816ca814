#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: esxi_host_tag
short_description: Put a vCenter tag on ESXi hosts, one tag per host and category
version_added: 0.1.0
description:
  - Attaches a vCenter tag to ESXi hosts, or detaches it, through one connection to a vCenter Server. Made for
    compliance tags (V(compliant), V(non-compliant)) that make hosts below a compliance line stand out in the
    vSphere Client, the way quarantined machines do.
  - Only the tags of one category (O(category)) are considered. With O(exclusive=true) (the default) a host keeps
    exactly one tag of the category, so a host that was V(compliant) and is now V(non-compliant) loses the old tag.
    Tags of other categories are never touched.
  - Creates the category (one tag per object, for hosts only) and the tag when they are missing (O(create)).
  - The hosts are found by name, cluster or datacenter (as for the other modules of the collection). A host that
    fails does not stop the others; the error names every failed host.
  - Tags are a vCenter Server feature (the vSphere Automation API). Connected to an ESXi host directly, the module
    fails and says so, with RV(vcenter_required=true) in the result.
  - See the C(docs/tagging.md) file of the collection.
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
      - Reads the category, its tags and the hosts' tags; creates, attaches and detaches nothing.
  diff_mode:
    support: full
    details:
      - Shows the tags of O(category) on each host before and after.
options:
  category:
    description:
      - The tag category.
      - A category this module creates allows one tag per object (cardinality C(SINGLE)) and holds hosts only.
      - An existing category must be associable with hosts (C(HostSystem), or every type).
    type: str
    default: fleetpatch-compliance
  tag:
    description:
      - The tag of O(category) to put on the hosts (O(state=present)) or to take off (O(state=absent)).
      - Required with O(state=present). With O(state=absent) and no tag, every tag of O(category) is taken off.
    type: str
  state:
    description:
      - V(present) attaches O(tag) to the hosts (and, with O(exclusive), detaches their other tags of O(category)).
      - V(absent) detaches O(tag), or every tag of O(category), from the hosts. The category and the tags stay in
        vCenter.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), detach the hosts' other tags of O(category) first, so each host has one tag of the
        category.
      - With V(false), other tags of the category stay. A category that allows one tag per object (C(SINGLE)) then
        fails for a host that has another of its tags.
    type: bool
    default: true
  create:
    description:
      - Create O(category) and O(tag) when they do not exist.
      - With V(false), a missing category or tag fails the task (O(state=present)).
    type: bool
    default: true
notes:
  - vCenter Server only. The user needs the vSphere Tagging privileges C(Create vSphere Tag Category) and
    C(Create vSphere Tag) (when O(create) creates them) and C(Assign or Unassign vSphere Tag) on the hosts.
  - The module logs in twice with the same options, to the vSphere API (to find the hosts) and to the vSphere
    Automation API (the C(/rest) endpoints of vCenter 6.5 and later; vCenter 7 and 8 serve them too).
seealso:
  - name: vSphere Automation API, tag association
    description: The vCenter API the module uses to read the tags attached to a host.
    link: https://developer.vmware.com/apis/vsphere-automation/latest/cis/api/cis/tagging/tag-associationactionlist-attached-tags/post/
"""

EXAMPLES = r"""
- name: Mark two hosts non-compliant (replaces their other compliance tag)
  fleetpatch.esxi.esxi_host_tag:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    esxi_hostname:
      - esx01.example.com
      - esx02.example.com
    tag: non-compliant

- name: Every host of a cluster is compliant
  fleetpatch.esxi.esxi_host_tag:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    cluster_name: Prod-Cluster-01
    category: fleetpatch-compliance
    tag: compliant

- name: Tag each inventory host with its scan status (connection from module_defaults)
  fleetpatch.esxi.esxi_host_tag:
    esxi_hostname: ["{{ inventory_hostname }}"]
    tag: "{{ 'compliant' if scan.hosts[0].compliant else 'non-compliant' }}"
  delegate_to: localhost

- name: Preview the change
  fleetpatch.esxi.esxi_host_tag:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    datacenter: DC-West
    tag: compliant
  check_mode: true
  diff: true

- name: Take the compliance tags off a host
  fleetpatch.esxi.esxi_host_tag:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    esxi_hostname: [esx01.example.com]
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
      description: The host name in vCenter.
      type: str
      sample: esx01.example.com
    moid:
      description: The host's managed object id, the object the tags are attached to.
      type: str
      sample: host-21
    tags_before:
      description: The host's tags of O(category) before the task.
      type: list
      elements: str
      sample: [compliant]
    tags_after:
      description: The host's tags of O(category) after the task (in check mode, what they would be).
      type: list
      elements: str
      sample: [non-compliant]
    attached:
      description: The tags attached (in check mode, to attach).
      type: list
      elements: str
    detached:
      description: The tags detached (in check mode, to detach).
      type: list
      elements: str
    changed:
      description: Whether the host's tags changed (or would, in check mode).
      type: bool
    failed:
      description: True when this host failed.
      type: bool
      returned: on failure of this host
    msg:
      description: Why the host failed.
      type: str
      returned: on failure of this host
    error_kind:
      description: The kind of the host's error (V(input), V(vsphere), V(not_found), ...).
      type: str
      returned: on failure of this host
category:
  description:
    - The tag category; null with O(state=absent) when it does not exist.
  returned: when connected to vCenter
  type: dict
  contains:
    id:
      description: The category id (null in check mode when it would be created).
      type: str
      sample: urn:vmomi:InventoryServiceCategory:6b5e2a8f-1c0e-4c8e-9a36-3f0b3c9c2d11:GLOBAL
    name:
      description: The category name.
      type: str
      sample: fleetpatch-compliance
    cardinality:
      description: V(SINGLE) (one tag per object) or V(MULTIPLE).
      type: str
    associable_types:
      description: The object types the category can tag (empty for every type).
      type: list
      elements: str
    description:
      description: The category description.
      type: str
    created:
      description: Whether the task created the category (or would, in check mode).
      type: bool
tag:
  description:
    - The tag; null when no tag was given, or with O(state=absent) when it does not exist.
  returned: when connected to vCenter
  type: dict
  contains:
    id:
      description: The tag id (null in check mode when it would be created).
      type: str
      sample: urn:vmomi:InventoryServiceTag:0d6f1e3a-7b61-4d47-8a0c-5e2f4d9b7a10:GLOBAL
    name:
      description: The tag name.
      type: str
      sample: non-compliant
    category_id:
      description: The id of its category.
      type: str
    description:
      description: The tag description.
      type: str
    created:
      description: Whether the task created the tag (or would, in check mode).
      type: bool
vcenter_required:
  description: True when the task failed because it was connected to an ESXi host directly.
  returned: on that failure
  type: bool
managed_by:
  description: The vCenter Server address the directly connected ESXi host reports, if any.
  returned: with RV(vcenter_required)
  type: str
diff:
  description: The tags of O(category) per host, before and after.
  returned: in diff mode
  type: dict
"""

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import (
    connection_argument_spec, target_argument_spec)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule
from ansible_collections.fleetpatch.esxi.plugins.module_utils._tagging.tagging import DEFAULT_CATEGORY, manage
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vapi import HAS_REQUESTS, REQUESTS_IMPORT_ERROR


def argument_spec():
    spec = connection_argument_spec()
    spec.update(target_argument_spec())
    spec.update(
        category=dict(type="str", default=DEFAULT_CATEGORY),
        tag=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        exclusive=dict(type="bool", default=True),
        create=dict(type="bool", default=True),
    )
    return spec


def main():
    module = FleetpatchModule(
        argument_spec(), required_if=[("state", "present", ("tag",))], supports_check_mode=True,
        libs={"pyvmomi": (HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR), "requests": (HAS_REQUESTS, REQUESTS_IMPORT_ERROR)},
        connection=True, partial={"hosts": []})
    module.run(lambda ctx: manage(ctx.params, ctx.check_mode, partial=ctx.partial, diff=ctx.diff_mode))


if __name__ == "__main__":
    main()
