# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the vLCM integration tests: the simulator topology with an image-managed cluster, the exchange log
that the simulator writes ($ESXISIM_VLCM_LOG) and its validation against VMware's spec, an ansible-playbook runner."""

from __future__ import annotations
from tests.tooling import tool_path

import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Tuple

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))

from tests.helpers.openapi import SpecViolation, spec  # noqa: E402

ANSIBLE_PLAYBOOK = tool_path("ansible-playbook")
PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks")
BASE_802 = "8.0.2-0.0.22380479"
BASE_803 = "8.0.3-0.0.24022510"
USB_FLING = "VMware-vmkusb-nic-fling"

# DC1: cluster IMG (image-managed, DRS, 2 hosts with VMs) and cluster BASE (baselines), as the issue asks for both.
TOPOLOGY = {"datacenters": [{"name": "DC1", "clusters": [
    {"name": "IMG", "drs": True, "vlcm": {}, "hosts": [
        {"name": "esxi-21.sim.local", "image": "esxi-8.0u2.json", "powered_on_vms": 1},
        {"name": "esxi-22.sim.local", "image": "esxi-8.0u2.json"}]},
    {"name": "BASE", "drs": True, "hosts": [{"name": "esxi-31.sim.local", "image": "esxi-8.0u2.json"}]},
]}]}


def read_log(path: str) -> List[Dict[str, Any]]:
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def validate_exchange(ex: Dict[str, Any]) -> None:
    """One logged exchange against the spec: the request (operation, query, body, session header) and the
    response (declared status, body schema)."""
    api = spec()
    req = json.loads(ex["request"]) if ex["request"] else None
    headers = {"vmware-api-session-id": "x"} if ex["session"] else {}
    api.validate_request(ex["method"], ex["url"], req, headers=headers, has_body=bool(ex["request"]))
    resp = json.loads(ex["response"]) if ex["response"].strip() else None
    api.validate_response(ex["method"], ex["url"], ex["status"], resp, has_body=bool(ex["response"].strip()))


def validate_log(path: str) -> Tuple[int, List[str]]:
    """(number of exchanges, problems) of a whole log."""
    problems = []
    exchanges = read_log(path)
    for ex in exchanges:
        try:
            validate_exchange(ex)
        except SpecViolation as exc:
            problems.append("%s %s -> %s: %s" % (ex["method"], ex["url"], ex["status"], exc))
    return len(exchanges), problems


def run_playbook(tmp_path, playbook: str, sim, extra: Dict[str, Any], check: bool = False, expect_rc: int = 0,
                 verbose: bool = False, timeout: int = 300):
    """ansible-playbook ``playbooks/<playbook>`` against the simulator; returns (results of the play, output)."""
    out_file = str(tmp_path / "results.json")
    vars_file = tmp_path / "vars.json"
    data = {"sim_host": sim.host, "sim_port": sim.port, "sim_user": sim.user, "sim_password": sim.password,
            "sim_ca": sim.ca_file, "out_file": out_file, "ansible_python_interpreter": sys.executable}
    data.update(extra)
    vars_file.write_text(json.dumps(data))
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "rtmp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    cmd = [ANSIBLE_PLAYBOOK, os.path.join(PLAYBOOKS, playbook), "-e", "@%s" % vars_file]
    if check:
        cmd.append("--check")
    if verbose:
        cmd.append("-v")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    text = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == expect_rc, text[-6000:]
    results = {}
    if os.path.exists(out_file):
        with open(out_file) as fh:
            results = json.load(fh)
    return results, text
