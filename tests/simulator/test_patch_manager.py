"""HostPatchManager against real depots (tests/fixtures/real bundles) served over real HTTP."""
import re
import time

import pytest
from pyVmomi import vim, vmodl

from tests.simulator import esxcli_helper as ec
from ansible_collections.fleetpatch.esxi.plugins.module_utils._esxi.esxupdate import esxupdate_result

from tests.simulator.fixtures import real_fixture
from tests.simulator.harness import Simulator
from tests.simulator.util import (BULLETIN_80U2, BULLETIN_80U3, FLING_80U1, FLING_80U2, FLING_80U3, FLING_670, NVME_670,
                   VIB_80U2, connect, disconnect, enable_http_client, find_host, wait_task, wait_until)

pytestmark = [pytest.mark.simulator]

HOST = "esxi-01.sim.local"


@pytest.fixture
def sim():
    s = Simulator(mode="esx", reboot_down=0.6).start()
    yield s
    s.stop()


@pytest.fixture
def host(sim):
    si = connect(sim)
    h = find_host(si, HOST)
    enable_http_client(h)
    yield h
    disconnect(si)


def scan(host, urls):
    return wait_task(host.configManager.patchManager.ScanHostPatchV2_Task(metaUrls=urls))


def statuses(result):
    return {s.id: s for s in result.status}


def test_scan_needs_http_client_ruleset(sim, depot_server):
    url = depot_server.add_bundle(real_fixture(*FLING_80U2))
    si = connect(sim)
    h = find_host(si, HOST)
    n = len(depot_server.requests)
    r = scan(h, [url])
    assert r.status == [] and "MetadataDownloadError" in r.xmlResult and "httpClient" in r.xmlResult
    assert len(depot_server.requests) == n  # blocked on the host, nothing reached the depot
    enable_http_client(h)
    r = scan(h, [url])
    assert [s.id for s in r.status] == [BULLETIN_80U2]
    disconnect(si)


def test_scan_real_flings_on_8_0u2(host, depot_server):
    u2 = depot_server.add_bundle(real_fixture(*FLING_80U2))
    u3 = depot_server.add_bundle(real_fixture(*FLING_80U3))
    before = len(depot_server.requests)
    r = scan(host, [u2, u3])
    fetched = depot_server.requests[before:]
    assert any(p.endswith("/index.xml") for p in fetched) and any(p.endswith("/metadata.zip") for p in fetched)
    st = statuses(r)
    # 8.0U2 fling: needs vmkapi_2_12_0_0, which the 8.0U2 esx-base provides
    assert st[BULLETIN_80U2].applicable and not st[BULLETIN_80U2].installed
    assert st[BULLETIN_80U2].restartRequired and st[BULLETIN_80U2].vmOffRequired
    assert st[BULLETIN_80U2].reason == []
    # 8.0U3 fling: needs vmkapi_2_13_0_0 -> not satisfiable on 8.0U2
    assert not st[BULLETIN_80U3].applicable and st[BULLETIN_80U3].reason == ["missingLib"]
    assert BULLETIN_80U2 in st[BULLETIN_80U3].supersededPatchIds
    assert r.version == "1.50"
    assert "<esxupdate-response>" in r.xmlResult and "vmkapi_2_13_0_0" in r.xmlResult
    assert re.search(r"<vib-scan-data><id>VMW_bootbank_vmkusb-nic-fling_1.12-2vmw", r.xmlResult)


def test_scan_records_and_check_form_are_real_shaped(host, depot_server):
    u2 = depot_server.add_bundle(real_fixture(*FLING_80U2))
    u3 = depot_server.add_bundle(real_fixture(*FLING_80U3))
    r = esxupdate_result(scan(host, [u2, u3]).xmlResult)
    assert r["error"] is None and r["changed"] is False and r["form"] == "esxupdate"
    by = {v["id"]: v for v in r["vibs"]}
    f2, f3 = by[VIB_80U2], by["VMW_bootbank_vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077"]
    assert f2["state"] == f3["state"] == "uninstalled"
    assert f2["maintenance_mode"] is True and f2["reboot_required"] is True and f2["hostd_restart"] is False
    need = {q["requirement"]: q for q in f3["requires"]}["vmkapi_2_13_0_0"]
    assert need["provided_by_host"] is False and need["provided_by"] == [] and f3["dependencies_met_by_host"] is False
    assert f2["dependencies_met_by_host"] is True
    assert VIB_80U2 in f3["obsoletes"]["vibs"]   # same name, higher version: implicitly replaces
    assert r["image_pending"] is False and r["vib_staged"] is False
    assert [m["url"] for m in r["metadata"]] == [u2, u3] and r["metadata"][0]["vibs"] == [VIB_80U2]
    # installing both depots would take the newest fling, which needs vmkapi_2_13_0_0: not allowed
    op = r["install_operation"]
    assert op["allowed"] is False and op["errno"] == "14" and "vmkapi_2_13_0_0" in op["errmsg"]
    c = wait_task(host.configManager.patchManager.CheckHostPatch_Task(metaUrls=[u2]))
    checked = esxupdate_result(c.xmlResult)
    assert checked["cache"] is True and [v["id"] for v in checked["vibs"]] == [VIB_80U2]
    assert checked["install_operation"]["allowed"] is True and checked["install_operation"]["added"] == [VIB_80U2]


def test_scan_8_0_bulletin_on_6_7_host_not_applicable(depot_server):
    topo = {"hosts": [{"name": "esx67.sim.local", "image": "esxi-6.7.0-ga.json", "http_client_enabled": True}]}
    with Simulator(mode="esx", topology=topo) as s:
        si = connect(s)
        h = find_host(si, "esx67.sim.local")
        assert h.summary.config.product.build == "8169922"
        u3 = depot_server.add_bundle(real_fixture(*FLING_80U3))
        nvme = depot_server.add_bundle(real_fixture(*NVME_670))
        usb67 = depot_server.add_bundle(real_fixture(*FLING_670))
        st = statuses(scan(h, [u3, nvme, usb67]))
        assert not st[BULLETIN_80U3].applicable and not st[BULLETIN_80U3].installed
        assert st["nvme-community-driver_1.0.1.0-1vmw.670.0.0.8169922"].applicable
        # the 6.7 USB NIC fling is "accepted" and depends on vmkapi_2_5_0_0 (provided by 6.7 esx-base)
        assert st["ESXi670-VMKUSB-NIC-FLING-39203948"].applicable
        assert len(ec.esxcli(h, "software vib list")) == 136
        disconnect(si)


def test_real_7_0u3g_image_with_87_vibs(depot_server):
    """sim/images/esxi-7.0u3g-dell.json: the VIB list of a real Dell 7.0 U3g host (public esxcli output)."""
    topo = {"hosts": [{"name": "esx70g.sim.local", "image": "esxi-7.0u3g-dell.json", "http_client_enabled": True}]}
    with Simulator(mode="esx", topology=topo) as s:
        si = connect(s)
        h = find_host(si, "esx70g.sim.local")
        assert (h.summary.config.product.version, h.summary.config.product.build) == ("7.0.3", "20328353")
        vibs = ec.esxcli(h, "software vib list")
        assert len(vibs) == 87
        by = {v["Name"]: v for v in vibs}
        assert by["esx-base"]["Version"] == "7.0.3-0.55.20328353" and by["dell-fist-util"]["Vendor"] == "DEL"
        assert by["dell-osname-idrac"]["AcceptanceLevel"] == "PartnerSupported"
        listed = esxupdate_result(wait_task(h.configManager.patchManager.ScanHostPatchV2_Task()).xmlResult)
        assert len(listed["vibs"]) == 87 and {v["state"] for v in listed["vibs"]} == {"installed"}
        # an 8.0 bulletin on a 7.0 host: refused by the (ASSUMED, 7.0+) software-platform check, no reason code
        u3 = depot_server.add_bundle(real_fixture(*FLING_80U3))
        st = statuses(scan(h, [u3]))[BULLETIN_80U3]
        assert not st.applicable and not st.installed and st.reason == []
        disconnect(si)


def test_bad_depot_scan_succeeds_with_error_element(host, depot_server):
    url = depot_server.add_bundle(real_fixture(*FLING_80U2))
    for mode in ("503", "close"):
        depot_server.set_mode(mode)
        r = scan(host, [url])
        assert r.status == []
        assert '<error errorClass="MetadataDownloadError">' in r.xmlResult
    depot_server.set_mode("ok")
    r = scan(host, [depot_server.url_for("no/such/index.xml")])
    assert "HTTP Error 404" in r.xmlResult
    with pytest.raises(vmodl.fault.InvalidArgument):
        scan(host, [""])


def test_query_is_empty_and_scan_without_metadata_lists_installed_vibs(host):
    # esx5update's "query" writes nothing (facts, "xmlResult"); a scan without metadata lists the host's VIBs
    r = wait_task(host.configManager.patchManager.QueryHostPatch_Task())
    assert r.xmlResult == "<esxupdate-response>\n<version>1.50</version>\n</esxupdate-response>\n"
    r = wait_task(host.configManager.patchManager.ScanHostPatchV2_Task())
    ids = re.findall(r"<vib-scan-data><id>([^<]+)</id><pkgstate>installed</pkgstate>", r.xmlResult)
    assert "VMware_bootbank_esx-base_8.0.2-0.0.22380479" in ids
    assert len(ids) == len(ec.esxcli(host, "software vib list"))
    res = esxupdate_result(r.xmlResult)
    assert res["error"] is None and res["image_pending"] is False and res["vib_staged"] is False
    assert {v["state"] for v in res["vibs"]} == {"installed"}


def test_install_needs_maintenance_mode_then_pending_until_reboot(sim, host, depot_server):
    url = depot_server.add_bundle(real_fixture(*FLING_80U2))
    pm = host.configManager.patchManager
    with pytest.raises(vim.fault.PlatformConfigFault) as e:
        wait_task(pm.InstallHostPatchV2_Task(metaUrls=[url]))
    assert e.value.text == "/usr/sbin/esxupdate returned with exit status: 18"
    err = esxupdate_result(e.value.faultMessage[0].message)["error"]
    assert err["class"] == "MaintenanceModeError" and err["code"] == 18
    want = "MaintenanceMode is required to remove: []; install: [" + VIB_80U2
    assert any(m.startswith(want) for m in err["messages"])
    # --maintenancemode overrides (VMware's hostd test passes it)
    spec = vim.host.PatchManager.PatchManagerOperationSpec(cmdOption="--maintenancemode")
    r = wait_task(pm.InstallHostPatchV2_Task(metaUrls=[url], spec=spec))
    res = esxupdate_result(r.xmlResult)   # a boot-bank install: NeedsRebootResult (80), a success
    assert (res["outcome"], res["code"], res["error"], res["changed"], res["reboot_required"]) == \
        ("NeedsRebootResult", 80, None, True, True)
    assert "needs to be rebooted" in r.xmlResult and VIB_80U2 not in r.xmlResult  # no VIB lists in a real answer
    st = sim.state(HOST)
    assert VIB_80U2 in st["pending_vibs"] and VIB_80U2 not in st["current_vibs"]
    assert [v["ID"] for v in ec.esxcli(host, "software vib list", rebootingimage=True) if v["Name"] == "vmkusb-nic-fling"] == [VIB_80U2]
    assert not [v for v in ec.esxcli(host, "software vib list") if v["Name"] == "vmkusb-nic-fling"]
    s = statuses(scan(host, [url]))[BULLETIN_80U2]
    assert s.installed and s.installState == []  # installed in the pending image only
    # installing again changes nothing, and the reboot of the first install is still pending
    r = wait_task(pm.InstallHostPatchV2_Task(metaUrls=[url], spec=spec))
    res = esxupdate_result(r.xmlResult)
    assert (res["outcome"], res["changed"], res["reboot_required"]) == ("NeedsRebootResult", False, True)
    assert "Reboot is pending from previous transaction." in r.xmlResult


def test_install_reboot_then_scan_reports_installed(sim, host, depot_server):
    url = depot_server.add_bundle(real_fixture(*FLING_80U2))
    wait_task(host.EnterMaintenanceMode_Task(timeout=0))
    wait_task(host.configManager.patchManager.InstallHostPatchV2_Task(metaUrls=[url]))
    assert any(p.endswith(".vib") for p in depot_server.requests)  # the VIB itself was downloaded
    boot_before = host.runtime.bootTime
    wait_task(host.RebootHost_Task(force=False))
    # the connection drops while the host is down, the old session is gone afterwards
    wait_until(lambda: sim.state(HOST)["down"], timeout=5)
    wait_until(lambda: not sim.state(HOST)["down"], timeout=10)
    with pytest.raises(vim.fault.NotAuthenticated):
        host.name
    si = connect(sim)
    h = find_host(si, HOST)
    assert h.runtime.bootTime > boot_before
    assert h.runtime.inMaintenanceMode is True
    assert VIB_80U2 in sim.state(HOST)["current_vibs"] and sim.state(HOST)["pending_vibs"] is None
    s = statuses(scan(h, [url]))[BULLETIN_80U2]
    assert s.installed and not s.applicable and s.installState == ["imageActive", "hostRestarted"]
    disconnect(si)


def test_reboot_outside_maintenance_mode_is_invalid_state(host):
    with pytest.raises(vim.fault.InvalidState):
        host.RebootHost_Task(force=False)


def test_esx_base_update_changes_build_after_reboot(sim, host, depot_server):
    url = depot_server.make_esxi_update_depot()
    upd = depot_server.last_update
    st = statuses(scan(host, [url]))[upd["bulletin"]]
    assert st.applicable and st.restartRequired
    wait_task(host.EnterMaintenanceMode_Task(timeout=0))
    wait_task(host.configManager.patchManager.InstallHostPatchV2_Task(metaUrls=[url]))
    assert sim.state(HOST)["pending_build"] == "24022510"
    assert host.summary.config.product.build == "22380479"
    wait_task(host.RebootHost_Task(force=False))
    wait_until(lambda: sim.state(HOST)["down"], timeout=5)
    wait_until(lambda: not sim.state(HOST)["down"], timeout=10)
    si = connect(sim)
    h = find_host(si, HOST)
    p = h.summary.config.product
    assert (p.version, p.build) == ("8.0.3", "24022510")
    assert si.content.about.build == "24022510"
    assert ec.esxcli(h, "system version get")["Version"] == "8.0.3"
    # now the 8.0U3 USB NIC fling (vmkapi_2_13_0_0) becomes applicable
    u3 = depot_server.add_bundle(real_fixture(*FLING_80U3))
    assert statuses(scan(h, [u3]))[BULLETIN_80U3].applicable
    disconnect(si)


def test_stage_then_install_and_uninstall(sim, host, depot_server):
    url = depot_server.add_bundle(real_fixture(*FLING_80U2))
    pm = host.configManager.patchManager
    r = wait_task(pm.StageHostPatch_Task(metaUrls=[url]))
    assert esxupdate_result(r.xmlResult)["outcome"] == "NormalExit"   # stage writes only its exit state
    assert sim.state(HOST)["staged_vibs"] == [VIB_80U2]
    listed = esxupdate_result(wait_task(pm.ScanHostPatchV2_Task()).xmlResult)
    assert listed["vib_staged"] is True and listed["staged_vibs"] == [VIB_80U2]
    assert sim.state(HOST)["pending_vibs"] is None
    wait_task(host.EnterMaintenanceMode_Task(timeout=0))
    n = len(depot_server.requests)
    r = wait_task(pm.InstallHostPatchV2_Task())  # no URLs: installs what was staged
    assert esxupdate_result(r.xmlResult)["code"] == 80 and depot_server.requests[n:] == []
    assert VIB_80U2 in sim.state(HOST)["pending_vibs"]
    assert sim.state(HOST)["staged_vibs"] == []
    with pytest.raises(vmodl.fault.InvalidArgument):
        wait_task(pm.InstallHostPatchV2_Task())  # nothing staged any more
    r = wait_task(pm.UninstallHostPatch_Task(bulletinIds=[BULLETIN_80U2]))
    assert esxupdate_result(r.xmlResult)["outcome"] == "NeedsRebootResult"
    assert VIB_80U2 not in (sim.state(HOST)["pending_vibs"] or [])


def test_newer_fling_upgrades_older_one_with_base_update(sim, host, depot_server):
    u2 = depot_server.add_bundle(real_fixture(*FLING_80U2))
    u3 = depot_server.add_bundle(real_fixture(*FLING_80U3))
    base = depot_server.make_esxi_update_depot()
    wait_task(host.EnterMaintenanceMode_Task(timeout=0))
    pm = host.configManager.patchManager
    wait_task(pm.InstallHostPatchV2_Task(metaUrls=[u2]))
    # one transaction: esx-base 8.0.3 provides vmkapi_2_13_0_0 that the 8.0U3 fling needs;
    # the newest vmkusb-nic-fling replaces the 8.0U2 one
    r = wait_task(pm.InstallHostPatchV2_Task(metaUrls=[base, u2, u3]))
    assert esxupdate_result(r.xmlResult)["code"] == 80
    pending = sim.state(HOST)["pending_vibs"]
    assert "VMW_bootbank_vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077" in pending and VIB_80U2 not in pending
    assert sim.state(HOST)["pending_version"] == "8.0.3"
    st = statuses(scan(host, [u2]))[BULLETIN_80U2]
    # scanned against the pending 8.0.3 image: a newer fling is there, and vmkapi_incompat_2_12_0_0 is gone
    assert not st.applicable and st.reason == ["obsoleted", "missingLib"]


def test_older_fling_is_missing_lib_on_newer_update(host, depot_server):
    # the 8.0U1 fling needs vmkapi_incompat_2_11_0_0; 8.0U2 only provides vmkapi_incompat_2_12_0_0
    u1 = depot_server.add_bundle(real_fixture(*FLING_80U1))
    st = statuses(scan(host, [u1]))["VMware-vmkusb-nic-fling_1.12-1vmw.801.0.0.64098092"]
    assert st.reason == ["missingLib"]


def test_missing_dependency_fails_install(sim, host, depot_server):
    u3 = depot_server.add_bundle(real_fixture(*FLING_80U3))
    wait_task(host.EnterMaintenanceMode_Task(timeout=0))
    with pytest.raises(vim.fault.PlatformConfigFault) as e:
        wait_task(host.configManager.patchManager.InstallHostPatchV2_Task(metaUrls=[u3]))
    assert e.value.text == "/usr/sbin/esxupdate returned with exit status: 14"
    err = esxupdate_result(e.value.faultMessage[0].message)["error"]
    assert err["class"] == "DependencyError" and err["code"] == 14
    assert ("VIB VMW_bootbank_vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077 requires vmkapi_2_13_0_0, but the "
            "requirement cannot be satisfied within the ImageProfile.") in err["messages"]
    assert sim.state(HOST)["pending_vibs"] is None


def test_scan_timing_is_async_with_task_delay(depot_server):
    url = depot_server.add_bundle(real_fixture(*FLING_80U2))
    with Simulator(mode="esx", task_delay=0.5, topology={"hosts": [{"name": HOST, "http_client_enabled": True}]}) as s:
        si = connect(s)
        h = find_host(si, HOST)
        t0 = time.time()
        task = h.configManager.patchManager.ScanHostPatchV2_Task(metaUrls=[url])
        assert task.info.state in ("queued", "running")
        assert task.info.descriptionId == "host.PatchManager.ScanV2"
        wait_task(task)
        assert time.time() - t0 >= 0.45
        disconnect(si)


def test_depot_url_forms(host, depot_server):
    """index.xml, vendor-index.xml, metadata.zip directly and an offline bundle .zip all work."""
    index = depot_server.add_bundle(real_fixture(*FLING_80U2), "forms")
    base = index.rsplit("/", 1)[0]
    bundle = depot_server.add_file(real_fixture(*FLING_80U2), "forms-bundle.zip")
    for url in (index, base + "/vendor-index.xml", base + "/metadata.zip", bundle):
        r = scan(host, [url])
        assert [s.id for s in r.status] == [BULLETIN_80U2], (url, r.xmlResult[:300])
    # the same through esxcli, and an install straight from the bundle zip fetches no separate .vib
    n = len(depot_server.requests)
    res = ec.esxcli(host, "software vib install", depot=[bundle], dryrun=True)
    assert res["VIBsInstalled"] == VIB_80U2 and depot_server.requests[n:] == ["/forms-bundle.zip"]


def test_legacy_vendor_named_metadata_zip(host, depot_server):
    """V-Front bundles name the metadata zip <Vendor>-...-metadata.zip and put the VIB at the root."""
    url = depot_server.add_bundle(real_fixture("money114__ESXI-Customized-Drives", "6.7u3", "sata-xahci-1.42-1-offline_bundle.zip"))
    r = scan(host, [url])
    st = statuses(r)["sata-xahci-1.42-1"]
    # bulletin platforms embeddedEsx 5.* / 6.* do not match 8.0.2
    assert not st.applicable and not st.installed
