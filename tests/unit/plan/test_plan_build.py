# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dependency-aware scan classification and deploy plans on the real USB NIC fling / nvme / V-Front bundles,
host inventories of the simulator images (real 6.7.0 GA image database) and the synthetic ESXi 8.0.3 update."""

from __future__ import annotations

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import plan as _plan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import classify as _scan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError

from plan_helpers import (B_80U1, B_80U2, B_80U3, B_80U3_7, FLING_670, FLING_80U1, FLING_80U2, FLING_80U3,
                          FLING_80U3_7, NVME_670, SATA_XAHCI, V_80U2, V_80U3_7, esx67_vibs, image_vibs, update_depot)

FLINGS_80 = [FLING_80U1, FLING_80U2, FLING_80U3, FLING_80U3_7]


def ids(entries):
    return [e["id"] for e in entries]


@pytest.fixture(scope="module")
def upd(tmp_path_factory):
    return update_depot(tmp_path_factory.mktemp("upd"))


@pytest.fixture(scope="module")
def flings():
    return load_depot(FLINGS_80)


@pytest.fixture(scope="module")
def flings_and_update(upd):
    return load_depot(FLINGS_80 + [upd[0]])


@pytest.fixture(scope="module")
def host80():
    return image_vibs("esxi-8.0u2.json")


def classify(depot, inv, version="8.0.2", level="partner"):
    return _scan.classify(depot, inv, "embeddedEsx", version, level)


# ---- scan: dependencies as the host's scan checks them ------------------------------------------------------

def test_only_the_fling_built_for_the_host_api_is_missing(flings, host80):
    g = classify(flings, host80)
    assert ids(g["missing"]) == [B_80U2]
    assert g["missing"][0]["needs"] == []
    na = {e["id"]: e["reason"] for e in g["not_applicable"]}
    assert "vmkapi_incompat_2_11_0_0" in na[B_80U1] and "missing dependency" in na[B_80U1]
    assert "vmkapi_2_13_0_0" in na[B_80U3_7]
    assert ids(g["superseded"]) == []


def test_newer_fling_needs_the_esxi_update_of_the_depot(flings_and_update, host80, upd):
    g = classify(flings_and_update, host80)
    bid = upd[1]["bulletin"]
    missing = {e["id"]: e for e in g["missing"]}
    assert sorted(missing) == sorted([B_80U2, B_80U3_7, bid])
    assert missing[B_80U3_7]["needs"] == [bid]
    assert "needs: %s" % bid in missing[B_80U3_7]["reason"]
    sup = {e["id"]: e["superseded_by"] for e in g["superseded"]}
    assert sup[B_80U3] == B_80U3_7
    # a bulletin that needs another one does not supersede a self-contained one
    assert B_80U2 not in sup


def test_installed_fling_and_host_status_mapping(flings, host80):
    inv = host80 + [flings.vibs[V_80U2]]
    g = classify(flings, inv)
    assert ids(g["installed"]) == [B_80U2]
    assert _scan.compliant(g, [B_80U2])
    hs = _scan.from_host_status(flings, [
        {"id": B_80U3_7, "applicable": False, "installed": False, "reason": ["missingPatch"]},
        {"id": B_80U1, "applicable": False, "installed": False, "reason": ["missingLib"]}])
    assert ids(hs["missing"]) == [B_80U3_7] and B_80U1 in ids(hs["not_applicable"])


def test_real_67_image_and_community_driver_acceptance():
    depot = load_depot([FLING_670, NVME_670, SATA_XAHCI])
    g = classify(depot, esx67_vibs(), version="6.7.0")
    assert ids(g["missing"]) == sorted(["ESXi670-VMKUSB-NIC-FLING-39203948",
                                        "nvme-community-driver_1.0.1.0-1vmw.670.0.0.8169922", "sata-xahci-1.42-1"])
    sata = [e for e in g["missing"] if e["id"] == "sata-xahci-1.42-1"][0]
    assert sata["acceptance_blocked"] == ["VFrontDe_bootbank_sata-xahci_1.42-1"]


# ---- plans --------------------------------------------------------------------------------------------------

def test_plan_installs_the_selected_fling(flings, host80):
    g = classify(flings, host80)
    p = _plan.build(flings, host80, g, [B_80U2], "embeddedEsx", "8.0.2", "partner", explicit=[B_80U2])
    assert p.ok and p.changed
    d = p.to_dict()
    assert d["install"] == [V_80U2] and d["remove"] == [] and d["added_dependencies"] == []
    assert [s["kind"] for s in d["steps"]] == ["install"]
    assert d["reboot_required"] and d["maintenance_mode_required"]
    assert V_80U2 in {v.id for v in p.after}


def test_plan_adds_the_esxi_update_the_new_fling_needs(flings_and_update, host80, upd):
    inv = host80 + [flings_and_update.vibs[V_80U2]]
    g = classify(flings_and_update, inv)
    p = _plan.build(flings_and_update, inv, g, [B_80U3_7], "embeddedEsx", "8.0.2", "partner", explicit=[B_80U3_7])
    assert p.ok, p.blockers
    d = p.to_dict()
    assert [a["bulletin"] for a in d["added_dependencies"]] == [upd[1]["bulletin"]]
    assert d["added_dependencies"][0]["for"] == V_80U3_7
    assert sorted(d["install"]) == sorted(upd[1]["vibs"] + [V_80U3_7])
    assert V_80U2 in d["remove"] and d["replaces"][V_80U3_7] == [V_80U2]
    assert len(d["steps"]) == 1 and d["steps"][0]["bulletins"] == [B_80U3_7, upd[1]["bulletin"]]


def test_explicit_not_applicable_is_refused_and_installed_is_skipped(flings, host80):
    inv = host80 + [flings.vibs[V_80U2]]
    g = classify(flings, inv)
    sel = [B_80U1, B_80U2, B_80U3_7]
    p = _plan.build(flings, inv, g, sel, "embeddedEsx", "8.0.2", "partner", explicit=sel)
    assert not p.ok and [b["bulletin"] for b in p.blockers] == [B_80U3_7]
    assert "vmkapi_2_13_0_0" in p.blocker_text()
    assert [(s["id"], s["reason"]) for s in p.skip] == [(B_80U1, "superseded"), (B_80U2, "installed")]
    assert not p.changed
    # the same bulletins matched by filters (not named) are only counted
    p = _plan.build(flings, inv, g, sel, "embeddedEsx", "8.0.2", "partner")
    assert p.ok and p.not_applicable_count == 1 and not p.changed


def test_excluded_dependency_is_a_blocker(flings_and_update, host80, upd):
    g = classify(flings_and_update, host80)
    p = _plan.build(flings_and_update, host80, g, [B_80U3_7], "embeddedEsx", "8.0.2", "partner",
                    exclude=[upd[1]["bulletin"]])
    types = [b["type"] for b in p.blockers]
    assert types[0] == "excluded_dependency" and set(types[1:]) == {"missing_dependency"}
    assert upd[1]["bulletin"] in p.blockers[0]["detail"]


def test_community_driver_needs_acceptance_change():
    depot = load_depot([SATA_XAHCI])
    inv = esx67_vibs()
    g = classify(depot, inv, version="6.7.0")
    p = _plan.build(depot, inv, g, ["sata-xahci-1.42-1"], "embeddedEsx", "6.7.0", "partner")
    assert [b["type"] for b in p.blockers] == ["acceptance_level"]
    assert "allow_acceptance_change" in p.blocker_text()
    p = _plan.build(depot, inv, g, ["sata-xahci-1.42-1"], "embeddedEsx", "6.7.0", "partner",
                    allow_acceptance_change=True)
    assert p.ok
    assert [(s.kind, s.acceptance) for s in p.steps] == [("acceptance", "community"), ("install", None)]
    assert p.acceptance == {"host": "partner", "required": "community", "change_to": "community"}


def test_profile_update_keeps_other_vibs_and_full_replacement_lists_them(upd, host80):
    depot = load_depot([upd[0]])
    prof = upd[1]["profile"]
    g = classify(depot, host80)
    p = _plan.build(depot, host80, g, [], "embeddedEsx", "8.0.2", "partner", profile=prof)
    assert p.ok and [s.kind for s in p.steps] == ["profile_update"]
    assert sorted(v.id for v in p.install) == sorted(upd[1]["vibs"])
    assert sorted(p.kept) == sorted(v.id for v in host80 if v.name not in ("esx-base", "vsan", "esx-ui"))
    assert p.removed_by_request == []
    p = _plan.build(depot, host80, g, [], "embeddedEsx", "8.0.2", "partner", profile=prof, allow_removal=True)
    assert p.ok and [s.kind for s in p.steps] == ["profile_update", "remove"]
    assert sorted(p.removed_by_request) == sorted(v.id for v in host80 if v.name not in ("esx-base", "vsan", "esx-ui"))
    assert set(p.removed_by_request) <= {v.id for v in p.remove}
    with pytest.raises(InputError) as e:
        _plan.build(depot, host80, g, [], "embeddedEsx", "8.0.2", "partner", profile="nope")
    assert prof in str(e.value)


def test_profile_then_bulletin_two_steps_or_one_transaction(flings_and_update, host80, upd):
    prof = upd[1]["profile"]
    g = classify(flings_and_update, host80)
    p = _plan.build(flings_and_update, host80, g, [B_80U3_7], "embeddedEsx", "8.0.2", "partner", profile=prof)
    assert p.ok and [s.kind for s in p.steps] == ["profile_update", "install"]
    assert [v.id for v in p.steps[1].install] == [V_80U3_7] and not p.merged_profile
    # with the 8.0U2 fling installed, the profile alone would leave it without vmkapi_incompat_2_12_0_0
    inv = host80 + [flings_and_update.vibs[V_80U2]]
    g = classify(flings_and_update, inv)
    p = _plan.build(flings_and_update, inv, g, [B_80U3_7], "embeddedEsx", "8.0.2", "partner", profile=prof)
    assert p.ok, p.blockers
    assert [s.kind for s in p.steps] == ["install"] and p.merged_profile and p.steps[0].profile == prof
    # the profile alone is refused before anything changes
    p = _plan.build(flings_and_update, inv, g, [], "embeddedEsx", "8.0.2", "partner", profile=prof)
    assert [b["type"] for b in p.blockers] == ["missing_dependency"] and V_80U2 in p.blocker_text()


def test_host_actions(flings, host80):
    g = classify(flings, host80)
    p = _plan.build(flings, host80, g, [B_80U2], "embeddedEsx", "8.0.2", "partner")
    a = _plan.host_actions(p, "auto", "auto")
    assert a == {"enter_maintenance_mode": True, "maintenance_mode_needed": True, "reboot": True, "blockers": []}
    assert _plan.host_actions(p, "auto", "auto", in_maintenance_mode=True)["enter_maintenance_mode"] is False
    assert _plan.host_actions(p, "auto", "never")["reboot"] is False
    never = _plan.host_actions(p, "never", "auto")
    assert never["blockers"] and "require maintenance mode" in never["blockers"][0]["detail"]
    assert _plan.host_actions(p, "never", "auto", in_maintenance_mode=True)["blockers"] == []
    staged = _plan.host_actions(p, "auto", "always", stage_only=True)
    assert staged == {"enter_maintenance_mode": False, "maintenance_mode_needed": False, "reboot": False,
                      "blockers": []}
    empty = _plan.build(flings, host80, g, [], "embeddedEsx", "8.0.2", "partner")
    assert _plan.host_actions(empty, "require", "always")["enter_maintenance_mode"] is False
