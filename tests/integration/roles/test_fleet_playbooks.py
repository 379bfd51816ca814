# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One vCenter login per play batch (issue 14), through ansible-playbook against the vCenter simulator, whose
SOAP login counter (sim/latency.go) tells how many sessions the run opened:

* playbooks/scan.yml over 6 inventory hosts: one login for the whole scan, every host still gets its own
  result, status group and report entry; a host vCenter does not know fails on its own, the others pass;
* ``--limit`` scans only the hosts it names; ``serial`` gives one login per batch, each batch's hosts only;
  ``max_fail_percentage`` still stops the play after a batch with too many failed hosts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.tooling import needs_tool, tool_path

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


PLAYBOOK = tool_path("ansible-playbook")
REAL = os.path.join(ROOT, "tests", "fixtures", "real")
FLING_ZIP = os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "8-updates",
                         "ESXi80U2-VMKUSB-NIC-FLING-67561870-component-22416446.zip")
FLING = "VMware-vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
HOSTS = ["esx-%02d.sim.local" % i for i in range(6)]
GHOST = "esx-99.sim.local"          # in the inventory, unknown to vCenter

pytestmark = [pytest.mark.simulator, pytest.mark.slow,
              needs_tool("ansible-playbook")]

SERIAL_PLAY = """
- name: Scan in batches
  hosts: esxi_hosts
  gather_facts: false
  serial: {serial}
  max_fail_percentage: {max_fail}
  module_defaults:
    fleetpatch.esxi.esxi_patch_scan:
      hostname: "{{{{ vmware_hostname }}}}"
      username: "{{{{ vmware_username }}}}"
      password: "{{{{ vmware_password }}}}"
      port: "{{{{ vmware_port }}}}"
      ca_path: "{{{{ vmware_ca_path }}}}"
  tasks:
    - name: Scan
      ansible.builtin.include_role:
        name: fleetpatch.esxi.patch_scan
      vars:
        patch_scan_depot: ["{fling}"]
        patch_scan_engine: controller
        patch_scan_report: false
        patch_scan_fail_mode: hosts
        patch_scan_required_bulletins: []
        patch_scan_exclude: ["{fling_id}"]
"""


@pytest.fixture(scope="module")
def sim(sim_factory):
    topology = {"datacenters": [{"name": "DC1", "clusters": [
        {"name": "C1", "hosts": [{"name": h, "image": "esxi-8.0u2.json"} for h in HOSTS]}]}]}
    return sim_factory("vc", topology=topology)


@pytest.fixture(scope="module")
def setup(sim, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fleet")

    def inventory(hosts):
        path = tmp / ("inventory-%d.yml" % len(hosts))
        path.write_text(json.dumps({"all": {"children": {"esxi_hosts": {
            "hosts": {h: None for h in hosts},
            "vars": {"vmware_hostname": sim.host, "vmware_port": sim.port, "vmware_username": sim.user,
                     "vmware_password": sim.password, "vmware_ca_path": sim.ca_file,
                     "ansible_python_interpreter": sys.executable}}}}}))
        return str(path)

    variables = tmp / "vars.yml"
    variables.write_text(json.dumps({"patch_scan_depot": [FLING_ZIP], "patch_scan_report_dest": str(tmp / "reports"),
                                     "patch_scan_required_bulletins": [FLING]}))
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp / "tmp"), ANSIBLE_NOCOLOR="1", REQUESTS_CA_BUNDLE=sim.ca_file)
    for k in ("VMWARE_HOST", "VMWARE_USER", "VMWARE_PASSWORD"):
        env.pop(k, None)

    def run(playbook, hosts, *extra):
        sim._control("POST", "/_sim/stats/reset", {})
        proc = subprocess.run([PLAYBOOK, "-i", inventory(hosts), playbook, "-e", "@%s" % variables] + list(extra),
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        text = proc.stdout.decode("utf-8", "replace")
        with open(str(tmp / "last-run.log"), "w") as f:
            f.write(text)
        return proc.returncode, text, sim._control("GET", "/_sim/stats")
    return tmp, run


def recap(text):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+: (ok=.*)$", text, re.M)}


def test_scan_playbook_logs_in_once_and_keeps_per_host_results(setup):
    tmp, run = setup
    rc, text, stats = run(os.path.join(ROOT, "playbooks", "scan.yml"), HOSTS + [GHOST])
    assert rc == 2, text[-6000:]                       # every host is below the line (the fling is missing)
    # the batch run, plus the ghost's own run (the batch could not name it), on one login kept by the session
    # cache and logged out by the playbook's last play: one login, not seven
    assert stats["logins"] == 1 and stats["logouts"] == 1, (stats, text[-6000:])
    r = recap(text)
    assert all(r[h]["failed"] == 1 for h in HOSTS + [GHOST]), r
    for h in HOSTS:
        assert "%s is not compliant: required bulletin %s is missing" % (h, FLING) in text
    assert re.search(r"%s is not scanned: .*not found" % re.escape(GHOST), text), text[-3000:]
    with open(str(tmp / "reports" / "compliance.json")) as f:
        report = json.load(f)
    assert sorted(report["summary"]["non_compliant_hosts"]) == HOSTS
    rc, text, stats = run(os.path.join(ROOT, "playbooks", "scan.yml"), HOSTS, "-e", "scan_fail_mode=none")
    assert rc == 0 and stats["logins"] == 1, (stats, text[-3000:])


def test_limit_scans_only_the_named_hosts(setup):
    tmp, run = setup
    rc, text, stats = run(os.path.join(ROOT, "playbooks", "scan.yml"), HOSTS, "--limit", "%s,%s" % tuple(HOSTS[:2]),
                          "-e", "scan_fail_mode=none")
    assert rc == 0, text[-3000:]
    assert stats["logins"] == 1
    with open(str(tmp / "reports" / "compliance.json")) as f:
        report = json.load(f)
    assert sorted(h["name"] for h in report["hosts"]) == HOSTS[:2]


def test_serial_gives_one_login_per_batch_and_max_fail_percentage_stops(setup):
    tmp, run = setup
    play = tmp / "serial.yml"
    play.write_text(SERIAL_PLAY.format(serial=2, max_fail=100, fling=FLING_ZIP, fling_id=FLING))
    rc, text, stats = run(str(play), HOSTS)
    assert rc == 0, text[-3000:]
    assert stats["logins"] == 3, stats                 # 6 hosts, serial 2: three batches
    assert all(recap(text)[h]["failed"] == 0 for h in HOSTS)
    # a batch whose hosts all fail (unknown to vCenter) stops the play: later batches never run
    play.write_text(SERIAL_PLAY.format(serial=2, max_fail=0, fling=FLING_ZIP, fling_id=FLING))
    rc, text, stats = run(str(play), ["esx-97.sim.local", "esx-98.sim.local"] + HOSTS[:4])
    assert rc != 0
    r = recap(text)
    assert r["esx-97.sim.local"]["failed"] == 1 and all(h not in r or r[h]["ok"] == 0 for h in HOSTS[2:4]), r
