# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_resolve: set checks, composition, host plans and diffs on constructed models (one test per rule)."""

from __future__ import annotations

from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder import resolve as R
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Relation

from tests.unit.validate.validate_helpers import esx_base, mkvib


def types(findings):
    return sorted((f.type, f.severity, f.vib) for f in findings)


# ---- validate_set ------------------------------------------------------------------------------------------
def test_clean_set_has_no_finding():
    base, _ = esx_base()
    drv = mkvib("net-foo", depends=["vmkapi_2_3_0_0", ("esx-version", "=", "6.7.0"), ("esx-base", ">=", "6.7.0-0.0")])
    assert R.validate_set([base, drv], "certified") == []


def test_missing_dependency_names_vib_constraint_and_catalog_providers():
    base, _ = esx_base(provides=("vmkapi_2_3_0_0",))
    drv = mkvib("net-foo", depends=["vmkapi_2_5_0_0"])
    other = mkvib("esx-base-next", provides=["vmkapi_2_5_0_0"])
    f = R.validate_set([base, drv], catalog=R.VibIndex([base, drv, other]))
    assert types(f) == [("missing_dependency", "error", drv.id)]
    assert "vmkapi_2_5_0_0" in f[0].detail
    assert f[0].related == (other.id,)


def test_versioned_depends_uses_relation_against_provide_version():
    base, _ = esx_base("6.7.0-0.0.8169922")
    ok = mkvib("a", depends=[("esx-version", ">=", "6.6.0"), ("esx-version", "<=", "6.7.0")])
    too_new = mkvib("b", depends=[("esx-version", ">=", "7.0.0")])
    f = R.validate_set([base, ok, too_new])
    assert types(f) == [("missing_dependency", "error", too_new.id)]


def test_unversioned_provide_satisfies_only_unversioned_constraint():
    prov = mkvib("p", provides=["com.vmware.driverAPI-9.2.3.0"])
    plain = mkvib("a", depends=["com.vmware.driverAPI-9.2.3.0"])
    versioned = mkvib("b", depends=[("com.vmware.driverAPI-9.2.3.0", ">=", "1.0")])
    f = R.validate_set([prov, plain, versioned])
    assert types(f) == [("missing_dependency", "error", versioned.id)]


def test_own_name_and_version_satisfy_depends_window():
    # esx-base depends on vsan >= 6.7.0-0.0 and << 6.7.0-0.1 (real constraints)
    vsan = mkvib("vsan", "6.7.0-0.0.8169922")
    base = mkvib("esx-base", "6.7.0-0.0.8169922",
                 depends=[("vsan", ">=", "6.7.0-0.0"), ("vsan", "<<", "6.7.0-0.1")])
    assert R.validate_set([vsan, base]) == []
    vsan_u1 = mkvib("vsan", "6.7.0-1.28.1")
    f = R.validate_set([vsan_u1, base])
    assert types(f) == [("missing_dependency", "error", base.id)]
    assert "vsan << 6.7.0-0.1" in f[0].detail


def test_conflict_with_version_relation():
    # esx-base 6.7 conflicts with misc-drivers << 5.5.0 (real)
    base = mkvib("esx-base", "6.7.0-0.0.8169922", conflicts=[("misc-drivers", "<<", "5.5.0")])
    old = mkvib("misc-drivers", "5.1.0-0.0.799733")
    new = mkvib("misc-drivers", "5.5.0-0.0.1331820")
    f = R.validate_set([base, old])
    assert types(f) == [("conflict", "error", base.id)]
    assert f[0].related == (old.id,)
    assert R.validate_set([base, new]) == []


def test_conflict_matches_provided_names_but_never_itself():
    a = mkvib("a", conflicts=["virtual-x"], provides=["virtual-x"])
    assert R.validate_set([a]) == []
    b = mkvib("b", provides=["virtual-x"])
    assert types(R.validate_set([a, b])) == [("conflict", "error", a.id)]


def test_duplicate_name():
    a1 = mkvib("a", "1.0-1")
    a2 = mkvib("a", "1.1-1")
    f = R.validate_set([a1, a2])
    assert types(f) == [("duplicate_name", "error", a2.id)]
    assert f[0].related == (a1.id,)


def test_replaced_vib_still_in_set_is_a_warning():
    new = mkvib("esx-base", replaces=["esx-tboot"])
    old = mkvib("esx-tboot")
    f = R.validate_set([new, old])
    assert types(f) == [("replaced", "warning", old.id)]
    assert f[0].related == (new.id,)


def test_replaces_honours_relation():
    new = mkvib("emulex-cli", replaces=[("emulex-esx-elxnetcli", "<<", "11.1.28.1")])
    old = mkvib("emulex-esx-elxnetcli", "11.1.28.0-1")
    newer = mkvib("emulex-esx-elxnetcli", "11.1.28.1-1")
    assert types(R.validate_set([new, old])) == [("replaced", "warning", old.id)]
    assert R.validate_set([new, newer]) == []


def test_acceptance_level_below_minimum():
    c = mkvib("c", acceptance="certified")
    p = mkvib("p", acceptance="partner")
    k = mkvib("k", acceptance="community")
    f = R.validate_set([c, p, k], "PartnerSupported")
    assert types(f) == [("acceptance_level", "error", k.id)]
    assert R.validate_set([c, p, k], None) == []
    assert R.lowest_acceptance([c, p, k]) == "community"


def test_platform_mismatch_version_is_warning_product_line_is_error():
    base, ver = esx_base("7.0.3-0.50.19482537")
    ghetto = mkvib("ghettoVCB", acceptance="community", platforms=[("embeddedEsx", "5.*")])
    fling = mkvib("fling", platforms=[("embeddedEsx", "7.0")])
    other_line = mkvib("x", platforms=[("otherProduct", "")])
    many = mkvib("y", platforms=[("embeddedEsx", "6.*"), ("embeddedEsx", "7.0.3")])
    f = R.validate_set([base, ghetto, fling, other_line, many])
    assert types(f) == [("platform_mismatch", "error", other_line.id), ("platform_mismatch", "warning", ghetto.id)]
    assert "7.0.3" in f[1].detail and "5.*" in f[1].detail
    # an explicit version overrides the esx-base one; no esx-base and no version: only product lines
    assert types(R.validate_set([fling], esx_version="8.0.3")) == [("platform_mismatch", "warning", fling.id)]
    assert R.validate_set([ghetto, fling]) == []


def test_esx_version_from_esx_base_provide():
    base, _ = esx_base("6.7.0-0.0.8169922")
    assert R.esx_version_of([base]) == "6.7.0"
    plain = mkvib("esx-base", "8.0.3-0.0.24022510")
    assert R.esx_version_of([plain]) == "8.0.3"
    assert R.esx_version_of([mkvib("x")]) is None


def test_findings_are_sorted_and_serialisable():
    a = mkvib("a", depends=["nothing"], acceptance="community")
    f = R.validate_set([a], "certified")
    assert [x.severity for x in f] == ["error", "error"]
    d = f[0].to_dict()
    assert set(d) == {"type", "severity", "vib", "detail", "related"} and isinstance(d["related"], list)


# ---- compose --------------------------------------------------------------------------------------------------
def test_compose_add_replaces_same_name_and_replaces_targets():
    base, _ = esx_base("6.7.0-0.0.8169922")
    tboot = mkvib("esx-tboot", "6.7.0-0.0.8169922")
    drv = mkvib("net-foo", "1.0-1")
    new_base, _ = esx_base("6.7.0-1.28.10302608")
    new_base.replaces = (Relation("esx-tboot"),)
    comp = R.compose([base, tboot, drv], add=[new_base])
    assert sorted(v.id for v in comp.vibs) == sorted([new_base.id, drv.id])
    assert sorted(comp.removed) == sorted([base.id, tboot.id])
    assert comp.added == [new_base.id]
    assert types(comp.findings) == sorted([("replaced", "info", base.id), ("replaced", "info", tboot.id)])
    assert "upgraded to" in [f for f in comp.findings if f.vib == base.id][0].detail


def test_compose_explicit_downgrade_and_remove():
    a2 = mkvib("a", "2.0-1")
    a1 = mkvib("a", "1.0-1")
    b = mkvib("b")
    comp = R.compose([a2, b], add=[a1], remove=[b.id])
    assert [v.id for v in comp.vibs] == [a1.id]
    assert "downgraded to" in comp.findings[0].detail
    assert sorted(comp.removed) == sorted([b.id, a2.id])


def test_compose_keeps_newest_of_added_same_name():
    a1 = mkvib("a", "1.0-1")
    a2 = mkvib("a", "2.0-1")
    comp = R.compose([], add=[a2, a1])
    assert [v.id for v in comp.vibs] == [a2.id]
    assert types(comp.findings) == [("replaced", "info", a1.id)]


# ---- apply_candidates -----------------------------------------------------------------------------------------
def _host():
    base, _ = esx_base("6.7.0-0.0.8169922", provides=("vmkapi_2_3_0_0", "vmkapi_2_5_0_0"))
    drv = mkvib("net-foo", "1.0-1vmw.670", depends=["vmkapi_2_3_0_0"], live_install=True, live_remove=True,
                maintenance=False)
    old_cli = mkvib("elxnetcli", "11.1.28.0-1")
    return base, drv, old_cli


def test_apply_upgrades_skips_and_replaces():
    base, drv, old_cli = _host()
    drv_new = mkvib("net-foo", "1.1-1vmw.670", depends=["vmkapi_2_3_0_0"], live_install=True, live_remove=True,
                    maintenance=False)
    drv_newest = mkvib("net-foo", "1.2-1vmw.670", depends=["vmkapi_2_3_0_0"], live_install=True,
                       live_remove=True, maintenance=False)
    drv_same = drv
    cli = mkvib("esxcli-tools", "12.0-1", replaces=[("elxnetcli", "<<", "12.0")])
    plan = R.apply_candidates([base, drv, old_cli], [drv_new, drv_newest, drv_same, cli], "certified")
    assert sorted(v.id for v in plan.install) == sorted([drv_newest.id, cli.id])
    assert sorted(v.id for v in plan.remove) == sorted([drv.id, old_cli.id])
    assert plan.replaces[cli.id] == [old_cli.id]
    reasons = {s.vib.id: s.reason for s in plan.skipped}
    assert reasons == {drv_new.id: "superseded_by_candidate", drv_same.id: "superseded_by_candidate"}
    assert plan.ok and plan.changed
    assert plan.requirements.reboot_required and plan.requirements.maintenance_mode_required
    assert plan.requirements.reboot_vibs == tuple(sorted([cli.id, old_cli.id]))
    assert sorted(f.type for f in plan.findings) == ["replaced", "replaced"]
    d = plan.to_dict()
    assert d["install"] == sorted([drv_newest.id, cli.id]) and d["requirements"]["reboot_required"] is True


def test_apply_already_installed_older_and_replaced_by_installed():
    base, drv, old_cli = _host()
    older = mkvib("net-foo", "0.9-1vmw.670")
    tboot = mkvib("esx-tboot", "6.5.0-0.0.1")
    base.replaces = (Relation("esx-tboot"),)
    plan = R.apply_candidates([base, drv, old_cli], [drv, tboot])
    assert {s.vib.id: s.reason for s in plan.skipped} == {drv.id: "already_installed",
                                                         tboot.id: "replaced_by_installed"}
    assert not plan.changed and plan.requirements.reboot_required is False
    plan = R.apply_candidates([base, drv, old_cli], [older])
    assert [s.reason for s in plan.skipped] == ["older_than_installed"]
    plan = R.apply_candidates([base, drv, old_cli], [older], allow_downgrade=True)
    assert [v.id for v in plan.install] == [older.id] and [v.id for v in plan.remove] == [drv.id]


def test_apply_live_install_without_reboot():
    base, drv, old_cli = _host()
    new = mkvib("tools-light", "11.0-1", vtype="locker", live_install=True, live_remove=True, maintenance=False)
    plan = R.apply_candidates([base, drv, old_cli], [new])
    assert plan.requirements.to_dict()["reboot_required"] is False
    assert plan.requirements.live_install_allowed and not plan.requirements.maintenance_mode_required


def test_apply_platform_not_applicable_and_target_version_from_new_esx_base():
    base, drv, old_cli = _host()
    d67 = mkvib("nvme-community", "1.0.1.0-1vmw.670", platforms=[("embeddedEsx", "6.7.0")])
    d70 = mkvib("nvme-community", "1.0.1.0-3vmw.700", platforms=[("embeddedEsx", "7.0.0")])
    plan = R.apply_candidates([base, drv, old_cli], [d67, d70])
    assert [v.id for v in plan.install] == [d67.id]
    assert [(s.vib.id, s.reason) for s in plan.skipped] == [(d70.id, "not_applicable")]
    assert plan.esx_version == "6.7.0"
    # with a 7.0 esx-base among the candidates the target is 7.0.0: the 7.0 driver applies instead
    base70, _ = esx_base("7.0.0-1.0.15843807", provides=("vmkapi_2_3_0_0",))
    plan = R.apply_candidates([base, drv, old_cli], [d67, d70, base70])
    assert sorted(v.id for v in plan.install) == sorted([d70.id, base70.id])
    assert plan.esx_version == "7.0.0"


def test_apply_reports_only_introduced_problems():
    base, drv, old_cli = _host()
    broken_before = mkvib("legacy", depends=["gone-api"])
    needs = mkvib("net-bar", depends=["vmkapi_9_9"], acceptance="community")
    plan = R.apply_candidates([base, drv, old_cli, broken_before], [needs], minimum_acceptance="partner")
    assert sorted(types(plan.findings)) == sorted([("missing_dependency", "error", needs.id),
                                                  ("acceptance_level", "error", needs.id)])
    assert types(plan.preexisting) == [("missing_dependency", "error", broken_before.id)]
    assert not plan.ok and plan.errors


def test_apply_removal_by_replaces_breaking_a_dependent_is_reported():
    base, drv, old_cli = _host()
    user = mkvib("cli-plugin", depends=["elxnetcli"])
    cli = mkvib("new-cli", "12.0-1", replaces=["elxnetcli"])
    plan = R.apply_candidates([base, drv, old_cli, user], [cli])
    errs = [f for f in plan.findings if f.severity == "error"]
    assert types(errs) == [("missing_dependency", "error", user.id)]


def test_candidate_replaced_by_another_candidate():
    a = mkvib("old-tool", "1.0-1")
    b = mkvib("new-tool", "2.0-1", replaces=["old-tool"])
    plan = R.apply_candidates([], [a, b])
    assert [v.id for v in plan.install] == [b.id]
    assert [(s.vib.id, s.reason, s.by) for s in plan.skipped] == [(a.id, "superseded_by_candidate", b.id)]


# ---- diff ---------------------------------------------------------------------------------------------------------
def test_diff_added_removed_upgraded_downgraded_unchanged():
    a1, a2 = mkvib("a", "1.0-1"), mkvib("a", "2.0-1")
    b2, b1 = mkvib("b", "2.0-1"), mkvib("b", "1.0-1")
    c = mkvib("c")
    d = mkvib("d")
    e = mkvib("e")
    x_vmw, x_other = mkvib("x", "1.0-1", vendor="VMW"), mkvib("x", "1.0-1", vendor="OEM")
    out = R.diff([a1, b2, c, d, x_vmw], [a2, b1, c, e, x_other])
    assert out["unchanged"] == [c.id]
    assert out["upgraded"] == [{"name": "a", "from": a1.id, "to": a2.id, "from_version": "1.0-1",
                                "to_version": "2.0-1"}]
    assert [e_["name"] for e_ in out["downgraded"]] == ["b"]
    assert out["added"] == sorted([e.id, x_other.id])
    assert out["removed"] == sorted([d.id, x_vmw.id])


def test_change_requirements_nothing_needs_nothing():
    r = R.change_requirements([], [])
    assert r.to_dict() == {"maintenance_mode_required": False, "reboot_required": False,
                           "live_install_allowed": True, "cimom_restart": False, "maintenance_mode_vibs": [],
                           "reboot_vibs": []}


def test_large_synthetic_set_is_consistent():
    # 2,000 VIBs, each depending on a virtual API its neighbour provides: valid; then break one provider
    vibs = []
    for i in range(2000):
        vibs.append(mkvib("drv-%04d" % i, "1.%d-1" % i, provides=[("api-%04d" % i, "1.%d" % i)],
                          depends=[("api-%04d" % ((i + 1) % 2000), ">=", "1.0")],
                          conflicts=[("drv-%04d" % ((i + 7) % 2000), "<<", "1.0")]))
    assert R.validate_set(vibs) == []
    broken = vibs[:1000] + vibs[1001:]
    f = R.validate_set(broken)
    assert types(f) == [("missing_dependency", "error", vibs[999].id)]
