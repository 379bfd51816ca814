#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: depot_serve
short_description: Serve a depot folder over HTTP from the machine the task runs on
version_added: 0.1.0
description:
  - Starts or stops a small HTTP server for a folder, usually a depot built by M(fleetpatch.esxi.depot_build).
    ESXi hosts without internet access can then use it as their online depot.
  - "O(state=started) runs the server as a detached background process, so it outlives the task. The server
    uses only the Python standard library: C(http.server) with one thread per request, on IPv4 or IPv6. The task
    returns the URL and waits until the server answers."
  - O(state=stopped) ends the server and removes its state, script and log files.
  - A server is identified by O(name) and its folder, and used by runs (each run holds a lease on it).
    O(state=stopped) releases this run's lease and stops the server only when no other run that still runs
    uses it, so one playbook never stops the server of another, and two playbooks serving different folders
    under the same name get two servers. A run is the C(ansible-playbook) (or C(ansible-runner)) process the
    task runs under, or O(run_id). A server whose runs have all ended without stopping it (a cancelled job) is
    stopped by the next task of this module on the same controller (unless a named O(run_id) holds it).
  - C(<state_dir>/<name>.json) holds a copy of the state of the server last started under O(name) (its C(url),
    C(index_url), C(port)), for other playbooks that know only the name.
  - Idempotent. A server that already runs with the same folder, address, port and lifetime is left alone. A
    server with other settings is restarted. Stopping a server that does not run changes nothing.
  - The server serves files only. It lists no folders and does not follow symlinks out of the folder. It stops
    on its own after O(lifetime) seconds, a safety net for plays that end before they can stop it.
  - Runs where the task runs. Use C(delegate_to=localhost) to serve from the controller.
author:
  - fleetpatch.esxi contributors (@fleetpatch)
extends_documentation_fragment:
  - fleetpatch.esxi.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  state:
    description:
      - Whether the server should run.
    type: str
    choices: [started, stopped]
    default: started
  path:
    description:
      - The folder to serve. Required with O(state=started).
    type: path
  bind:
    description:
      - The address to listen on. Use V(127.0.0.1) for the local machine only, V(0.0.0.0) for every IPv4
        address, V(::) for every IPv6 and IPv4 address (dual stack), or a specific address.
    type: str
    default: 127.0.0.1
  listen_port:
    description:
      - The TCP port. V(0) picks a free port, which the task returns. A server already running on any port is
        then kept.
      - Named C(listen_port) rather than C(port), the name of the vCenter/ESXi port in the connecting modules.
        This module does not connect to vCenter or ESXi and accepts none of their connection options.
    type: int
    default: 8080
  url_host:
    description:
      - The host name or address that the returned URL uses, which is what the ESXi hosts must reach.
      - By default, the O(bind) address, or the fully qualified name of this machine when O(bind) is a wildcard
        address.
    type: str
  name:
    description:
      - The name of this server, so that several can run side by side.
      - With O(state=stopped) and no O(path), every server of this name that this run uses.
    type: str
    default: depot
  run_id:
    description:
      - The name of this run in the server's leases, for example the AWX job ID.
      - By default the controller's host name and the process ID and start time of the C(ansible-playbook)
        process the task runs under; the lease then ends with that process (Linux controllers; elsewhere a run
        counts as running until it stops the server or O(lifetime) ends), and a cancelled run's server is
        stopped by the next task of this module.
      - A given O(run_id) is a named lease for a server that must outlive the playbook (an AWX workflow, a
        prepare step); it lasts until a task with the same O(run_id) stops the server or O(lifetime) ends.
    type: str
    version_added: 0.2.0
  state_dir:
    description:
      - The folder (created with mode 0700) for the state file (C(<name>-<folder hash>.json), mode 0600), the
        lock file of each server, the server script and its logs.
      - By default, C(fleetpatch-depot-serve-<uid>) in C($XDG_RUNTIME_DIR), or in the temporary folder.
    type: path
  lifetime:
    description:
      - The number of seconds after which the server stops on its own. V(0) means never.
    type: int
    default: 14400
  access_log:
    description:
      - Whether to log each request to C(<state_dir>/<name>-access.log).
    type: bool
    default: true
  timeout:
    description:
      - The number of seconds to wait for the server to answer after it starts.
    type: int
    default: 15
seealso:
  - module: fleetpatch.esxi.depot_build
"""

EXAMPLES = r"""
- name: Serve the depot to the hosts
  fleetpatch.esxi.depot_serve:
    path: /srv/depot
    bind: 0.0.0.0
    listen_port: 8080
    url_host: controller.example.com
  register: served
  delegate_to: localhost

- name: Scan against it
  fleetpatch.esxi.esxi_patch_scan:
    cluster_name: Prod
    depot_url: "{{ served.index_url }}"
  delegate_to: localhost

- name: Stop serving
  fleetpatch.esxi.depot_serve:
    state: stopped
  delegate_to: localhost
"""

RETURN = r"""
state:
  description: The state of the server after the task.
  returned: always
  type: str
  sample: started
name:
  description: The server's name.
  returned: always
  type: str
  sample: depot
url:
  description: The base URL of the folder, ending with a slash.
  returned: when a server runs or was stopped
  type: str
  sample: http://controller.example.com:8080/
index_url:
  description: The URL of C(index.xml) in the folder, the depot URL for the hosts.
  returned: when a server runs or was stopped
  type: str
  sample: http://controller.example.com:8080/index.xml
port:
  description: The port the server listens on.
  returned: when a server runs or was stopped
  type: int
  sample: 8080
bind:
  description: The address the server listens on.
  returned: when a server runs or was stopped
  type: str
pid:
  description: The process id of the server.
  returned: when a server runs or was stopped
  type: int
root:
  description: The folder served.
  returned: when a server runs or was stopped
  type: str
started_at:
  description: When the server started (UTC, ISO 8601).
  returned: when a server runs or was stopped
  type: str
expires_at:
  description: When the server stops on its own (UTC, ISO 8601), or null.
  returned: when a server runs or was stopped
  type: str
state_file:
  description: The path of the state file.
  returned: when a server runs or was stopped
  type: str
run_id:
  description: The name of this run in the server's leases.
  returned: always
  type: str
  version_added: 0.2.0
runs:
  description: The runs that use the server.
  returned: when a server runs or was stopped
  type: list
  elements: str
  version_added: 0.2.0
still_used_by:
  description: With O(state=stopped), the other runs that still use the server, which was therefore kept.
  returned: when a server was kept for other runs
  type: list
  elements: str
  version_added: 0.2.0
joined:
  description: Whether this run joined a server that was already running (another run started it).
  returned: when the server was already running
  type: bool
  version_added: 0.2.0
"""


from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.serve import depot_serve
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule


def main():
    module = FleetpatchModule(
        dict(
            state=dict(type="str", choices=["started", "stopped"], default="started"),
            path=dict(type="path"),
            bind=dict(type="str", default="127.0.0.1"),
            listen_port=dict(type="int", default=8080),
            url_host=dict(type="str"),
            name=dict(type="str", default="depot"),
            run_id=dict(type="str"),
            state_dir=dict(type="path"),
            lifetime=dict(type="int", default=14400),
            access_log=dict(type="bool", default=True),
            timeout=dict(type="int", default=15),
        ),
        required_if=[("state", "started", ["path"])],
        supports_check_mode=True,
    )
    module.run(lambda ctx: depot_serve(ctx.params, ctx.check_mode))


if __name__ == "__main__":
    main()
