# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/remediate.yml and scan.yml over both kinds of cluster (issue 12) against the vCenter simulator with a
baseline cluster and an image-managed (vLCM) cluster. Every /api exchange the simulator serves is logged
($ESXISIM_VLCM_LOG) and validated against VMware's Swagger files after each test (as in tests/integration/vlcm)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.integration.vlcm.vlcm_helpers import read_log, validate_log
from tests.tooling import tool_path

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
PLAYBOOK = tool_path("ansible-playbook")
REAL = os.path.join(ROOT, "tests", "fixtures", "real")
U2_FLING_ZIP = os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "8-updates",
                            "ESXi80U2-VMKUSB-NIC-FLING-67561870-component-22416446.zip")
U2_FLING = "VMware-vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
U2_VIB = "VMW_bootbank_vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
BASE_802 = "8.0.2-0.0.22380479"
BASE_803 = "8.0.3-0.0.24022510"
IMG_HOSTS = ["esxi-21.sim.local", "esxi-22.sim.local"]
BASE_HOSTS = ["esxi-31.sim.local"]
HOSTS = IMG_HOSTS + BASE_HOSTS
# DC1: cluster IMG (image-managed, DRS, 2 hosts) and cluster BASE (baselines, 1 host)
TOPOLOGY = {"datacenters": [{"name": "DC1", "clusters": [
    {"name": "IMG", "drs": True, "vlcm": {}, "hosts": [
        {"name": "esxi-21.sim.local", "image": "esxi-8.0u2.json", "powered_on_vms": 1},
        {"name": "esxi-22.sim.local", "image": "esxi-8.0u2.json"}]},
    {"name": "BASE", "drs": True, "hosts": [{"name": "esxi-31.sim.local", "image": "esxi-8.0u2.json"}]},
]}]}


def start_sim(sim_factory, log):
    old = os.environ.get("ESXISIM_VLCM_LOG")
    os.environ["ESXISIM_VLCM_LOG"] = log     # read by the simulator process at start
    try:
        return sim_factory("vc", topology=TOPOLOGY, reboot_down=0.3)
    finally:
        if old is None:
            os.environ.pop("ESXISIM_VLCM_LOG", None)
        else:
            os.environ["ESXISIM_VLCM_LOG"] = old


def vlcm_client(sim):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import VlcmClient
    return VlcmClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file)


class Setup(object):
    """A work folder with an inventory of the three hosts and a variables file; ``run(playbook, *args)``."""

    def __init__(self, sim, tmp, update_url):
        self.sim, self.tmp = sim, tmp
        self.inventory = tmp / "inventory.yml"
        self.inventory.write_text(json.dumps({"all": {"children": {"esxi_hosts": {
            "hosts": {h: None for h in HOSTS},
            "vars": {"vmware_hostname": sim.host, "vmware_port": sim.port, "vmware_username": sim.user,
                     "vmware_password": sim.password, "vmware_ca_path": sim.ca_file}}}}}))
        self.variables = tmp / "vars.yml"
        self.variables.write_text(json.dumps({
            "depot_sources": [update_url, U2_FLING_ZIP], "depot_path": str(tmp / "depot"), "depot_port": 0,
            "depot_state_dir": str(tmp / "depot-server"), "patch_scan_report_dest": str(tmp / "reports"),
            "patch_scan_required_bulletins": [U2_FLING], "patch_remediate_bulletins": [U2_FLING],
            "patch_remediate_reboot_timeout": 60, "patch_remediate_accept_eula": True,
            "patch_remediate_summary_file": str(tmp / "rollout.json"),
            "remediate_cluster_images": {"IMG": {"base_image": BASE_803, "commit_message": "test: 8.0 U3"}}}))
        self.env = dict(os.environ)
        self.env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp / "home"),
                        ANSIBLE_LOCAL_TEMP=str(tmp / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp / "rtmp"),
                        ANSIBLE_NOCOLOR="1", REQUESTS_CA_BUNDLE=sim.ca_file)
        for k in ("VMWARE_HOST", "VMWARE_USER", "VMWARE_PASSWORD"):
            self.env.pop(k, None)

    def run(self, playbook, *extra):
        proc = subprocess.run([PLAYBOOK, "-i", str(self.inventory), os.path.join(ROOT, "playbooks", playbook),
                               "-e", "@%s" % self.variables] + list(extra), cwd=ROOT, env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=420)
        return proc.returncode, proc.stdout.decode("utf-8", "replace")

    def rollout(self):
        with open(str(self.tmp / "rollout.json")) as f:
            return {h["name"]: h for h in json.load(f)["hosts"]}

    def report(self):
        with open(str(self.tmp / "reports" / "compliance.json")) as f:
            return json.load(f)

    def stop_depot(self):
        from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import serve as _depot_serve
        _depot_serve.stop({"name": "depot", "state_dir": str(self.tmp / "depot-server")})


@pytest.fixture(scope="module")
def update_url(_depot_server_module):
    """The local depot server's SYNTHETIC ESXi 8.0.3 update (base image 8.0.3-0.0.24022510)."""
    return _depot_server_module.make_esxi_update_depot()


@pytest.fixture(scope="module")
def vlcm_log(tmp_path_factory):
    return str(tmp_path_factory.mktemp("vlcm-log") / "exchanges.jsonl")


@pytest.fixture(autouse=True)
def spec_checked(vlcm_log):
    """After each test: every /api exchange logged during it validates against VMware's spec, and there were some."""
    start = len(read_log(vlcm_log))
    yield
    lines = read_log(vlcm_log)[start:]
    part = vlcm_log + ".part"
    with open(part, "w") as fh:
        for ex in lines:
            fh.write(json.dumps(ex) + "\n")
    count, problems = validate_log(part)
    assert not problems, "exchanges that are not VMware's API:\n" + "\n".join(problems[:20])
    assert count > 0, "no /api exchange was logged during the test"
