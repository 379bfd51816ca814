# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The patch_scan role with patch_scan_tag_hosts, through playbooks/scan.yml as a user runs it (an inventory with
per-host connection variables, a variables file): hosts of a vCenter get `compliant` / `non-compliant` after the
minimum_build line, a standalone ESXi host reached directly is skipped with a message, and a second run with another
line swaps the tags (one compliance tag per host)."""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.tooling import needs_tool


from tests.integration.tag.tag_sim_helpers import PLAYBOOK, ROOT, host_tags, run_playbook, write_json

pytestmark = [pytest.mark.simulator, pytest.mark.slow,
              needs_tool("ansible-playbook")]

U2_FLING_ZIP = os.path.join(ROOT, "tests", "fixtures", "real", "itiligent__ESXi-Custom-ISO", "8-updates",
                            "ESXi80U2-VMKUSB-NIC-FLING-67561870-component-22416446.zip")
VC_HOSTS = ["esxi-01.sim.local", "esxi-02.sim.local"]     # 8.0 U2 (build 22380479), 7.0 U3 (build 21930508)
ESX_HOST = "esxi-20.sim.local"


@pytest.fixture(scope="module")
def sims(sim_factory):
    vc = sim_factory("vc", reboot_down=0.5, topology={"datacenters": [{"name": "DC1", "clusters": [
        {"name": "C1", "hosts": [{"name": VC_HOSTS[0], "image": "esxi-8.0u2.json"},
                                 {"name": VC_HOSTS[1], "image": "esxi-7.0u3.json"}]}]}]})
    esx = sim_factory("esx", reboot_down=0.5, topology={"hosts": [{"name": ESX_HOST, "image": "esxi-8.0u2.json"}]})
    return vc, esx


def recap(text):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+: (ok=.*)$", text, re.M)}


def test_scan_tags_hosts_by_the_line(sims, tmp_path):
    vc, esx = sims

    def endpoint(sim):
        return {"vmware_hostname": sim.host, "vmware_port": sim.port, "vmware_username": sim.user,
                "vmware_password": sim.password, "vmware_ca_path": sim.ca_file}

    hosts = {h: endpoint(vc) for h in VC_HOSTS}
    hosts[ESX_HOST] = endpoint(esx)
    inventory = write_json(tmp_path / "inventory.json", {"all": {"children": {"esxi_hosts": {"hosts": hosts}}}})
    common = {"depot_sources": [U2_FLING_ZIP], "depot_path": str(tmp_path / "depot"),
              "depot_state_dir": str(tmp_path / "depot-server"), "patch_scan_report_dest": str(tmp_path / "reports"),
              "patch_scan_tag_hosts": True}

    # run 1: 7.0 hosts need 24411414 -> esxi-02 is below the line; the gate fails it after it was tagged
    vars1 = write_json(tmp_path / "vars1.json", dict(common, patch_scan_minimum_build={"8.0": 22380479,
                                                                                       "7.0": 24411414}))
    rc, text = run_playbook(tmp_path, ["-i", inventory, os.path.join(ROOT, "playbooks", "scan.yml"), "-e",
                                       "@" + vars1])
    assert rc != 0, text[-6000:]
    r = recap(text)
    assert r["esxi-02.sim.local"]["failed"] == 1 and r["esxi-01.sim.local"]["failed"] == 0, text[-6000:]
    assert r[ESX_HOST]["failed"] == 0, text[-6000:]
    flat = " ".join(text.split())           # the yaml callback wraps long messages
    assert "%s not tagged: " % ESX_HOST in flat and "connected to an ESXi host directly" in flat
    assert host_tags(vc, "fleetpatch-compliance", VC_HOSTS) == {"esxi-01.sim.local": ["compliant"],
                                                                "esxi-02.sim.local": ["non-compliant"]}
    with open(str(tmp_path / "reports" / "compliance.json")) as f:
        report = json.load(f)
    assert {h["name"]: h["status"] for h in report["hosts"]} == {
        "esxi-01.sim.local": "compliant", "esxi-02.sim.local": "non_compliant", ESX_HOST: "compliant"}

    # run 2: another line swaps the hosts; each keeps one compliance tag
    vars2 = write_json(tmp_path / "vars2.json", dict(common, patch_scan_minimum_build={"8.0": 24022510,
                                                                                       "7.0": 21930508},
                                                     scan_fail_mode="none"))
    rc, text = run_playbook(tmp_path, ["-i", inventory, os.path.join(ROOT, "playbooks", "scan.yml"), "-e",
                                       "@" + vars2])
    assert rc == 0, text[-6000:]
    assert host_tags(vc, "fleetpatch-compliance", VC_HOSTS) == {"esxi-01.sim.local": ["non-compliant"],
                                                                "esxi-02.sim.local": ["compliant"]}
