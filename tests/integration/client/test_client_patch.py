# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PatchManager wrappers against the simulator with real bundles served over real HTTP, plus the fault
switches: depot unreachable, task error, slow tasks, disconnect during install."""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    ConnectionFailedError, HostNotConnectedError, InputError, TaskFailedError, TaskTimeoutError, VSphereError)
from tests.simulator.fixtures import real_fixture
from tests.simulator.util import BULLETIN_80U2, FLING_80U2, GHETTOVCB_VIB, VIB_80U2

from tests.integration.client.client_sim_helpers import HOST, arm_fault

pytestmark = [pytest.mark.simulator]

GHETTO_ID = "virtuallyGhetto_bootbank_ghettoVCB_1.0.0-0.0.0"
STATUS_KEYS = {"id", "applicable", "installed", "reason", "integrity", "install_state", "restart_required",
               "reconnect_required", "vm_off_required", "superseded_patch_ids", "prerequisite_patch"}


@pytest.fixture
def fling(depot_server):
    return depot_server.add_bundle(real_fixture(*FLING_80U2))


def test_query_is_empty_and_scan_reports_installed_vibs(client, host, sim):
    q = client.patch_query(host)      # esx5update's "query" writes nothing (facts, "xmlResult")
    assert q["version"] == "1.50" and q["vibs"] == [] and q["error"] is None and q["outcome"] == "NormalExit"
    r = client.patch_scan(host)       # a scan without metadata lists the host's VIBs with their pkgstate
    json.dumps(r)
    assert r["version"] == "1.50" and r["status"] == [] and r["errors"] == [] and r["error"] is None
    ids = {v["id"] for v in r["vibs"] if v["state"] == "installed"}
    assert set(sim.state(HOST)["current_vibs"]) == ids
    assert "<vib-scan-data>" in r["xml_result"] and r["xml_parse_error"] is None
    assert r["image_pending"] is False and r["vib_staged"] is False and r["staged_vibs"] == []


def test_scan_blocked_by_firewall_then_open_ruleset(client, host, fling, depot_server):
    assert client.firewall_ruleset_enabled(host, "httpClient") is False
    blocked = client.patch_scan(host, meta_urls=[fling])
    assert blocked["status"] == []
    assert blocked["errors"][0]["error_class"] == "MetadataDownloadError"
    assert "httpClient" in blocked["errors"][0]["message"]
    with client.ruleset_open(host, "httpClient") as was_enabled:
        assert was_enabled is False
        before = len(depot_server.requests)
        r = client.patch_scan(host, meta_urls=[fling])
        assert len(depot_server.requests) > before        # the host really fetched the depot
    assert client.firewall_ruleset_enabled(host, "httpClient") is False   # restored
    st = {s["id"]: s for s in r["status"]}[BULLETIN_80U2]
    assert set(st) == STATUS_KEYS
    assert st["applicable"] and not st["installed"] and st["restart_required"] and st["vm_off_required"]
    assert r["errors"] == [] and any(v["id"] == VIB_80U2 for v in r["vibs"])
    c = client.patch_check(host, meta_urls=[fling])   # firewall closed again: check sees the block
    assert c["errors"] and c["status"] == []


def test_scan_depot_down_and_unreachable_fault(client, host, sim, fling, depot_server):
    with client.ruleset_open(host):
        depot_server.down("503")
        r = client.patch_scan(host, meta_urls=[fling])
        assert r["status"] == [] and r["errors"][0]["error_class"] == "MetadataDownloadError"
        assert r["error"]["code"] == 4 and r["errors"][0]["error_code"] == 4
        depot_server.up()
        sim.fault(HOST, "depot_unreachable")
        r = client.patch_scan(host, meta_urls=[fling])
        assert r["status"] == [] and "No route to host" in r["errors"][0]["message"]
        sim.clear_faults(HOST)
        ok = client.patch_check(host, meta_urls=[fling])
        assert [s["id"] for s in ok["status"]] == [BULLETIN_80U2]


def test_secrets_in_urls_and_proxy_password_are_redacted(client, host, depot_server):
    url = depot_server.url_for("no/such/index.xml?token=S3cr3tT0ken")
    with client.ruleset_open(host):
        r = client.patch_scan(host, meta_urls=[url], proxy_password="Pr0xyPass!")
    text = json.dumps(r)
    assert "S3cr3tT0ken" not in text and "Pr0xyPass!" not in text and r["errors"]


def test_task_error_fault(client, host, sim):
    arm_fault(sim, HOST, "task_error", fault="PlatformConfigFault", text="esxupdate exploded", method="Query")
    with pytest.raises(TaskFailedError) as ei:
        client.patch_query(host)
    e = ei.value
    assert e.details["fault_type"] == "PlatformConfigFault" and "esxupdate exploded" in str(e)
    assert e.host == host.label and e.details["task"]
    arm_fault(sim, HOST, "task_error", fault="RequestCanceled")
    with pytest.raises(TaskFailedError) as ei:
        client.patch_scan(host)
    assert ei.value.details["fault_type"] == "RequestCanceled"
    assert client.patch_query(host)["version"] == "1.50"    # one-shot fault consumed


def test_slow_tasks_timeout_then_complete(client, host, sim):
    sim.fault(HOST, "slow_tasks", seconds=1.5)
    t0 = time.monotonic()
    with pytest.raises(TaskTimeoutError) as ei:
        client.patch_query(host, timeout=0.4)
    assert time.monotonic() - t0 < 1.4
    assert "did not finish within 0.4s" in str(ei.value) and ei.value.details["state"] in ("queued", "running")
    r = client.patch_scan(host, timeout=10)         # waits through the slow task
    assert r["vibs"] and r["error"] is None


def test_vib_download_error_has_code_7_and_its_texts(client, host, depot_server):
    url = depot_server.url_for("no/such/thing.vib?token=S3cr3tT0ken")
    with client.ruleset_open(host):
        with pytest.raises(TaskFailedError) as ei:
            client.patch_install(host, vib_urls=[url])
    e = ei.value
    assert e.details["error_class"] == "VibDownloadError" and e.details["error_code"] == 7
    assert any("no/such/thing.vib" in m and "404" in m for m in e.details["error_messages"])
    assert "S3cr3tT0ken" not in json.dumps(e.to_result()) and "S3cr3tT0ken" not in str(e)


def test_invalid_arguments(client, host):
    with pytest.raises(VSphereError) as ei:
        client.patch_scan(host, meta_urls=[""])
    assert ei.value.details["fault_type"] == "InvalidArgument"
    with pytest.raises(InputError):
        client.patch_uninstall(host, [])


def test_disconnect_during_install(client, host, sim, depot_server):
    url = depot_server.make_esxi_update_depot()
    sim.fault(HOST, "disconnect_during_install", seconds=1)
    with client.ruleset_open(host):
        with pytest.raises((HostNotConnectedError, ConnectionFailedError)) as ei:
            client.patch_install(host, meta_urls=[url], cmd_options=["--maintenancemode"])
        if sim.mode == "vc":
            assert isinstance(ei.value, HostNotConnectedError)
        else:   # ESXi directly: the connection drops while we wait; the outcome is unknown
            assert isinstance(ei.value, ConnectionFailedError)
        facts = client.wait_connected(host, timeout=20)
        assert facts["connection_state"] == "connected"
        assert sim.state(HOST)["pending_vibs"] is None          # the interrupted install changed nothing
        assert client.patch_scan(host)["vibs"]
    assert client.firewall_ruleset_enabled(host, "httpClient") is False


def test_stage_install_noop_uninstall(client, host, sim, fling):
    with client.ruleset_open(host):
        outside = pytest.raises(TaskFailedError)
        with outside as ei:
            client.patch_install(host, meta_urls=[fling])
        assert ei.value.details["fault_type"] == "PlatformConfigFault" and "MaintenanceModeError" in str(ei.value)
        assert ei.value.details["error_class"] == "MaintenanceModeError" and ei.value.details["error_code"] == 18
        assert any(VIB_80U2 in m for m in ei.value.details["error_messages"])
        staged = client.patch_stage(host, meta_urls=[fling])
        assert staged["outcome"] == "NormalExit" and staged["error"] is None
        assert sim.state(HOST)["staged_vibs"] == [VIB_80U2]
        assert client.patch_scan(host)["staged_vibs"] == [VIB_80U2]
        done = client.patch_install(host, meta_urls=[fling], cmd_options=["--maintenancemode"])
        # NeedsRebootResult (80) is a success: changed, reboot required, no error, no VIB lists
        assert (done["outcome"], done["code"], done["changed"], done["reboot_required"], done["error"]) == \
            ("NeedsRebootResult", 80, True, True, None)
        assert done["errors"] == [] and done["added_vibs"] == []
        assert VIB_80U2 in sim.state(HOST)["pending_vibs"]
        again = client.patch_install(host, meta_urls=[fling], cmd_options="--maintenancemode")
        # nothing changed, the reboot of the first install is still pending
        assert (again["outcome"], again["changed"], again["reboot_required"]) == ("NeedsRebootResult", False, True)
        gone = client.patch_uninstall(host, [BULLETIN_80U2], cmd_options=["--maintenancemode"])
        assert gone["outcome"] == "NeedsRebootResult" and gone["changed"] is True
        assert VIB_80U2 not in (sim.state(HOST)["pending_vibs"] or [])


def test_vib_urls_live_install_and_acceptance(client, host, sim, depot_server):
    """A real community VIB (ghettoVCB) by URL: refused at partner level, live-installed at community."""
    vib_url = depot_server.add_file(real_fixture(*GHETTOVCB_VIB), "ghetto/ghettoVCB.vib")
    with client.ruleset_open(host):
        with pytest.raises(TaskFailedError) as ei:
            client.patch_install(host, vib_urls=[vib_url])
        assert "AcceptanceConfigError" in str(ei.value) and ei.value.details["error_code"] == 33
        assert any("acceptance level is community, which is not compliant with the ImageProfile acceptance level "
                   "partner" in m for m in ei.value.details["error_messages"])
        assert client.acceptance_set(host, "community")["changed"]
        staged = client.patch_stage(host, vib_urls=[vib_url])
        assert GHETTO_ID in sim.state(HOST)["staged_vibs"] and staged["errors"] == []
        res = client.patch_install(host, vib_urls=[vib_url])
        st = sim.state(HOST)
        # a live install (live and boot images) is NormalExit; on a pending image it needs the reboot (80)
        if st["pending_vibs"] is None:
            assert (res["outcome"], res["changed"], res["live"], res["reboot_required"]) == \
                ("NormalExit", True, True, False)
        else:
            assert (res["outcome"], res["changed"], res["reboot_required"]) == ("NeedsRebootResult", True, True)
        st = sim.state(HOST)
        # live install: active at once, unless an earlier test left a pending image it then stacks on
        if st["pending_vibs"] is None:
            assert GHETTO_ID in st["current_vibs"] and GHETTO_ID in [v.id for v in client.software_vibs(host)]
        else:
            assert GHETTO_ID in st["pending_vibs"]
        gone = client.patch_uninstall(host, [GHETTO_ID])
        assert gone["changed"] is True and gone["error"] is None
        after = sim.state(HOST)
        assert GHETTO_ID not in (after["pending_vibs"] or after["current_vibs"])
    assert client.acceptance_set(host, "partner")["after"] == "partner"
