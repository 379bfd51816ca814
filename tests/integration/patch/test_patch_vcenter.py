# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esxi_patch_scan / esxi_patch_deploy through the simulated vCenter, driven by ansible-playbook
(playbooks/vc_main.yml): hosts built from the real ESXi 6.7.0 GA image and from the 7.0U3 and 8.0U2 images, a depot
of every real fixture bundle, the synthetic ESXi 8.0.3 update with its profile."""

from __future__ import annotations

import pytest

from tests.integration.patch.patch_sim_helpers import (B_703, B_80U2, B_80U3_7, EXPECTED_MISSING, HOST_ENGINE_EXTRA_67,
                                                       V_703, V_80U2, V_80U3_7, Simulator,
                               logged_events, missing_ids, reported_events, run_playbook)

pytestmark = [pytest.mark.simulator, pytest.mark.slow]

IMAGES = {"h67": "esxi-6.7.0-ga.json", "h70": "esxi-7.0u3.json", "h80": "esxi-8.0u2.json"}
TOPOLOGY = {"datacenters": [{"name": "DC1", "clusters": [{"name": "C1", "drs": True, "hosts": [
    {"name": n, "image": i} for n, i in sorted(IMAGES.items())]}],
    "hosts": [{"name": "h80p", "image": "esxi-8.0u2.json"}, {"name": "h80s", "image": "esxi-8.0u2.json"}]}]}


@pytest.fixture(scope="module")
def vc(sim_factory):
    return sim_factory("vc", topology=TOPOLOGY, reboot_down=0.5)


@pytest.fixture(scope="module")
def run(vc, depots, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vc_play")
    before = {h: vc.state(h) for h in ("h67", "h70", "h80", "h80p", "h80s")}
    extra = {"depot_all": depots.all_url, "depot_upd": depots.upd_url, "upd_profile": depots.upd["profile"],
             "record_dir": str(tmp / "records"), "b_80u2": B_80U2, "b_703": B_703, "b_80u3_7": B_80U3_7}
    results, text = run_playbook(tmp, "vc_main.yml", vc, extra)
    return results, text, before, depots


def by_name(result):
    return {h["name"]: h for h in result["hosts"]}


def ok(r):
    assert not r.get("failed"), r.get("msg")
    return r


def test_both_engines_find_exactly_the_missing_bulletins(run):
    results = run[0]
    for key in ("scan_controller", "scan_host"):
        r = ok(results[key])
        assert r["changed"] is False
        hosts = by_name(r)
        assert sorted(hosts) == ["h67", "h70", "h80"]
        for name, image in IMAGES.items():
            want = EXPECTED_MISSING[image]
            if key == "scan_host" and image == "esxi-6.7.0-ga.json":
                want = sorted(want + HOST_ENGINE_EXTRA_67)
            assert missing_ids(hosts[name]) == want, (key, name)
            assert hosts[name]["compliant"] is False
            assert hosts[name]["scan_record"].endswith("/%s.json" % name)
        assert hosts["h67"]["version"] == "6.7.0" and hosts["h67"]["build"] == "8169922"
        assert hosts["h67"]["image_profile"] == "ESXi-6.7.0-8169922-standard"
    c = by_name(results["scan_controller"])
    h = by_name(results["scan_host"])
    assert c["h80"]["engine"] == "controller" and h["h80"]["engine"] == "host"
    assert h["h80"]["metadata_urls"] == [run[3].all_url.replace("index.xml", "metadata.zip")]
    assert c["h80"]["depot_digest"] == h["h80"]["depot_digest"]
    # the 8.0U3 flings need an API the 8.0U2 host does not have: not applicable, with the reason
    na = {e["id"]: e["reason"] for e in c["h80"]["not_applicable"]}
    assert "vmkapi_2_13_0_0" in na[B_80U3_7]
    na67 = {e["id"]: e["reason"] for e in c["h67"]["not_applicable"]}
    assert "vmkapi_incompat_2_4_0_0" in na67["ESXi650-VMKUSB-NIC-FLING-39176435"]   # the 6.5 fling (missingLib)
    sata = [e for e in c["h67"]["missing"] if e["id"] == "sata-xahci-1.42-1"][0]
    assert sata["acceptance_blocked"] == ["VFrontDe_bootbank_sata-xahci_1.42-1"]


def test_check_mode_returns_the_plan_and_changes_nothing(run, vc):
    results, _text, before, _d = run
    r = ok(results["plan_h80"])
    assert r["changed"] is True
    assert r["plan"]["install"] == [V_80U2] and r["plan"]["reboot_required"] is True
    assert r["plan"]["maintenance_mode_required"] is True and r["plan"]["enter_maintenance_mode"] is True
    assert r["hosts"][0]["steps"] == [] and r["hosts"][0]["rebooted"] is False
    assert r["diff"]["after"].count("\n") == r["diff"]["before"].count("\n") + 1 and V_80U2 in r["diff"]["after"]
    assert r["hosts"][0]["scan"]["engine"] == "host"     # the recorded scan was the last one (host engine)


def test_deploy_installs_reboots_rescans_and_second_run_changes_nothing(run, vc):
    results, _text, before, _d = run
    r = ok(results["deploy_h80"])
    h = r["hosts"][0]
    assert r["changed"] is True and h["rebooted"] is True
    assert [(s["kind"], s["status"], s["method"]) for s in h["steps"]] == [("install", "applied", "patch_manager")]
    assert h["steps"][0]["dry_run"]["bulletins"] == {B_80U2: "applicable"}
    assert h["maintenance_mode"] == {"before": False, "required": True, "entered": True, "exited": True}
    assert h["verified"]["active"] == [V_80U2] and h["compliant"] is True     # compliant with the selection
    assert h["rescan"]["missing"] == [b for b in EXPECTED_MISSING["esxi-8.0u2.json"] if b != B_80U2]
    assert [e["message"].split(":")[1].strip().split(" ")[1] for e in h["events"]] == ["started", "finished"]
    assert all(e["logged"] for e in h["events"])
    st = vc.state("h80")
    assert V_80U2 in st["current_vibs"] and st["pending_vibs"] is None
    assert st["maintenance"] is False and st["boot_time"] != before["h80"]["boot_time"]
    assert st["http_client_enabled"] is False       # the firewall ruleset was closed again
    again = ok(results["again_h80"])
    assert again["changed"] is False and again["plan"]["changed"] is False
    assert again["plan"]["skip"][0]["reason"] == "installed"
    assert again["hosts"][0]["steps"] == [] and again["hosts"][0]["compliant"] is True


def test_deploys_post_start_and_end_events_on_their_hosts(run, vc):
    """What the deploy results report as logged events is what vCenter has, on the deployed host, in pairs."""
    reported = reported_events(run[0])
    assert sorted(reported) == ["h67", "h70", "h80", "h80p", "h80s"]
    for name in sorted(IMAGES) + ["h80p", "h80s"]:
        evs = logged_events(vc, name)
        msgs = [e["message"] for e in evs]
        assert sorted(msgs) == sorted(reported[name]), name
        assert all(e["user"] == vc.user for e in evs)
        assert all(m.startswith("fleetpatch.esxi: deploy ") and " on %s: " % name in m for m in msgs), msgs
        kinds = [m.split(" ")[2] for m in msgs]
        assert kinds == ["started", "finished"] * (len(kinds) // 2) and kinds, (name, msgs)
    h80 = [e["message"] for e in logged_events(vc, "h80")]
    assert h80 == [e["message"] for e in ok(run[0]["deploy_h80"])["hosts"][0]["events"]]
    assert h80[0].startswith("fleetpatch.esxi: deploy started on h80: ") and B_80U2 in h80[0]
    assert h80[1] == "fleetpatch.esxi: deploy finished on h80: changed, rebooted"


def test_not_applicable_bulletin_is_refused(run):
    r = run[0]["refused_h80"]
    assert r["failed"] is True and r["changed"] is False and r["error_kind"] == "precheck"
    assert "ESXi670-VMKUSB-NIC-FLING-39203948 is not applicable" in r["msg"]
    assert r["blockers"][0]["type"] == "not_applicable"


def test_esxcli_under_async(run, vc):
    r = ok(run[0]["deploy_h70"])
    assert r["changed"] is True and "ansible_job_id" in r and r["finished"] == 1
    h = r["hosts"][0]
    assert [(s["kind"], s["method"]) for s in h["steps"]] == [("install", "esxcli")]
    assert h["steps"][0]["dry_run"]["installed"] == [V_703] and h["rebooted"] is True
    assert V_703 in vc.state("h70")["current_vibs"]


def test_67_host_gets_everything_with_acceptance_change(run, vc):
    r = ok(run[0]["deploy_h67"])
    h = r["hosts"][0]
    assert [s["kind"] for s in h["steps"]] == ["acceptance", "install"]
    assert h["plan"]["acceptance"] == {"host": "partner", "required": "community", "change_to": "community"}
    assert sorted(h["plan"]["bulletins"]) == EXPECTED_MISSING["esxi-6.7.0-ga.json"]
    st = vc.state("h67")
    assert st["acceptance"] == "community" and "VFrontDe_bootbank_sata-xahci_1.42-1" in st["current_vibs"]
    assert st["maintenance"] is False
    after = by_name(ok(run[0]["scan_after"]))
    assert after["h67"]["compliant"] is True and missing_ids(after["h67"]) == []
    # what the deploys installed is no longer missing; the other drivers still are
    assert missing_ids(after["h80"]) == [b for b in EXPECTED_MISSING["esxi-8.0u2.json"] if b != B_80U2]
    assert missing_ids(after["h70"]) == [b for b in EXPECTED_MISSING["esxi-7.0u3.json"] if b != B_703]


def test_profile_replacement_plan_and_two_step_profile_deploy(run, vc):
    results, _t, before, depots = run
    rp = ok(results["replace_plan"])["plan"]
    gone = sorted(v for v in before["h80p"]["current_vibs"] if not v.split("_")[2] in ("esx-base", "vsan", "esx-ui"))
    assert sorted(rp["removed_by_request"]) == gone and len(gone) == 4
    assert [s["kind"] for s in rp["steps"]] == ["profile_update", "remove"]
    r = ok(results["profile_h80p"])
    h = r["hosts"][0]
    assert [(s["kind"], s["status"]) for s in h["steps"]] == [("profile_update", "applied"), ("install", "applied")]
    assert all("dry_run" in s for s in h["steps"])
    assert h["rescan"]["version"] == "8.0.3" and h["rescan"]["build"] == depots.upd["build"]
    st = vc.state("h80p")
    assert V_80U3_7 in st["current_vibs"] and st["version"] == "8.0.3"
    assert len(st["current_vibs"]) == 8         # profile update keeps the host's other VIBs
    assert V_80U3_7 in r["diff"]["after"] and V_80U3_7 not in r["diff"]["before"]


def test_stage_then_install_without_reboot_then_activate(run, vc):
    results = run[0]
    s1, s2 = ok(results["stage_h80s"]), ok(results["stage_again_h80s"])
    assert s1["changed"] is True and s1["hosts"][0]["steps"][0]["status"] == "staged"
    assert s1["hosts"][0]["maintenance_mode"]["entered"] is False and s1["hosts"][0]["rebooted"] is False
    assert s2["changed"] is False and s2["hosts"][0]["steps"][0]["status"] == "no_change"
    n = ok(results["noreboot_h80s"])["hosts"][0]
    assert n["pending_reboot"] is True and n["rebooted"] is False and n["verified"]["pending_reboot"] == [V_80U2]
    assert n["compliant"] is False
    a = ok(results["activate_h80s"])
    assert a["changed"] is True and a["plan"]["pending_reboot"] == [V_80U2]
    assert a["hosts"][0]["rebooted"] is True and a["hosts"][0]["compliant"] is True
    assert a["hosts"][0]["steps"][0]["status"] == "no_change"
    assert ok(results["done_h80s"])["changed"] is False
    st = vc.state("h80s")
    assert V_80U2 in st["current_vibs"] and st["maintenance"] is False and st["pending_vibs"] is None


def test_maintenance_mode_never_refuses_a_plan_that_needs_it(run, vc):
    r = run[0]["never_mm"]
    assert r["failed"] is True and r["changed"] is False and r["error_kind"] == "precheck"
    assert "maintenance_mode is never" in r["msg"] and "require maintenance mode" in r["msg"]
