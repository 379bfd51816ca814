#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: esxi_vlcm_depot
short_description: vSphere Lifecycle Manager depots in vCenter, and their content
version_added: 0.2.0
description:
  - Manages the depots vSphere Lifecycle Manager (vLCM) takes base images, add-ons and components from, through
    vCenter's REST API, one depot per task; and lists their content.
  - Online depots (O(kind=online)) are added, enabled, disabled or removed by location.
  - Offline bundles (O(kind=offline)) are imported by URL (vCenter pulls them, C(source_type=PULL)). Point it at a
    bundle served by M(fleetpatch.esxi.depot_serve), so an air-gapped controller feeds vLCM from the HTTP server
    of the collection.
  - O(sync=true) synchronizes the online depots (changed only when the content changes).
  - Tokens inside depot URLs are never shown in results, messages or logs.
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
      - Reports what would be added, changed, imported, removed or synchronized; does none of it.
  diff_mode:
    support: none
options:
  location:
    description: The depot URL (an online depot index, or an offline bundle zip for O(kind=offline)).
    type: str
  kind:
    description: V(online) depot, or V(offline) bundle imported by URL.
    type: str
    choices: [online, offline]
    default: online
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    default: present
  enabled:
    description: Whether vLCM uses the online depot.
    type: bool
    default: true
  description:
    description: A description of the depot.
    type: str
  sync:
    description: Synchronize the online depots (after the change of this task, if any).
    type: bool
    default: false
  timeout:
    description: Seconds to wait for an import or a synchronization.
    type: int
    default: 1800
  request_timeout:
    description: Seconds to wait for each answer of vCenter.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Serve the new base image from the controller and import it into vLCM
  fleetpatch.esxi.esxi_vlcm_depot:
    kind: offline
    location: http://controller.example.com:8080/esxi-8.0u3/bundle.zip
    description: ESXi 8.0 U3

- name: What vLCM can use now
  fleetpatch.esxi.esxi_vlcm_depot: {}
  register: vlcm_depots
"""

RETURN = r"""
actions:
  description: What the task did (or would do in check mode), one sentence each.
  returned: always
  type: list
  elements: str
depots:
  description: The depots after the task, C({online [{id, location, enabled, description, system_defined}], offline
    [{id, location, description, source_type}]}).
  returned: success
  type: dict
content:
  description: What the depots hold, C({base_images [versions], components {name [versions]}, add_ons
    {name [versions]}}).
  returned: success
  type: dict
"""

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import connection_argument_spec
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import HAS_REQUESTS, REQUESTS_IMPORT_ERROR
from ansible_collections.fleetpatch.esxi.plugins.module_utils._vlcm.depots import run_depot


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        location=dict(type="str"),
        kind=dict(type="str", choices=["online", "offline"], default="online"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        enabled=dict(type="bool", default=True),
        description=dict(type="str"),
        sync=dict(type="bool", default=False),
        timeout=dict(type="int", default=1800),
        request_timeout=dict(type="int", default=60),
    )
    return spec


def main():
    module = FleetpatchModule(argument_spec(), supports_check_mode=True, connection=True,
                              libs={"requests": (HAS_REQUESTS, REQUESTS_IMPORT_ERROR)},
                              secret_urls=("location",), partial={"actions": []})
    module.run(lambda ctx: run_depot(ctx.params, ctx.check_mode))


if __name__ == "__main__":
    main()
