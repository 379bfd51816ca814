# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the vCenter tag tests."""

from __future__ import annotations
from tests.tooling import tool_path

import json
import os
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
PLAYBOOK = tool_path("ansible-playbook")


def conn(sim, **over):
    """Connection options of a module or client for a simulator (TLS verified with the simulator's CA)."""
    params = {"hostname": sim.host, "port": sim.port, "username": sim.user, "password": sim.password,
              "validate_certs": True, "ca_path": sim.ca_file}
    params.update(over)
    return params


def vapi(sim, **over):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vapi import VapiClient
    return VapiClient.from_params(conn(sim, **over))


def host_tags(sim, category, names):
    """{host name: sorted tag names of ``category``}, read with a fresh vAPI session and host lookup."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
    with VSphereClient.from_params(conn(sim)) as client, vapi(sim) as v:
        cat = v.find_category(category)
        tags = {t["id"]: t["name"] for t in v.tags_of_category(cat["id"])} if cat else {}
        out = {}
        for h in client.find_hosts(names=names):
            out[h.name] = sorted(tags[i] for i in v.attached_tag_ids(h.moid) if i in tags)
        return out


def ansible_env(tmp_path):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith(("VMWARE_", "ANSIBLE_")):
            del env[k]
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "rtmp"),
               ANSIBLE_NOCOLOR="1", NO_COLOR="1")
    env.pop("REQUESTS_CA_BUNDLE", None)
    return env


def run_playbook(tmp_path, args, timeout=300):
    """ansible-playbook with ``args``; returns (rc, output)."""
    proc = subprocess.run([PLAYBOOK] + list(args) + ["-e", "ansible_python_interpreter=%s" % sys.executable],
                          cwd=ROOT, env=ansible_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=timeout)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def write_json(path, data):
    with open(str(path), "w") as f:
        json.dump(data, f)
    return str(path)
