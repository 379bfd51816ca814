# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vLCM modules through ansible-playbook against the simulator; every /api exchange of every test is validated
against VMware's spec (conftest.spec_checked). The simulator's own state (/_sim/state) is the truth checked."""

from __future__ import annotations

import pytest

import json

from tests.integration.vlcm.vlcm_helpers import BASE_802, BASE_803, USB_FLING, read_log, run_playbook

pytestmark = [pytest.mark.simulator, pytest.mark.network]

FLING_803 = "1.14-7vmw.803.0.95.93415869"
IMG_HOSTS = ("esxi-21.sim.local", "esxi-22.sim.local")


def add_depots(sim, urls):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import VlcmClient
    with VlcmClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file) as c:
        have = {d.get("location") for d in c.offline_depots().values()}
        for u in urls:
            if u not in have:
                assert c.wait_task(c.import_offline_depot(u), "import")["status"] == "SUCCEEDED"


def drafts_and_sessions(sim):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import VlcmClient
    with VlcmClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file) as c:
        cid = c.find_cluster("IMG")["cluster"]
        return c.list_drafts(cid)


def test_image_cycle_set_commit_remediate(vlcm_sim, depots, tmp_path, vlcm_log):
    add_depots(vlcm_sim, [depots["update"], depots["all"]])
    boot = {h: vlcm_sim.state(h)["boot_time"] for h in IMG_HOSTS}
    res, out = run_playbook(tmp_path, "image_cycle.yml", vlcm_sim, {
        "base_image": BASE_803, "components": {USB_FLING: FLING_803},
        "depot_urls": [depots["update"], depots["all"]]})

    before = res["info_before"]
    assert before["image"]["base_image"]["version"] == BASE_802
    assert before["image"]["base_image"]["display_version"] == "8.0 U2 - 22380479"
    assert before["compliance"]["status"] == "compliant"
    assert [h["name"] for h in before["compliance"]["hosts"]] == list(IMG_HOSTS)

    chk = res["image_check"]
    assert chk["changed"] and chk["commit"] is None
    assert chk["plan"] == {"base_image": BASE_803, "components_to_set": {USB_FLING: FLING_803}}
    assert chk["diff"]["before"]["base_image"]["version"] == BASE_802
    assert chk["diff"]["after"]["base_image"]["version"] == BASE_803

    done = res["image_set"]
    assert done["changed"] and done["commit"]
    assert done["image"]["base_image"]["version"] == BASE_803
    assert done["image"]["components"] == {USB_FLING: FLING_803}
    again = res["image_again"]
    assert not again["changed"] and again["plan"] == {} and again["commit"] is None
    commits = [json.loads(e["request"]) for e in read_log(vlcm_log) if "action=commit" in e["url"]]
    assert commits == [{"message": "8.0 U3 with the USB NIC fling"}]         # one commit: not in check mode, not again

    spec_doc = res["exported"]["spec"]
    assert spec_doc == {"base_image": {"version": BASE_803}, "components": {USB_FLING: FLING_803}}
    assert not res["image_from_spec"]["changed"] and res["image_from_spec"]["plan"] == {}

    comp = res["info_committed"]["compliance"]
    assert comp["status"] == "non_compliant" and comp["impact"] == "reboot_required"
    h = comp["hosts"][0]
    assert h["base_image"] == {"current": BASE_802, "target": BASE_803,
                               "bulletins": [{"id": "ESXi_" + BASE_803, "summary": "SYNTHETIC ESXi 8.0.3 update",
                                              "severity": "critical", "category": "bugfix",
                                              "release_date": h["base_image"]["bulletins"][0]["release_date"],
                                              "kb": "https://kb.vmware.com"}]}
    fling = [c for c in h["components"] if c["name"] == USB_FLING][0]
    assert fling["status"] == "non_compliant" and fling["target"] == FLING_803
    assert [b["id"] for b in fling["bulletins"]] == ["VMware-vmkusb-nic-fling_" + FLING_803]

    rc = res["rem_check"]
    assert rc["changed"] and rc["check"]["status"] == "ok"
    assert [x["status"] for x in rc["hosts"]] == ["would_remediate", "would_remediate"]

    rem = res["rem"]
    assert rem["changed"] and [x["status"] for x in rem["hosts"]] == ["ok", "ok"]
    assert rem["compliance"]["status"] == "compliant"
    assert rem["progress"] and rem["progress"][-1]["status"] == "SUCCEEDED"
    again = res["rem_again"]
    assert not again["changed"] and again["check"] is None and again["hosts"] == []

    for name in IMG_HOSTS:                       # what the SOAP side of the simulator sees
        st = vlcm_sim.state(name)
        assert (st["version"], st["build"]) == ("8.0.3", "24022510")
        assert "VMW_bootbank_vmkusb-nic-fling_" + FLING_803 in st["current_vibs"]
        assert st["boot_time"] != boot[name] and not st["maintenance"]
    assert drafts_and_sessions(vlcm_sim) == {}
