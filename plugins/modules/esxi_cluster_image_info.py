#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: esxi_cluster_image_info
short_description: Desired image and compliance of a vLCM image-managed cluster
version_added: 0.2.0
description:
  - Reads the desired software image of a cluster managed with a single image (vSphere Lifecycle Manager, vLCM)
    and its compliance, through vCenter's REST API (C(/api/esx/settings/clusters/{cluster}/software) and
    C(.../software/compliance)).
  - Hosts are named by their vCenter names. Statuses are in lower case.
  - With O(depot), every non-compliant component (and base image) of every host is explained with the bulletins
    of the depot engine of the collection behind the target version (severity, category, release date, KB).
  - A cluster managed with baselines fails with a message naming M(fleetpatch.esxi.esxi_patch_scan).
  - See the C(docs/vlcm.md) file of the collection.
author:
  - fleetpatch.esxi contributors (@fleetpatch)
requirements:
  - requests
extends_documentation_fragment:
  - fleetpatch.esxi.connection
  - fleetpatch.esxi.attributes
  - fleetpatch.esxi.attributes.info_module
  - fleetpatch.esxi.attributes.actiongroup_esxi
options:
  cluster:
    description: The name of the image-managed cluster.
    type: str
    required: true
    aliases: [cluster_name]
  depot:
    description:
      - Depot sources (paths or URLs, as for M(fleetpatch.esxi.esxi_depot_info)) whose bulletins explain the
        non-compliant components. Tokens inside URLs are never shown.
    type: list
    elements: str
  depot_validate_certs:
    description: Whether to verify the TLS certificate of an HTTPS depot.
    type: bool
    default: true
  proxy:
    description: URL of an HTTP(S) proxy for depot downloads.
    type: str
  cache_dir:
    description: Folder for the depot download and parse cache on the controller.
    type: path
  export_spec:
    description:
      - Also return RV(spec), the desired image as a software specification document exported by vCenter
        (C(?action=export)). Keep it in git and give it to M(fleetpatch.esxi.esxi_cluster_image) as its
        O(fleetpatch.esxi.esxi_cluster_image#module:spec).
    type: bool
    default: false
  request_timeout:
    description: Seconds to wait for each answer of vCenter.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: What does cluster Prod run, and what is missing?
  fleetpatch.esxi.esxi_cluster_image_info:
    hostname: vcenter.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    cluster: Prod
    depot: https://depot.example.com/vmw/index.xml
  register: prod
"""

RETURN = r"""
cluster_id:
  description: The cluster identifier in vCenter.
  returned: success
  type: str
image:
  description:
    - The desired image. C(base_image) has C(version), C(display_name), C(display_version) and C(release_date);
      C(add_on) is C({name, version}) or null; C(components) and C(solutions) map a name to its version;
      C(hardware_support) maps a hardware support manager to its package (or is null).
  returned: success
  type: dict
spec:
  description: The software specification document vCenter exports (C(base_image), C(add_on), C(components), ...).
  returned: with O(export_spec)
  type: dict
compliance:
  description:
    - C(status) (V(compliant), V(non_compliant), V(incompatible), V(unavailable)), C(impact) (for example
      V(reboot_required)), C(commit), and C(hosts), a list of C({name, moid, status, impact, base_image {current,
      target}, components [{name, current, target, status}]}), sorted by name. With O(depot), non-compliant
      components and base images have C(bulletins) [{id, summary, severity, category, release_date, kb}].
  returned: success
  type: dict
"""

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import connection_argument_spec
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import HAS_REQUESTS, REQUESTS_IMPORT_ERROR
from ansible_collections.fleetpatch.esxi.plugins.module_utils._vlcm.ops import run_info


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        cluster=dict(type="str", required=True, aliases=["cluster_name"]),
        depot=dict(type="list", elements="str"),
        depot_validate_certs=dict(type="bool", default=True),
        proxy=dict(type="str"),
        cache_dir=dict(type="path"),
        export_spec=dict(type="bool", default=False),
        request_timeout=dict(type="int", default=60),
    )
    return spec


def main():
    module = FleetpatchModule(argument_spec(), supports_check_mode=True, connection=True,
                              libs={"requests": (HAS_REQUESTS, REQUESTS_IMPORT_ERROR)},
                              secret_urls=("depot", "proxy"))
    module.run(lambda ctx: run_info(ctx.params))


if __name__ == "__main__":
    main()
