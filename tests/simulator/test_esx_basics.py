"""Standalone ESXi simulator: TLS, login, inventory, ImageConfigManager, esxcli read commands."""
import ssl

import pytest
from pyVim.connect import SmartConnect
from pyVmomi import vim

from tests.simulator import esxcli_helper as ec
from tests.simulator.util import connect, disconnect, find_host

pytestmark = [pytest.mark.simulator]

HOST = "esxi-01.sim.local"


@pytest.fixture(scope="module")
def si(esx_sim):
    si = connect(esx_sim)
    yield si
    disconnect(si)


@pytest.fixture(scope="module")
def host(si):
    return find_host(si, HOST)


def test_tls_is_validated_with_the_harness_ca(esx_sim):
    # the harness CA validates the certificate (hostname 127.0.0.1 is in the SAN)
    si = SmartConnect(host=esx_sim.host, port=esx_sim.port, user=esx_sim.user, pwd=esx_sim.password,
                      sslContext=ssl.create_default_context(cafile=esx_sim.ca_file))
    assert si.content.about.productLineId == "embeddedEsx"
    disconnect(si)
    # an unrelated trust store rejects it
    with pytest.raises(ssl.SSLError):
        SmartConnect(host=esx_sim.host, port=esx_sim.port, user=esx_sim.user, pwd=esx_sim.password,
                     sslContext=ssl.create_default_context())


def test_wrong_password_is_invalid_login(esx_sim):
    with pytest.raises(vim.fault.InvalidLogin):
        connect(esx_sim, pwd="wrong")
    with pytest.raises(vim.fault.InvalidLogin):
        connect(esx_sim, user="admin")


def test_host_name_product_and_about(si, host):
    assert host.name == HOST
    assert host.summary.config.name == HOST
    p = host.summary.config.product
    assert (p.version, p.build) == ("8.0.2", "22380479")
    assert p.fullName == "VMware ESXi 8.0.2 build-22380479"
    assert p.productLineId == "embeddedEsx" and p.apiType == "HostAgent"
    about = si.content.about
    assert (about.version, about.build) == ("8.0.2", "22380479")


def test_manager_morefs(host):
    assert host.configManager.patchManager._moId == "ha-host-patch-manager"
    assert host.configManager.imageConfigManager._moId == "ha-image-config-manager"


def test_acceptance_level_get_set_and_invalid(host):
    icm = host.configManager.imageConfigManager
    assert icm.HostImageConfigGetAcceptance() == "partner"
    icm.UpdateHostImageAcceptanceLevel(newAcceptanceLevel="vmware_accepted")
    assert icm.HostImageConfigGetAcceptance() == "vmware_accepted"
    with pytest.raises(vim.fault.HostConfigFault):
        icm.UpdateHostImageAcceptanceLevel(newAcceptanceLevel="bogus")
    icm.UpdateHostImageAcceptanceLevel(newAcceptanceLevel="partner")
    assert icm.HostImageConfigGetAcceptance() == "partner"


def test_profile_and_software_packages(host):
    icm = host.configManager.imageConfigManager
    prof = icm.HostImageConfigGetProfile()
    assert prof.name == "ESXi-8.0U2-22380479-standard" and prof.vendor == "VMware, Inc."
    pkgs = {p.name: p for p in icm.FetchSoftwarePackages()}
    base = pkgs["esx-base"]
    assert base.version == "8.0.2-0.0.22380479" and base.vendor == "VMware"
    assert base.acceptanceLevel == "vmware_certified"
    assert base.maintenanceModeRequired is True
    assert base.capability.liveInstallAllowed is False
    assert {(r.name, r.constraint, r.version) for r in base.depends} == {
        ("vsan", "greaterThanEqual", "8.0.2-0.0"), ("vsan", "lessThan", "8.0.2-0.1")}
    assert "esx-version = 8.0.2-0.0.22380479" in base.provides
    assert base.creationDate is not None
    assert pkgs["esx-ui"].capability.liveInstallAllowed is True
    assert pkgs["tools-light"].type == "tools"
    assert icm.InstallDate().year == 2023


def test_esxcli_system_version_and_vib_list(host):
    ver = ec.esxcli(host, "system version get")
    assert ver == {"Build": "Releasebuild-22380479", "Patch": "0", "Product": "VMware ESXi", "Update": "2",
                   "Version": "8.0.2"}
    vibs = ec.esxcli(host, "software vib list")
    by_name = {v["Name"]: v for v in vibs}
    assert by_name["esx-base"]["ID"] == "VMware_bootbank_esx-base_8.0.2-0.0.22380479"
    assert by_name["esx-base"]["AcceptanceLevel"] == "VMwareCertified"
    assert len(vibs) == 7


def test_esxcli_vib_get_and_no_match(host):
    got = ec.esxcli(host, "software vib get", vibname="esx-ui")
    assert len(got) == 1
    assert got[0]["LiveInstallAllowed"] == "True" and got[0]["Depends"] == "esx-version >= 5.0.0"
    with pytest.raises(ec.EsxcliFault) as e:
        ec.esxcli(host, "software vib get", vibname="no-such-vib")
    assert "[NoMatchError]" in e.value.detail


def test_esxcli_acceptance_and_profile(host):
    assert ec.esxcli(host, "software acceptance get") == "PartnerSupported"
    assert "VMwareAccepted" in ec.esxcli(host, "software acceptance set", level="VMwareAccepted")
    assert host.configManager.imageConfigManager.HostImageConfigGetAcceptance() == "vmware_accepted"
    with pytest.raises(ec.EsxcliFault):
        ec.esxcli(host, "software acceptance set", level="Bogus")
    ec.esxcli(host, "software acceptance set", level="PartnerSupported")
    prof = ec.esxcli(host, "software profile get")
    assert prof["Name"] == "ESXi-8.0U2-22380479-standard"
    assert "esx-base 8.0.2-0.0.22380479" in prof["VIBs"]   # "name version" strings (facts, "esxcli output")
    pending = ec.esxcli(host, "software profile get", rebootingimage=True)
    assert pending["Name"] == "No pending image profile available." and pending["Vendor"] == "N/A"
    assert not pending.get("VIBs")


def test_esxcli_gueststore_set_get_clear(esx_sim, host):
    url = "ds:///vmfs/volumes/5f1e-abc/GuestStore"
    assert ec.esxcli(host, "system settings gueststore repository set", url=url) == "true"
    assert ec.esxcli(host, "system settings gueststore repository get") == {"URL": url}
    assert esx_sim.state(HOST)["gueststore_url"] == url
    with pytest.raises(ec.EsxcliFault):
        ec.esxcli(host, "system settings gueststore repository set", url="http://example.com/x")
    ec.esxcli(host, "system settings gueststore repository set", url="")
    assert ec.esxcli(host, "system settings gueststore repository get") == {"URL": ""}


def test_firewall_http_client_ruleset(esx_sim, host):
    fw = host.configManager.firewallSystem

    def enabled():
        return {r.key: r.enabled for r in fw.firewallInfo.ruleset}["httpClient"]
    assert enabled() is False  # ESXi default
    fw.EnableRuleset(id="httpClient")
    assert enabled() is True and esx_sim.state(HOST)["http_client_enabled"] is True
    rs = {r["Name"]: r["Enabled"] for r in ec.esxcli(host, "network firewall ruleset list")}
    assert rs["httpClient"] == "true"
    fw.DisableRuleset(id="httpClient")
    assert enabled() is False
    with pytest.raises(vim.fault.NotFound):
        fw.EnableRuleset(id="noSuchRuleset")


def test_datastore_url_and_log_user_event(si, host):
    ds = [d for d in host.datastore if d.name == "datastore1"][0]
    assert ds.summary.url.startswith("ds:///vmfs/volumes/") and ds.summary.url.endswith("/")
    em = si.content.eventManager
    em.LogUserEvent(entity=host, msg="fleetpatch: test event")
    collector = em.CreateCollectorForEvents(filter=vim.event.EventFilterSpec(
        entity=vim.event.EventFilterSpec.ByEntity(entity=host, recursion="self")))
    events = collector.latestPage
    collector.DestroyCollector()
    assert any(isinstance(e, vim.event.GeneralUserEvent) and e.message == "fleetpatch: test event" for e in events)
