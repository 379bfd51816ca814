# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ImageConfigManager wrappers and esxcli over ExecuteSoap (ESXi directly and through vCenter)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import EsxcliError, InputError, VSphereError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Vib
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import esxcli as _esxcli
from tests.simulator.fixtures import real_fixture
from tests.simulator.util import FLING_80U2, GHETTOVCB_VIB, VIB_80U2

from tests.integration.client.client_sim_helpers import HOST

pytestmark = [pytest.mark.simulator]


# ---- ImageConfigManager ------------------------------------------------------------------------------

def test_acceptance_get_set_roundtrip(client, host, sim):
    start = client.acceptance_get(host)
    assert start == "partner"
    r = client.acceptance_set(host, "community")
    assert r == {"changed": True, "before": "partner", "after": "community"}
    assert sim.state(HOST)["acceptance"] == "community"
    assert client.acceptance_set(host, "CommunitySupported")["changed"] is False
    assert client.acceptance_set(host, "vmware_accepted")["after"] == "accepted"
    assert sim.state(HOST)["acceptance"] == "vmware_accepted"
    with pytest.raises(InputError):
        client.acceptance_set(host, "trusted")
    client.acceptance_set(host, start)


def test_image_profile_install_date_packages(client, host, sim):
    truth = sim.state(HOST)
    prof = client.image_profile(host)
    assert prof["name"] == truth["profile"] and prof["vendor"]
    assert client.install_date(host)[:10] == truth["install_date"][:10]
    pkgs = client.software_packages(host)
    json.dumps(pkgs)
    ids = [p["id"] for p in pkgs]
    assert sorted(ids) == sorted(truth["current_vibs"])
    base = [p for p in pkgs if p["name"] == "esx-base"][0]
    assert base["acceptance_level"] == "certified" and base["type"] == "bootbank"
    assert {"name": "vsan", "relation": ">=", "version": "8.0.2-0.0"} in base["depends"]
    assert {"name": "esx-version", "version": truth["version"] + "-0.0." + truth["build"]} in base["provides"]
    vibs = client.software_vibs(host)
    assert all(isinstance(v, Vib) for v in vibs) and sorted(v.id for v in vibs) == sorted(ids)


# ---- esxcli ------------------------------------------------------------------------------------------

def test_declare_reflect_types_is_idempotent():
    a = _esxcli.declare_reflect_types()
    b = _esxcli.declare_reflect_types()
    assert a == b


def test_generic_run_and_version(client, host, sim):
    truth = sim.state(HOST)
    raw = client.esxcli.run(host, "system version get")
    assert raw["Product"] == "VMware ESXi" and raw["Build"] == "Releasebuild-" + truth["build"]
    v = client.esxcli.system_version_get(host)
    assert (v["version"], v["build"], v["update"]) == (truth["version"], truth["build"], truth["update"])
    assert client.esxcli.run(host, "system maintenanceMode get") in ("Enabled", "Disabled")
    with pytest.raises(EsxcliError) as ei:
        client.esxcli.run(host, "software vib frobnicate")
    assert ei.value.details["command"] == "software vib frobnicate" and ei.value.host == host.label


def test_vib_list_and_get(client, host, sim):
    listed = client.esxcli.vib_list(host)
    assert sorted(v["id"] for v in listed) == sorted(sim.state(HOST)["current_vibs"])
    assert client.esxcli.vib_list(host, rebooting_image=True) == []        # nothing pending
    full = client.esxcli.vib_get(host, vibname="esx-base")
    assert len(full) == 1 and full[0]["summary"] and full[0]["depends"]
    with pytest.raises(EsxcliError) as ei:
        client.esxcli.vib_get(host, vibname="nosuchvib")
    assert ei.value.details["error_class"] == "NoMatchError"
    assert str(ei.value).startswith("host %s: esxcli software vib get: [NoMatchError]" % host.label)


def test_acceptance_and_profile_via_esxcli(client, host, sim):
    assert client.esxcli.acceptance_get(host) == "partner"
    assert client.esxcli.acceptance_set(host, "accepted") == "accepted"
    assert sim.state(HOST)["acceptance"] == "vmware_accepted"
    assert client.esxcli.acceptance_set(host, "partner") == "partner"
    prof = client.esxcli.profile_get(host)
    assert prof["name"] == sim.state(HOST)["profile"] and prof["vib_ids"] and prof["acceptance_level"]


def test_gueststore_set_get_clear_with_escaping(client, host, sim):
    url = "ds:///vmfs/volumes/5f1e-abc/Guest Store/a&b<c>"
    assert client.esxcli.gueststore_set(host, url) == url
    assert sim.state(HOST)["gueststore_url"] == url
    assert client.esxcli.gueststore_get(host) == url
    assert client.esxcli.gueststore_clear(host) == ""
    assert sim.state(HOST)["gueststore_url"] == ""
    with pytest.raises(EsxcliError):
        client.esxcli.gueststore_set(host, "http://not-a-datastore/x")
    with pytest.raises(InputError):
        client.esxcli.gueststore_set(host, None)


def test_vib_install_update_remove_and_profile_update(client, host, sim, depot_server):
    fling = depot_server.add_bundle(real_fixture(*FLING_80U2))
    with client.ruleset_open(host):
        srcs = client.esxcli.sources_vib_list(host, depot=[fling])
        assert [v["id"] for v in srcs] == [VIB_80U2]
        dry = client.esxcli.vib_install(host, depot=[fling], dryrun=True)
        assert dry["dryrun"] and not dry["changed"] and dry["vibs_installed"] == [VIB_80U2]
        assert sim.state(HOST)["pending_vibs"] is None
        res = client.esxcli.vib_install(host, depot=[fling], maintenancemode=True)
        assert res["changed"] and res["reboot_required"] and res["vibs_installed"] == [VIB_80U2]
        assert VIB_80U2 in sim.state(HOST)["pending_vibs"]
        assert VIB_80U2 in [v["id"] for v in client.esxcli.vib_list(host, rebooting_image=True)]
        again = client.esxcli.vib_update(host, depot=[fling])
        assert not again["changed"] and again["vibs_skipped"] == [VIB_80U2]
        rem = client.esxcli.vib_remove(host, vibname="vmkusb-nic-fling", maintenancemode=True)
        assert VIB_80U2 in rem["vibs_removed"]
        with pytest.raises(InputError):
            client.esxcli.vib_install(host)
        upd_url = depot_server.make_esxi_update_depot()
        upd = depot_server.last_update
        profs = client.esxcli.sources_profile_list(host, depot=[upd_url])
        assert [p["name"] for p in profs] == [upd["profile"]]
        with pytest.raises(EsxcliError) as ei:
            client.esxcli.profile_update(host, depot=[upd_url], profile="nope")
        assert ei.value.details["error_class"] == "NoMatchError"
        pu = client.esxcli.profile_update(host, depot=[upd_url], profile=upd["profile"], dryrun=True)
        assert pu["dryrun"] and sorted(pu["vibs_installed"]) == sorted(upd["vibs"])
    with pytest.raises(EsxcliError) as ei:      # firewall closed again: the host cannot reach the depot
        client.esxcli.vib_install(host, depot=[fling], dryrun=True)
    assert ei.value.details["error_class"] == "MetadataDownloadError"


def test_viburl_dryrun_noliveinstall(client, host, depot_server):
    vib_url = depot_server.add_file(real_fixture(*GHETTOVCB_VIB), "ghetto/ghettoVCB.vib")
    with client.ruleset_open(host):
        with pytest.raises(EsxcliError) as ei:
            client.esxcli.vib_install(host, viburl=[vib_url], dryrun=True)
        assert ei.value.details["error_class"] == "AcceptanceConfigError"
        client.esxcli.acceptance_set(host, "community")
        try:
            res = client.esxcli.vib_install(host, viburl=[vib_url], dryrun=True, noliveinstall=True)
            assert res["dryrun"] and res["vibs_installed"] == ["virtuallyGhetto_bootbank_ghettoVCB_1.0.0-0.0.0"]
        finally:
            client.esxcli.acceptance_set(host, "partner")


def test_esxcli_depot_unreachable_fault(client, host, sim, depot_server):
    fling = depot_server.add_bundle(real_fixture(*FLING_80U2))
    sim.fault(HOST, "depot_unreachable")
    with client.ruleset_open(host):
        with pytest.raises(EsxcliError) as ei:
            client.esxcli.vib_install(host, depot=[fling], dryrun=True)
    assert "No route to host" in str(ei.value)


def test_esxcli_on_a_lost_session_is_a_clear_error(sim):
    from tests.integration.client.client_sim_helpers import connect
    c = connect(sim)
    h = c.host(HOST)
    c.esxcli.system_version_get(h)
    c._content.sessionManager.Logout()
    with pytest.raises(VSphereError) as ei:
        c.esxcli.system_version_get(h)
    assert ei.value.details.get("session_lost") or "not authenticated" in str(ei.value).lower()
    c.ensure_session()
    assert c.esxcli.system_version_get(h)["product"] == "VMware ESXi"   # executer re-fetched for the new session
    c.close()
