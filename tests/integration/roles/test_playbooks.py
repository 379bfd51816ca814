# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/scan.yml and playbooks/remediate.yml as a user runs them (an inventory, a variables file, the
repository's ansible.cfg) against the vCenter simulator: the scan gate fails the hosts below the line after the
depot is cleaned up; a rollout stops at the first failed host, says where, leaves the later hosts alone and still
stops the depot server; a second run touches no host."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from tests.tooling import needs_tool, tool_path

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


PLAYBOOK = tool_path("ansible-playbook")
REAL = os.path.join(ROOT, "tests", "fixtures", "real")
U2_FLING_ZIP = os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "8-updates",
                            "ESXi80U2-VMKUSB-NIC-FLING-67561870-component-22416446.zip")
U2_FLING = "VMware-vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
U2_VIB = "VMW_bootbank_vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
HOSTS = ["esxi-01.sim.local", "esxi-02.sim.local", "esxi-03.sim.local"]

pytestmark = [pytest.mark.simulator, pytest.mark.slow,
              needs_tool("ansible-playbook")]


@pytest.fixture(scope="module")
def sim(sim_factory):
    topology = {"datacenters": [{"name": "DC1", "clusters": [
        {"name": "C1", "hosts": [{"name": h, "image": "esxi-8.0u2.json"} for h in HOSTS]}]}]}
    return sim_factory("vc", topology=topology, reboot_down=0.5)


@pytest.fixture(scope="module")
def setup(sim, tmp_path_factory):
    """(work folder, run(playbook, *args)); the depot server is stopped at the end whatever happened."""
    tmp = tmp_path_factory.mktemp("playbooks")
    inventory = tmp / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"children": {"esxi_hosts": {
        "hosts": {h: None for h in HOSTS},
        "vars": {"vmware_hostname": sim.host, "vmware_port": sim.port, "vmware_username": sim.user,
                 "vmware_password": sim.password, "vmware_ca_path": sim.ca_file}}}}}))
    variables = tmp / "vars.yml"
    variables.write_text(json.dumps({
        "depot_sources": [U2_FLING_ZIP], "depot_path": str(tmp / "depot"), "depot_port": 0,
        "depot_state_dir": str(tmp / "depot-server"), "patch_scan_report_dest": str(tmp / "reports"),
        "patch_scan_required_bulletins": [U2_FLING], "patch_remediate_reboot_timeout": 60,
        "patch_remediate_summary_file": str(tmp / "rollout.json")}))
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp / "rtmp"), ANSIBLE_NOCOLOR="1",
               REQUESTS_CA_BUNDLE=sim.ca_file,
               # the playbooks keep their vCenter session for the run (session_cache): here, not in ~/.cache
               FLEETPATCH_SESSION_CACHE_DIR=str(tmp / "sessions"))
    for k in ("VMWARE_HOST", "VMWARE_USER", "VMWARE_PASSWORD"):
        env.pop(k, None)

    def run(playbook, *extra):
        proc = subprocess.run([PLAYBOOK, "-i", str(inventory), os.path.join(ROOT, "playbooks", playbook),
                               "-e", "@%s" % variables] + list(extra), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=300)
        return proc.returncode, proc.stdout.decode("utf-8", "replace")

    yield tmp, run
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import serve as _depot_serve
    _depot_serve.stop({"name": "depot", "state_dir": str(tmp / "depot-server")})


def recap(text):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+: (ok=.*)$", text, re.M)}


def server_stopped(tmp):
    return not os.path.exists(str(tmp / "depot-server" / "depot.json"))


def logins(sim):
    stats = sim._control("GET", "/_sim/stats")
    return stats["logins"], stats["logouts"]


def test_scan_gate_fails_hosts_below_the_line(sim, setup):
    tmp, run = setup
    sim._control("POST", "/_sim/stats/reset", {})
    rc, text = run("scan.yml")
    assert rc == 2, text
    # one vCenter login for the play, logged out by its last play (the session cache is left empty)
    assert logins(sim) == (1, 1), text[-3000:]
    assert not [f for f in os.listdir(str(tmp / "sessions")) if f.endswith(".session")]
    r = recap(text)
    assert all(r[h]["failed"] == 1 for h in HOSTS), r
    assert "esxi-01.sim.local is not compliant: required bulletin %s is missing" % U2_FLING in text
    with open(str(tmp / "reports" / "compliance.json")) as f:
        assert json.load(f)["summary"]["non_compliant_hosts"] == HOSTS
    assert server_stopped(tmp)
    rc, text = run("scan.yml", "-e", "scan_fail_mode=none")
    assert rc == 0, text


def test_rollout_stops_at_the_first_failed_host_then_completes_idempotently(sim, setup):
    tmp, run = setup
    # check mode first: every host would be remediated, nothing changes
    rc, text = run("remediate.yml", "--check")
    assert rc == 0, text[-5000:]
    with open(str(tmp / "rollout.json")) as f:
        planned = json.load(f)
    assert {h["name"]: h["msg"] for h in planned["hosts"]} == {
        h: "would install %s (check mode)" % U2_FLING for h in HOSTS}
    assert all(U2_VIB not in sim.state(h)["current_vibs"] and not sim.state(h)["maintenance"] for h in HOSTS)
    assert server_stopped(tmp)

    sim.fault(HOSTS[1], "task_error", text="simulated install failure", count=5)
    try:
        rc, text = run("remediate.yml")
    finally:
        sim.clear_faults()
    assert rc == 2, text
    assert re.search(r"The rollout stopped at esxi-02\.sim\.local: .*simulated install failure", text), text[-5000:]
    with open(str(tmp / "rollout.json")) as f:
        rollout = json.load(f)
    status = {h["name"]: h["status"] for h in rollout["hosts"]}
    assert status == {HOSTS[0]: "remediated", HOSTS[1]: "failed", HOSTS[2]: "not_started"}, rollout
    assert U2_VIB in sim.state(HOSTS[0])["current_vibs"]
    assert U2_VIB not in sim.state(HOSTS[2])["current_vibs"]       # the rollout never reached it
    assert not sim.state(HOSTS[2])["maintenance"]
    assert server_stopped(tmp)                                     # cleaned up although the rollout failed

    # the fault is gone: the next run finishes the rollout (esxi-01 is left alone)
    rc, text = run("remediate.yml")
    assert rc == 0, text[-5000:]
    with open(str(tmp / "rollout.json")) as f:
        status = {h["name"]: h["status"] for h in json.load(f)["hosts"]}
    assert status == {HOSTS[0]: "unchanged", HOSTS[1]: "remediated", HOSTS[2]: "remediated"}
    assert all(U2_VIB in sim.state(h)["current_vibs"] for h in HOSTS)

    # a second run touches no host: no task on an ESXi host reports a change
    boot = {h: sim.state(h)["boot_time"] for h in HOSTS}
    sim._control("POST", "/_sim/stats/reset", {})
    rc, text = run("remediate.yml")
    assert rc == 0, text[-5000:]
    # 3 hosts planned one after another (serial 1) on one vCenter login, logged out at the end
    assert logins(sim) == (1, 1), text[-3000:]
    r = recap(text)
    assert all(r[h]["changed"] == 0 for h in HOSTS), r
    assert {h: sim.state(h)["boot_time"] for h in HOSTS} == boot
    assert server_stopped(tmp)

    # and the scan gate passes now
    rc, text = run("scan.yml")
    assert rc == 0, text[-3000:]
