"""esxcli software vib/profile/acceptance through ExecuteSoap, with real depots over real HTTP."""
import base64
import ssl
import urllib.error
import urllib.request

import pytest

from tests.simulator import esxcli_helper as ec
from tests.simulator.fixtures import real_fixture
from tests.simulator.harness import Simulator
from tests.simulator.util import (FLING_80U2, FLING_80U3, GHETTOVCB_2020, GHETTOVCB_VIB, VIB_80U2, connect, disconnect,
                   enable_http_client, find_host, wait_task, wait_until)

pytestmark = [pytest.mark.simulator]

HOST = "esxi-01.sim.local"
GHETTO_ID = "virtuallyGhetto_bootbank_ghettoVCB_1.0.0-0.0.0"
ATEB_BUNDLE = ("JakDaniels__ghettoVCB_VIB_build", "ghettoVCB-offline-bundle.zip")


@pytest.fixture
def sim():
    s = Simulator(mode="esx", reboot_down=0.5).start()
    yield s
    s.stop()


@pytest.fixture
def host(sim):
    si = connect(sim)
    h = find_host(si, HOST)
    enable_http_client(h)
    yield h
    disconnect(si)


def fault_of(fn, *a, **kw):
    with pytest.raises(ec.EsxcliFault) as e:
        fn(*a, **kw)
    return e.value.detail


def test_vib_install_reboot_required_outside_maintenance_mode(sim, host, depot_server):
    url = depot_server.add_bundle(real_fixture(*FLING_80U2))
    dry = ec.esxcli(host, "software vib install", depot=[url], dryrun=True)
    assert dry["Message"].startswith("Dryrun only") and dry["VIBsInstalled"] == VIB_80U2
    assert sim.state(HOST)["pending_vibs"] is None
    # esxcli help: --maintenance-mode "has no effect for reboot required remediations"
    res = ec.esxcli(host, "software vib install", depot=[url])
    assert res["Message"] == ("The update completed successfully, but the system needs to be rebooted for the "
                              "changes to be effective.")
    assert res["RebootRequired"] == "true" and res["VIBsInstalled"] == VIB_80U2
    assert VIB_80U2 in sim.state(HOST)["pending_vibs"]
    again = ec.esxcli(host, "software vib install", depot=[url])
    assert again["Message"] == "Host is not changed." and again["VIBsSkipped"] == VIB_80U2


def test_vib_update_installs_no_new_vibs(host, depot_server):
    url = depot_server.add_bundle(real_fixture(*FLING_80U2))
    res = ec.esxcli(host, "software vib update", depot=[url])
    assert res["Message"] == "Host is not changed." and res["RebootRequired"] == "false"


def test_dependency_error(host, depot_server):
    url = depot_server.add_bundle(real_fixture(*FLING_80U3))
    detail = fault_of(ec.esxcli, host, "software vib install", depot=[url])
    assert "[DependencyError]" in detail and "vmkapi_2_13_0_0" in detail


def test_acceptance_live_install_upgrade_and_remove(sim, host, depot_server):
    vib_url = depot_server.add_file(real_fixture(*GHETTOVCB_VIB), "ghetto/ghettoVCB.vib")
    # community VIB on a PartnerSupported host
    detail = fault_of(ec.esxcli, host, "software vib install", viburl=[vib_url])
    assert "[AcceptanceConfigError]" in detail and "community" in detail
    ec.esxcli(host, "software acceptance set", level="CommunitySupported")
    res = ec.esxcli(host, "software vib install", viburl=[vib_url])
    assert res["RebootRequired"] == "false" and res["Message"] == "Operation finished successfully."
    assert GHETTO_ID in sim.state(HOST)["current_vibs"]  # live install: active at once
    # the host level cannot be raised above an installed VIB
    assert "[AcceptanceConfigError]" in fault_of(ec.esxcli, host, "software acceptance set", level="PartnerSupported")
    # a newer ghettoVCB (another vendor's build, version 6.0.0) from a real offline bundle
    ateb = depot_server.add_bundle(real_fixture(*ATEB_BUNDLE), "ateb")
    res = ec.esxcli(host, "software vib update", depot=[ateb])
    assert res["VIBsInstalled"] == "Ateb_bootbank_ghettoVCB_6.0.0-0.0.3" and res["VIBsRemoved"] == GHETTO_ID
    res = ec.esxcli(host, "software vib remove", vibname=["ghettoVCB"])
    assert res["VIBsRemoved"] == "Ateb_bootbank_ghettoVCB_6.0.0-0.0.3"
    assert not [v for v in sim.state(HOST)["current_vibs"] if "ghettoVCB" in v]
    assert "[NoMatchError]" in fault_of(ec.esxcli, host, "software vib remove", vibname=["ghettoVCB"])
    ec.esxcli(host, "software acceptance set", level="PartnerSupported")


def test_bundle_zip_from_datastore_path(sim, host):
    # upload the offline bundle to datastore1 over HTTP (/folder with the session cookie), install from
    # /vmfs/volumes/datastore1/... like the public "esxcli software vib install -d /vmfs/volumes/..." procedure
    cookie = host._stub.cookie
    data = open(real_fixture(*GHETTOVCB_2020), "rb").read()
    url = "https://%s:%d/folder/bundles/ghetto.zip?dcPath=ha-datacenter&dsName=datastore1" % (sim.host, sim.port)
    req = urllib.request.Request(url, data=data, method="PUT", headers={"Cookie": cookie})
    with urllib.request.urlopen(req, context=sim.ssl_context()) as r:
        assert r.status in (200, 201, 204)
    ec.esxcli(host, "software acceptance set", level="CommunitySupported")
    res = ec.esxcli(host, "software vib install", depot=["/vmfs/volumes/datastore1/bundles/ghetto.zip"])
    assert res["VIBsInstalled"] == GHETTO_ID
    assert "MetadataDownloadError" in fault_of(ec.esxcli, host, "software vib install",
                                               depot=["/vmfs/volumes/datastore1/bundles/missing.zip"])


def test_depot_down_and_unreachable(sim, host, depot_server):
    url = depot_server.add_bundle(real_fixture(*FLING_80U2))
    depot_server.down("503")
    detail = fault_of(ec.esxcli, host, "software vib install", depot=[url])
    assert "[MetadataDownloadError]" in detail and "503" in detail
    depot_server.up()
    sim.fault(HOST, "depot_unreachable")
    n = len(depot_server.requests)
    detail = fault_of(ec.esxcli, host, "software vib install", depot=[url])
    assert "[MetadataDownloadError]" in detail and len(depot_server.requests) == n
    sim.clear_faults(HOST)
    assert ec.esxcli(host, "software vib install", depot=[url], dryrun=True)["VIBsInstalled"] == VIB_80U2


def test_profile_update_refuses_a_major_minor_downgrade(sim, host, depot_server):
    # esximage refuses a profile install/update to a lower major.minor (facts "Validation": DowngradeError)
    url = depot_server.make_esxi_update_depot(name="esxi-7.0-synthetic", version="7.0.3", build="21930508",
                                              vmkapi=9, platform="7.0")
    prof = depot_server.last_update["profile"]
    for cmd in ("software profile update", "software profile install"):
        detail = fault_of(ec.esxcli, host, cmd, depot=[url], profile=prof, allowdowngrades=True, oktoremove=True)
        assert "[DowngradeError]" in detail and "Downgrade ESXi from version 8.0 to 7.0 is not supported." in detail
    assert sim.state(HOST)["pending_vibs"] is None


def test_profile_update_keeps_other_vibs_and_reboots_into_new_build(sim, host, depot_server):
    url = depot_server.make_esxi_update_depot()
    upd = depot_server.last_update
    profiles = ec.esxcli(host, "software sources profile list", depot=[url])
    assert [p["Name"] for p in profiles] == [upd["profile"]]
    assert "[NoMatchError]" in fault_of(ec.esxcli, host, "software profile update", depot=[url], profile="nope")
    res = ec.esxcli(host, "software profile update", depot=[url], profile=upd["profile"])
    assert res["RebootRequired"] == "true"
    assert sorted(ec.as_list(res["VIBsInstalled"])) == sorted(upd["vibs"])
    st = sim.state(HOST)
    assert st["pending_build"] == "24022510"
    assert "VMW_bootbank_ntg3_4.1.10.0-4vmw.802.0.0.22380479" in st["pending_vibs"]  # not in the profile, kept
    assert ec.esxcli(host, "software profile get", rebootingimage=True)["Name"] == "(Updated) " + upd["profile"]
    wait_task(host.EnterMaintenanceMode_Task(timeout=0))
    wait_task(host.RebootHost_Task(force=False))
    wait_until(lambda: sim.state(HOST)["down"], timeout=5)
    wait_until(lambda: not sim.state(HOST)["down"], timeout=10)
    si = connect(sim)
    h = find_host(si, HOST)
    assert ec.esxcli(h, "system version get")["Build"] == "Releasebuild-24022510"
    assert h.configManager.imageConfigManager.HostImageConfigGetProfile().name == "(Updated) " + upd["profile"]
    disconnect(si)


def test_unknown_command_and_wrong_moid(host):
    mme = ec.retrieve_mme(host)
    r = mme.ExecuteSoap(moid="ha-cli-handler-software-vib", version="urn:vim25/5.0",
                        method="vim.EsxCLI.software.vib.frobnicate", argument=[])
    assert r.fault is not None
    r = mme.ExecuteSoap(moid="ha-cli-handler-wrong", version="urn:vim25/5.0",
                        method="vim.EsxCLI.software.vib.list", argument=[])
    assert r.fault is not None


def test_datastore_http_access_and_browser(sim, host):
    ctx = sim.ssl_context()
    base = "https://%s:%d/folder/iso/test.txt?dcPath=ha-datacenter&dsName=datastore1" % (sim.host, sim.port)
    # no credentials -> 401
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(base, data=b"x", method="PUT"), context=ctx)
    assert e.value.code == 401
    cookie = {"Cookie": host._stub.cookie}
    urllib.request.urlopen(urllib.request.Request(base, data=b"hello", method="PUT", headers=cookie), context=ctx)
    with urllib.request.urlopen(urllib.request.Request(base, headers=cookie), context=ctx) as r:
        assert r.read() == b"hello"
    # basic auth works as well
    token = base64.b64encode(("%s:%s" % (sim.user, sim.password)).encode()).decode()
    with urllib.request.urlopen(urllib.request.Request(base, headers={"Authorization": "Basic " + token}),
                                context=ctx) as r:
        assert r.read() == b"hello"
    ds = [d for d in host.datastore if d.name == "datastore1"][0]
    res = wait_task(ds.browser.SearchDatastore_Task(datastorePath="[datastore1] iso"))
    assert [f.path for f in res.file] == ["test.txt"]
    urllib.request.urlopen(urllib.request.Request(base, method="DELETE", headers=cookie), context=ctx)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(base, headers=cookie), context=ctx)
    assert e.value.code == 404
    assert isinstance(ssl.create_default_context(cafile=sim.ca_file), ssl.SSLContext)
