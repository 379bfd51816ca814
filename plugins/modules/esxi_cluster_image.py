#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: esxi_cluster_image
short_description: Set the desired image of a vLCM image-managed cluster
version_added: 0.2.0
description:
  - Sets the desired software image of a cluster managed with a single image (vSphere Lifecycle Manager) through
    vCenter's REST API. Does not remediate the hosts; see M(fleetpatch.esxi.esxi_cluster_remediate).
  - Compares the wanted image with the cluster's desired image; when something differs it creates a draft, sets
    what differs, validates the draft, and commits it with O(commit_message). The draft is deleted on any failure.
    When nothing differs nothing is created (a second run with the same image creates no commit).
  - Every base image, add-on and component version to set must be held by a depot configured in vCenter (see
    M(fleetpatch.esxi.esxi_vlcm_depot)); otherwise the module fails before anything is created, naming it.
  - The image can live in git (GitOps) with O(spec), a software specification document as vCenter's
    C(?action=export) writes it; the cluster then gets exactly that image (components it does not list are removed).
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
      - Computes the same plan and checks the depots; creates no draft and commits nothing.
  diff_mode:
    support: full
    details:
      - Shows the desired image before and after.
options:
  cluster:
    description: The name of the image-managed cluster.
    type: str
    required: true
    aliases: [cluster_name]
  base_image:
    description: The ESXi base image version (for example V(8.0.3-0.0.24022510)).
    type: str
  add_on:
    description:
      - The vendor add-on, C({name, version}). An empty dict V({}) removes the add-on (Ansible cannot tell a null
        option from an omitted one).
    type: dict
  components:
    description:
      - Components to set, name to version. A null version removes the component from the image.
      - Components not listed are left as they are.
    type: dict
  hardware_support:
    description:
      - Hardware support packages, hardware support manager to C({pkg, version}). An empty dict V({}) removes them.
    type: dict
  spec:
    description:
      - A whole software specification document (C(base_image), C(add_on), C(components), C(hardware_support)),
        for example read from git with C(lookup('file', ...) | from_json). Mutually exclusive with the options above.
    type: dict
  commit_message:
    description: The commit message.
    type: str
  request_timeout:
    description: Seconds to wait for each answer of vCenter.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Cluster Prod on ESXi 8.0 U3 with the newest USB NIC fling
  fleetpatch.esxi.esxi_cluster_image:
    cluster: Prod
    base_image: 8.0.3-0.0.24022510
    components:
      VMware-vmkusb-nic-fling: 1.14-7vmw.803.0.95.93415869
    commit_message: "CHG-1234: 8.0 U3"

- name: The image of cluster Prod as kept in git
  fleetpatch.esxi.esxi_cluster_image:
    cluster: Prod
    spec: "{{ lookup('ansible.builtin.file', 'images/prod.json') | from_json }}"
"""

RETURN = r"""
cluster_id:
  description: The cluster identifier in vCenter.
  returned: success
  type: str
plan:
  description:
    - What differs (empty when nothing does); keys C(base_image), C(add_on), C(components_to_set),
      C(components_to_delete), C(hardware_support).
  returned: success
  type: dict
commit:
  description: The id of the commit created, or null (nothing changed, or check mode).
  returned: success
  type: str
image:
  description: The desired image after the task (as M(fleetpatch.esxi.esxi_cluster_image_info) returns it).
  returned: success
  type: dict
missing:
  description: What no configured depot holds.
  returned: when that failed the task
  type: list
  elements: str
"""

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import connection_argument_spec
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import HAS_REQUESTS, REQUESTS_IMPORT_ERROR
from ansible_collections.fleetpatch.esxi.plugins.module_utils._vlcm.ops import run_image


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        cluster=dict(type="str", required=True, aliases=["cluster_name"]),
        base_image=dict(type="str"),
        add_on=dict(type="dict"),
        components=dict(type="dict"),
        hardware_support=dict(type="dict"),
        spec=dict(type="dict"),
        commit_message=dict(type="str"),
        request_timeout=dict(type="int", default=60),
    )
    return spec


def main():
    module = FleetpatchModule(
        argument_spec(), supports_check_mode=True, connection=True,
        libs={"requests": (HAS_REQUESTS, REQUESTS_IMPORT_ERROR)},
        mutually_exclusive=[("spec", "base_image"), ("spec", "add_on"), ("spec", "components"),
                            ("spec", "hardware_support")],
        required_one_of=[("spec", "base_image", "add_on", "components", "hardware_support")])
    module.run(lambda ctx: run_image(ctx.params, ctx.check_mode, ctx.diff_mode))


if __name__ == "__main__":
    main()
