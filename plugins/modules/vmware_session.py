#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vmware_session
short_description: Log out the vCenter Server or ESXi sessions kept by the session cache
version_added: 0.3.0
description:
  - With O(session_cache=true) the modules of this collection keep their vCenter Server or ESXi session on the
    controller for the next module run instead of logging out (see O(session_cache)). This module ends them at the
    end of a play, with O(state=absent) - the SOAP session (C(/sdk)) and the REST sessions (C(/rest) and C(/api)) of
    the endpoint, user and password given - and deletes their files from O(session_cache_dir).
  - Only the sessions cached with the same password are found. Nothing cached - nothing to do (no connection is
    made).
  - Runs on the controller, once per play (for example with C(run_once) and C(delegate_to) C(localhost)).
author:
  - fleetpatch.esxi contributors (@fleetpatch)
requirements:
  - pyvmomi
  - requests
extends_documentation_fragment:
  - fleetpatch.esxi.connection
  - fleetpatch.esxi.attributes
  - fleetpatch.esxi.attributes.actiongroup_esxi
  - fleetpatch.esxi.attributes.idempotent
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  state:
    description:
      - V(absent) logs the cached sessions out and deletes their files.
      - O(session_cache) does not need to be V(true) for this module; O(session_cache_dir) says where to look.
    type: str
    choices: [absent]
    default: absent
seealso:
  - module: fleetpatch.esxi.esxi_patch_deploy
"""

EXAMPLES = r"""
- name: Remediate host by host, logging in to vCenter once
  hosts: esxi_hosts
  serial: 1
  gather_facts: false
  module_defaults:
    group/fleetpatch.esxi.vmware:
      hostname: vcenter.example.com
      username: administrator@vsphere.local
      password: "{{ vcenter_password }}"
      session_cache: true
  roles:
    - fleetpatch.esxi.patch_remediate

- name: Log out of vCenter at the end
  hosts: localhost
  gather_facts: false
  tasks:
    - name: End the cached vCenter sessions
      fleetpatch.esxi.vmware_session:
        hostname: vcenter.example.com
        username: administrator@vsphere.local
        password: "{{ vcenter_password }}"
        state: absent
"""

RETURN = r"""
sessions:
  description:
    - One entry per kind of session - C(api) is V(soap), V(rest) or V(api); C(path) the API path (V(/sdk),
      V(/rest), V(/api)); C(cached) whether the cache held one; C(logged_out) whether it was logged out (false in
      check mode). Never a session identifier.
  returned: always
  type: list
  elements: dict
  sample:
    - {api: soap, path: /sdk, cached: true, logged_out: true}
    - {api: rest, path: /rest, cached: false, logged_out: false}
    - {api: api, path: /api, cached: false, logged_out: false}
cache_dir:
  description: The session cache directory that was looked at.
  returned: always
  type: str
  sample: /run/user/1000/fleetpatch.esxi-sessions
"""

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import connection_argument_spec
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.sessions import end_sessions


def argument_spec():
    spec = connection_argument_spec()
    spec.update(state=dict(type="str", choices=["absent"], default="absent"))
    return spec


def main():
    module = FleetpatchModule(argument_spec(), supports_check_mode=True, connection=True)
    module.run(lambda ctx: end_sessions(ctx.params, check_mode=ctx.check_mode))


if __name__ == "__main__":
    main()
