# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every fault switch of the simulator ends a deploy in a clear failure that says what was applied and the
host's state, in vCenter and in ESXi mode: depot down (controller side), host cannot reach the depot, install task
error, disconnect in the middle of the install, reboot that never returns. module_utils._patch.deploy is called
directly (what the module runs); one failure also goes through ansible-playbook."""

from __future__ import annotations

import datetime
import time

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import deploy as _patching
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    DepotFetchError, FleetpatchError, PrecheckError, RebootTimeoutError, TaskFailedError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import failure_result

from tests.integration.patch.patch_sim_helpers import B_80U2, V_80U2, Simulator, logged_events, params, run_playbook

pytestmark = [pytest.mark.simulator, pytest.mark.slow]

VC_HOSTS = ["f-depot", "f-unreach", "f-task", "f-disc", "f-reboot", "f-play"]
ESX_HOST = "esxi-01.sim.local"


@pytest.fixture(scope="module")
def vc(sim_factory):
    topo = {"datacenters": [{"name": "DC1", "clusters": [{"name": "CF", "drs": True, "hosts": [
        {"name": n, "image": "esxi-8.0u2.json"} for n in VC_HOSTS]}]}]}
    return sim_factory("vc", topology=topo, reboot_down=0.5)


@pytest.fixture(scope="module")
def esx(sim_factory):
    return sim_factory("esx", reboot_down=0.5)


@pytest.fixture(params=["vc", "esx"])
def mode(request):
    return request.param


def target(request_mode, vc, esx, vc_host):
    return (vc, vc_host) if request_mode == "vc" else (esx, ESX_HOST)


def deploy(sim, host, depots, **kw):
    """Run a deploy expected to fail; returns (error, failed module result as _module.run builds it)."""
    p = params(sim, [depots.all_url], esxi_hostname=[host], bulletins=[B_80U2], manage_firewall=True,
               reboot_timeout=30)
    p.update(kw)
    partial = {"changed": False}
    with pytest.raises(FleetpatchError) as e:
        _patching.run_deploy(p, partial=partial)
    return e.value, failure_result(e.value, partial=partial)


def test_depot_down_on_the_controller(mode, vc, esx, depots, sim_ca):
    sim, host = target(mode, vc, esx, "f-depot")
    sim_ca(sim)
    before = sim.state(host)
    depots.srv.down("503")
    try:
        err, res = deploy(sim, host, depots)
    finally:
        depots.srv.up()
    assert isinstance(err, DepotFetchError) and "503" in str(err) and res["error_kind"] == "depot_fetch"
    assert res["changed"] is False and res["hosts"] == []
    after = sim.state(host)
    assert after["current_vibs"] == before["current_vibs"] and after["maintenance"] is False


def test_host_cannot_reach_the_depot(mode, vc, esx, depots, sim_ca):
    sim, host = target(mode, vc, esx, "f-unreach")
    sim_ca(sim)
    sim.fault(host, "depot_unreachable")
    try:
        err, res = deploy(sim, host, depots, method="esxcli")
    finally:
        sim.clear_faults(host)
    assert isinstance(err, PrecheckError) and "dry run of step 1 (install) failed" in str(err)
    assert "MetadataDownloadError" in str(err) and "nothing of this step was applied" in str(err)
    h = res["hosts"][0]
    assert h["steps"][0]["status"] == "refused" and res["changed"] is False
    # the first dry run comes before maintenance mode: the host was not touched
    assert res["host_state"]["in_maintenance_mode"] is False and res["host_state"]["entered_maintenance_mode"] is False
    assert "Applied before the failure: nothing" in res["msg"] and "not in maintenance mode" in res["msg"]
    st = sim.state(host)
    assert st["maintenance"] is False and st["http_client_enabled"] is False


def test_install_task_error_exits_maintenance_mode_on_request(mode, vc, esx, depots, sim_ca):
    sim, host = target(mode, vc, esx, "f-task")
    sim_ca(sim)
    t0 = datetime.datetime.now(datetime.timezone.utc)
    sim._control("POST", "/_sim/fault", {"host": host, "fault": "task_error", "params": {
        "method": "InstallV2", "type": "PlatformConfigFault", "text": "Simulated esxupdate failure"}})
    try:
        err, res = deploy(sim, host, depots, exit_maintenance_on_failure=True)
    finally:
        sim.clear_faults(host)
    assert isinstance(err, TaskFailedError) and "install patches failed" in str(err)
    assert res["error_kind"] == "task_failed" and res["failed_host"] == res["hosts"][0]["name"]
    steps = res["hosts"][0]["steps"]
    assert [(s["kind"], s["status"]) for s in steps] == [("install", "failed")]
    assert steps[0]["dry_run"]["bulletins"] == {B_80U2: "applicable"}
    state = res["host_state"]
    assert state["reachable"] is True and state["entered_maintenance_mode"] is True
    assert state["maintenance_mode_exited"] is True and state["in_maintenance_mode"] is False
    assert res["changed"] is True       # maintenance mode was entered (and left again)
    st = sim.state(host)
    assert st["maintenance"] is False and V_80U2 not in (st["pending_vibs"] or st["current_vibs"])
    assert st["http_client_enabled"] is False          # firewall restored after the failure
    # the host's user events: the start, then an end event that says the deploy failed and why
    reported = [e["message"] for e in res["hosts"][0]["events"]]
    msgs = [e["message"] for e in logged_events(sim, host, since=t0)]
    assert msgs == reported and all(e["logged"] for e in res["hosts"][0]["events"])
    assert msgs[0].startswith("fleetpatch.esxi: deploy started on %s: install 1 VIB(s); bulletins %s" % (host, B_80U2))
    assert msgs[1].startswith("fleetpatch.esxi: deploy FAILED on %s: " % host) and len(msgs) == 2
    assert "install patches failed" in msgs[1] and "Simulated esxupdate failure" in msgs[1]
    if mode == "vc":                                   # on that host only
        assert logged_events(sim, "f-depot", since=t0) == []


def test_disconnect_in_the_middle_of_the_install(mode, vc, esx, depots, sim_ca):
    sim, host = target(mode, vc, esx, "f-disc")
    sim_ca(sim)
    sim.clear_faults(host)
    sim.fault(host, "disconnect_during_install", seconds=1.0)
    err, res = deploy(sim, host, depots)
    assert "Applied before the failure" in res["msg"]
    step = res["hosts"][0]["steps"][0]
    assert step["status"] == "failed" and step.get("outcome_unknown") is True
    state = res["host_state"]
    # the host came back: its state is read after waiting for it; it stays in maintenance mode (default)
    assert state["reachable"] is True and state["connection_state"] == "connected"
    assert state["in_maintenance_mode"] is True and state["maintenance_mode_exited"] is False
    assert "in maintenance mode" in res["msg"]
    st = sim.state(host)
    assert st["maintenance"] is True and V_80U2 not in st["current_vibs"]
    assert res["changed"] is True


def test_reboot_that_never_returns(mode, vc, esx, depots, sim_ca):
    sim, host = target(mode, vc, esx, "f-reboot")
    sim_ca(sim)
    sim.fault(host, "reboot_never_returns")
    try:
        t = time.monotonic()
        err, res = deploy(sim, host, depots, reboot_timeout=4)
        took = time.monotonic() - t
        assert isinstance(err, RebootTimeoutError) and res["error_kind"] == "reboot_timeout"
        assert "did not come back" in res["msg"] and "step 1 (install, applied)" in res["msg"]
        assert took < 60
        h = res["hosts"][0]
        assert [(s["kind"], s["status"]) for s in h["steps"]] == [("install", "applied")]
        # a real esxupdate answer names no VIBs: a boot-bank install is NeedsRebootResult (80), a success
        result = h["steps"][0]["result"]
        assert (result["outcome"], result["code"], result["reboot_required"], result["changed"]) == \
            ("NeedsRebootResult", 80, True, True)
        state = res["host_state"]
        assert state["reachable"] is False and "unreachable" in res["msg"]
        assert res["changed"] is True
    finally:
        sim.clear_faults(host)
    # once the fault is cleared the host boots into the new image
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (sim.state(host)["down"] or V_80U2 not in sim.state(host)["current_vibs"]):
        time.sleep(0.2)
    assert V_80U2 in sim.state(host)["current_vibs"]


def test_failure_through_ansible_playbook(vc, depots, tmp_path):
    vc._control("POST", "/_sim/fault", {"host": "f-play", "fault": "task_error", "params": {
        "method": "InstallV2", "text": "Simulated esxupdate failure"}})
    results, text = run_playbook(tmp_path, "deploy_fail.yml", vc, {"target": "f-play", "depot_all": depots.all_url,
                                                                   "b_80u2": B_80U2})
    r = results["failed_deploy"]
    assert r["failed"] is True and r["changed"] is True and r["error_kind"] == "task_failed"
    assert r["failed_host"] == "f-play" and r["host_state"]["in_maintenance_mode"] is True
    assert r["hosts"][0]["steps"][0]["status"] == "failed" and r["hosts"][0]["plan"]["install"] == [V_80U2]
    assert "Simulated esxupdate failure" in r["msg"] and vc.password not in text
    assert "Traceback" not in r.get("exception", "")     # a clear message, not a crash
