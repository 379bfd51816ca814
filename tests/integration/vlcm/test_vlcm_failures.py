# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input and faults through ansible-playbook: each fails clearly, nothing is left behind (no draft, no commit,
every REST session logged out), nothing is applied that was not checked. Every exchange is spec-validated
(conftest.spec_checked)."""

from __future__ import annotations

import json

import pytest

from tests.integration.vlcm.vlcm_helpers import BASE_802, BASE_803, read_log, run_playbook

pytestmark = [pytest.mark.simulator, pytest.mark.network]


def client(sim):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import VlcmClient
    return VlcmClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file)


def test_bad_input_and_faults(vlcm_sim, depots, vlcm_log, tmp_path):
    with client(vlcm_sim) as c:
        assert c.wait_task(c.import_offline_depot(depots["update"]), "import")["status"] == "SUCCEEDED"
        cid = c.find_cluster("IMG")["cluster"]
        stale = c.create_draft(cid)                 # a draft left by a killed run of the same user
    res, out = run_playbook(tmp_path, "stale_draft.yml", vlcm_sim, {"base_image": BASE_803})
    r = res["image"]                                # cluster IMG wants 8.0.3: its hosts are non-compliant
    assert r["changed"] and r["commit"] and r["image"]["base_image"]["version"] == BASE_803
    assert "deleted draft %s of user %s left by an earlier run" % (stale, vlcm_sim.user) in out
    with client(vlcm_sim) as c:
        assert c.list_drafts(cid) == {}
        commit = c.compliance(cid)["commit"]
    start = len(read_log(vlcm_log))
    wrong = "Wr0ng-Passw0rd-" + "x" * 8
    res, out = run_playbook(tmp_path, "failures.yml", vlcm_sim, {"base_image": BASE_803, "wrong_password": wrong})

    r = res["unknown_cluster"]
    assert r["failed"] and "cluster NOPE not found" in r["msg"]
    r = res["baseline_cluster"]
    assert r["failed"] and "not managed with a single image" in r["msg"] and "esxi_patch_scan" in r["msg"]
    r = res["no_depot"]
    assert r["failed"] and "base image 8.0.9-0.0.99999999" in r["msg"]
    assert "component VMware-vmkusb-nic-fling 9.9-9vmw" in r["msg"]
    assert "nothing was changed" in r["msg"]
    r = res["wrong_password"]
    assert r["failed"] and r["error_kind"] == "authentication" and "incorrect user name or password" in r["msg"]
    assert wrong not in json.dumps(res) and wrong not in out
    r = res["foreign_host"]
    assert r["failed"] and "esxi-31.sim.local are not in cluster IMG" in r["msg"]

    r = res["check_fails"]                          # the check's findings, no apply
    assert r["failed"] and r["error_kind"] == "precheck" and "nothing was applied" in r["msg"]
    assert "esxi-22.sim.local: Host esxi-22.sim.local: the boot bank has not enough free space" in r["msg"]
    assert r["check"]["status"] == "error" and not r["changed"]
    r = res["hangs"]
    assert r["failed"] and r["error_kind"] == "task_timeout" and "did not finish within 2s" in r["msg"]

    r = res["apply_fails"]                          # vCenter's message, per-host results, esxi-21 done
    assert r["failed"] and r["error_kind"] == "task_failed"
    assert "Remediation of host esxi-22.sim.local failed" in r["msg"] and "altbootbank" in r["msg"]
    assert [(h["name"], h["status"]) for h in r["hosts"]] == [("esxi-21.sim.local", "ok"),
                                                              ("esxi-22.sim.local", "error")]
    assert r["changed"] and r["progress"]
    assert [h["status"] for h in r["compliance_before"]["hosts"]] == ["non_compliant", "non_compliant"]
    assert vlcm_sim.state("esxi-21.sim.local")["build"] == "24022510"
    assert not vlcm_sim.state("esxi-22.sim.local")["maintenance"]

    r = res["retried"]                              # failure_action retry: esxi-22 fails once, then succeeds
    before22 = [h for h in r["compliance_before"]["hosts"] if h["name"] == "esxi-22.sim.local"][0]
    assert before22["status"] == "non_compliant" and before22["base_image"]["current"] == BASE_802   # untouched
    assert r["changed"] and [(h["name"], h["status"]) for h in r["hosts"]] == [("esxi-21.sim.local", "skipped"),
                                                                                ("esxi-22.sim.local", "ok")]
    assert r["policy"]["failure_action"] == {"action": "RETRY", "retry_count": 2, "retry_delay": 0}
    assert any("Retrying host esxi-22.sim.local" in (p["message"] or "") for p in r["progress"])
    assert r["compliance"]["status"] == "compliant"
    assert vlcm_sim.state("esxi-22.sim.local")["build"] == "24022510"
    r = res["retried_again"]
    assert not r["changed"] and r["hosts"] == [] and r["policy"]["failure_action"]["action"] == "RETRY"

    with client(vlcm_sim) as c:                     # nothing left behind
        assert c.list_drafts(cid) == {}
        assert c.compliance(cid)["commit"] == commit
        assert c.software(cid)["base_image"]["version"] == BASE_803
    assert BASE_802 != BASE_803
    log = read_log(vlcm_log)[start:]
    logins = [e for e in log if e["url"] == "/api/session" and e["method"] == "POST" and e["status"] == 201]
    logouts = [e for e in log if e["url"] == "/api/session" and e["method"] == "DELETE" and e["status"] == 204]
    assert len(logins) == len(logouts) >= 6
