# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleetpatch.esxi.esxi_host_tag run by ansible-playbook (a real subprocess; the collection found through
ansible.cfg) against the vCenter and ESXi simulators; assertions on each task's registered result and on the tags
vCenter holds afterwards."""

from __future__ import annotations

import json
import os

import pytest

from tests.tooling import needs_tool

from tests.integration.tag.tag_sim_helpers import PLAYBOOK, conn, host_tags, run_playbook

pytestmark = [pytest.mark.simulator, pytest.mark.network, pytest.mark.slow,
              needs_tool("ansible-playbook")]

TAG = "fleetpatch.esxi.esxi_host_tag"
BAD_PASSWORD = "Wr0ng-Passw0rd-xyz"
H1, H2 = "esxi-01.sim.local", "esxi-02.sim.local"


@pytest.fixture(scope="module")
def play(tag_vc_sim, tag_esx_sim, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tag_play")
    tasks = [
        ("present", {TAG: {"esxi_hostname": [H1, H2], "tag": "compliant"}}),
        ("rerun", {TAG: {"esxi_hostnames": [H1, H2], "tag": "compliant"}}),
        ("check_switch", {TAG: {"esxi_hostname": [H1], "tag": "non-compliant"}, "check_mode": True, "diff": True}),
        ("switch", {TAG: {"esxi_hostname": [H1], "tag": "non-compliant"}, "diff": True}),
        ("switch_again", {TAG: {"esxi_hostname": [H1], "tag": "non-compliant"}}),
        ("not_exclusive", {TAG: {"esxi_hostname": [H2], "tag": "non-compliant", "exclusive": False}}),
        ("absent", {TAG: {"esxi_hostname": [H1], "state": "absent"}}),
        ("absent_again", {TAG: {"esxi_hostname": [H1], "state": "absent"}}),
        ("no_create", {TAG: {"esxi_hostname": [H2], "tag": "quarantined", "create": False}}),
        ("no_target", {TAG: {"tag": "compliant"}}),
        ("no_tag", {TAG: {"esxi_hostname": [H1]}}),
        ("bad_password", {TAG: {"esxi_hostname": [H1], "tag": "compliant", "password": BAD_PASSWORD}}),
        ("esx_direct", {TAG: dict(conn(tag_esx_sim), tag="compliant")}),
    ]
    body = []
    for name, task in tasks:
        t = dict(task, name=name, register="r_" + name, ignore_errors=True)
        body.append(t)
    out = str(tmp / "results.json")
    body.append({"name": "save", "ansible.builtin.copy": {
        "content": "{{ {%s} | to_json }}" % ", ".join("'%s': r_%s" % (n, n) for n, _t in tasks),
        "dest": out, "mode": "0600"}})
    pb = [{"name": "tags", "hosts": "localhost", "gather_facts": False,
           "module_defaults": {TAG: conn(tag_vc_sim)}, "tasks": body}]
    path = tmp / "play.yml"
    path.write_text(json.dumps(pb))
    rc, text = run_playbook(tmp, [str(path), "--diff"])
    assert rc == 0, text[-6000:]
    with open(out) as fh:
        return json.load(fh), text


def test_present_then_unchanged(play):
    res, _text = play
    r = res["present"]
    assert r["changed"] is True and not r.get("failed")
    assert r["category"]["name"] == "fleetpatch-compliance" and r["category"]["cardinality"] == "SINGLE"
    assert r["category"]["created"] is True and r["tag"]["created"] is True
    assert [(h["name"], h["tags_before"], h["tags_after"]) for h in r["hosts"]] == [
        (H1, [], ["compliant"]), (H2, [], ["compliant"])]
    r = res["rerun"]
    assert r["changed"] is False and r["category"]["created"] is False and r["tag"]["created"] is False
    assert all(h["changed"] is False and h["tags_after"] == ["compliant"] for h in r["hosts"])


def test_check_mode_changes_nothing(play):
    res, text = play
    r = res["check_switch"]
    assert r["changed"] is True and r["tag"]["id"] is None and r["tag"]["created"] is True
    assert r["hosts"][0]["detached"] == ["compliant"] and r["hosts"][0]["attached"] == ["non-compliant"]
    assert r["diff"]["before"]["hosts"] == {H1: ["compliant"]} and r["diff"]["after"]["hosts"] == {H1: ["non-compliant"]}
    # the next (real) task still finds the old tag, and the tag was created only then
    assert res["switch"]["hosts"][0]["tags_before"] == ["compliant"] and res["switch"]["tag"]["created"] is True
    assert "non-compliant" in text          # --diff shows the change


def test_exclusive_switch(play):
    res, _text = play
    r = res["switch"]
    assert r["changed"] is True
    assert r["hosts"][0]["detached"] == ["compliant"] and r["hosts"][0]["tags_after"] == ["non-compliant"]
    assert res["switch_again"]["changed"] is False
    r = res["not_exclusive"]
    assert r["failed"] is True and r["error_kind"] == "input" and "cardinality SINGLE" in r["msg"]
    assert r["hosts"][0]["failed"] is True and r["hosts"][0]["tags_after"] == ["compliant"]


def test_absent(play):
    res, _text = play
    r = res["absent"]
    assert r["changed"] is True and r["hosts"][0]["detached"] == ["non-compliant"] and r["hosts"][0]["tags_after"] == []
    assert res["absent_again"]["changed"] is False


def test_failures_are_clear(play, tag_vc_sim):
    res, text = play
    r = res["no_create"]
    assert r["failed"] is True and r["error_kind"] == "not_found" and "quarantined does not exist" in r["msg"]
    r = res["no_target"]
    assert r["failed"] is True and "esxi_hostname, cluster_name or datacenter" in r["msg"]
    r = res["no_tag"]
    assert r["failed"] is True and "tag" in r["msg"] and "state is present" in r["msg"]
    r = res["bad_password"]
    assert r["failed"] is True and r["error_kind"] == "authentication"
    assert BAD_PASSWORD not in text and tag_vc_sim.password not in text


def test_esxi_direct_fails_clearly(play, tag_esx_sim):
    res, _text = play
    r = res["esx_direct"]
    assert r["failed"] is True and r["vcenter_required"] is True and r["error_kind"] == "input"
    assert "directly" in r["msg"] and "vCenter" in r["msg"]


def test_vcenter_holds_the_final_tags(play, tag_vc_sim):
    assert host_tags(tag_vc_sim, "fleetpatch-compliance", [H1, H2]) == {H1: [], H2: ["compliant"]}
