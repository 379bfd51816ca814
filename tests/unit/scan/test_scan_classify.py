"""Bulletin classification (controller engine) on small depots built from the shapes of real records."""
import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import (
    Bulletin, Depot, Platform, Relation, Vib)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import classify as _scan


def vib(name, version, vendor="VMW", platforms=(("embeddedEsx", "8.0"),), replaces=(), acceptance="certified"):
    return Vib(id=Vib.make_id(vendor, "bootbank", name, version), name=name, version=version, vendor=vendor,
               acceptance_level=acceptance, platforms=tuple(Platform(p, v) for p, v in platforms),
               replaces=tuple(replaces))


def bulletin(bid, vibs, platforms=(("embeddedEsx", "8.0"),), severity="general", category="enhancement",
             release_date="2024-06-25T07:17:37+00:00"):
    return Bulletin(id=bid, vendor="VMware", severity=severity, category=category, release_date=release_date,
                    platforms=tuple(Platform(p, v) for p, v in platforms), vib_ids=tuple(v.id for v in vibs))


def depot_of(*pairs):
    d = Depot()
    for b, vibs in pairs:
        d.bulletins[b.id] = b
        for v in vibs:
            d.vibs[v.id] = v
    return d


def group_ids(groups):
    return {g: [e["id"] for e in groups[g]] for g in groups}


# Real ids/versions from the USB NIC fling components in tests/fixtures/real (8.0 U1/U2/U3 builds).
U1 = vib("vmkusb-nic-fling", "1.12-1vmw.801.0.0.64098092")
U3 = vib("vmkusb-nic-fling", "1.14-1vmw.803.0.0.75399077")
B_U1 = bulletin("VMware-vmkusb-nic-fling_1.12-1vmw.801.0.0.64098092", [U1])
B_U3 = bulletin("VMware-vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077", [U3])
ESX_BASE_80 = vib("esx-base", "8.0.2-0.0.22380479", vendor="VMware")


def test_missing_update_and_superseded_inside_depot():
    d = depot_of((B_U1, [U1]), (B_U3, [U3]))
    g = _scan.classify(d, [ESX_BASE_80], "embeddedEsx", "8.0.2")
    ids = group_ids(g)
    assert ids["missing"] == [B_U3.id]
    assert ids["superseded"] == [B_U1.id]
    assert g["superseded"][0]["superseded_by"] == B_U3.id
    assert g["missing"][0]["is_update"] is False
    assert "new: vmkusb-nic-fling 1.14-1vmw.803.0.0.75399077" in g["missing"][0]["reason"]


def test_installed_and_superseded_by_host():
    d = depot_of((B_U1, [U1]), (B_U3, [U3]))
    g = _scan.classify(d, [ESX_BASE_80, U3], "embeddedEsx", "8.0.3")
    ids = group_ids(g)
    assert ids["installed"] == [B_U3.id]
    assert ids["superseded"] == [B_U1.id]
    assert "host has newer" in g["superseded"][0]["reason"]
    assert ids["missing"] == []


def test_update_of_older_installed_version():
    d = depot_of((B_U3, [U3]))
    g = _scan.classify(d, [U1], "embeddedEsx", "8.0.3")
    assert g["missing"][0]["is_update"] is True
    assert "1.12-1vmw.801.0.0.64098092 -> 1.14-1vmw.803.0.0.75399077" in g["missing"][0]["reason"]


def test_platform_mismatch_is_not_applicable():
    d = depot_of((B_U3, [U3]))
    g = _scan.classify(d, [], "embeddedEsx", "6.7.0")
    assert group_ids(g)["not_applicable"] == [B_U3.id]
    assert "host is embeddedEsx 6.7.0" in g["not_applicable"][0]["reason"]


def test_wildcard_platform_of_ghettovcb_applies_only_to_5x():
    gv = vib("ghettoVCB", "1.0.0-0.0.0", vendor="virtuallyGhetto", platforms=(("embeddedEsx", "5.*"),),
             acceptance="community")
    b = bulletin("ghettoVCB", [gv], platforms=(("embeddedEsx", "5.*"),))
    d = depot_of((b, [gv]))
    assert group_ids(_scan.classify(d, [], "embeddedEsx", "5.5.0"))["missing"] == ["ghettoVCB"]
    assert group_ids(_scan.classify(d, [], "embeddedEsx", "7.0.3"))["not_applicable"] == ["ghettoVCB"]


def test_replaces_on_host_supersedes():
    old = vib("net-r8168", "8.045a-napi", vendor="Realtek", acceptance="community")
    new = vib("net55-r8168", "8.045a-napi", vendor="Realtek",
              replaces=[Relation("net-r8168", "<<", "9.0")], acceptance="community")
    b_old = bulletin("old", [old])
    d = depot_of((b_old, [old]))
    g = _scan.classify(d, [new], "embeddedEsx", "8.0.0")
    assert group_ids(g)["superseded"] == ["old"]


def test_acceptance_blocked_is_reported():
    comm = vib("ghettoVCB", "1.0.0-0.0.0", vendor="virtuallyGhetto", acceptance="community")
    b = bulletin("ghettoVCB", [comm])
    g = _scan.classify(depot_of((b, [comm])), [], "embeddedEsx", "8.0.0", acceptance_level="PartnerSupported")
    assert g["missing"][0]["acceptance_blocked"] == [comm.id]


def test_select_filters():
    b1 = bulletin("A", [U1], severity="critical", category="security", release_date="2023-01-01T00:00:00+00:00")
    b2 = bulletin("B", [U3], severity="general", category="enhancement", release_date="2024-06-25T00:00:00+00:00")
    d = depot_of((b1, [U1]), (b2, [U3]))
    assert _scan.select(d) == ["A", "B"]
    assert _scan.select(d, severity=["Critical"]) == ["A"]
    assert _scan.select(d, category=["enhancement"]) == ["B"]
    assert _scan.select(d, released_after="2024-01-01") == ["B"]
    assert _scan.select(d, released_before="2023-12-31") == ["A"]
    assert _scan.select(d, exclude=["A"]) == ["B"]
    with pytest.raises(InputError) as e:
        _scan.select(d, bulletins=["A", "nope"])
    assert "nope" in str(e.value)
    with pytest.raises(InputError):
        _scan.select(d, released_after="yesterday")


def test_compliance_and_host_status_mapping():
    d = depot_of((B_U1, [U1]), (B_U3, [U3]))
    g = _scan.from_host_status(d, [
        {"id": B_U3.id, "applicable": True, "installed": False, "reason": []},
        {"id": B_U1.id, "applicable": False, "installed": False, "reason": ["obsoleted"]},
    ])
    assert group_ids(g)["missing"] == [B_U3.id]
    assert group_ids(g)["superseded"] == [B_U1.id]
    assert not _scan.compliant(g, [B_U3.id])
    assert _scan.compliant(g, [B_U1.id])


def test_inventory_digest_is_order_independent():
    assert _scan.inventory_digest([U1, U3]) == _scan.inventory_digest([U3, U1])
    assert _scan.inventory_digest([U1]) != _scan.inventory_digest([U3])
