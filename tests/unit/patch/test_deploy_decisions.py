# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy decisions, case by case, against the in-memory FakeHostClient: maintenance mode enter/exit, the
stepwise dry run then apply, reboot, verify, the firewall around downloads, events and the failure report."""

from __future__ import annotations

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    FleetpatchError, PrecheckError, RebootTimeoutError, TaskFailedError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import failure_result

from tests.unit.patch.conftest import B_80U2, V_80U2, deploy_params, make_fake


def run_deploy(*args, **kw):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.deploy import run_deploy as fn
    return fn(*args, **kw)


def deploy(fake, depot, check_mode=False, **kw):
    return run_deploy(deploy_params(**kw), check_mode=check_mode, client=fake, depot=depot)


def deploy_fails(fake, depot, exc=FleetpatchError, **kw):
    partial = {"changed": False}
    with pytest.raises(exc) as e:
        run_deploy(deploy_params(**kw), partial=partial, client=fake, depot=depot)
    return e.value, failure_result(e.value, partial=partial)


def order(fake, *methods):
    """Indexes of the first call of each method (asserting the order of calls)."""
    names = fake.names()
    return [names.index(m) for m in methods]


def test_plain_deploy_enters_mm_installs_reboots_verifies_and_exits(fake, depot):
    res = deploy(fake, depot)
    h = fake.hosts["esxi-01"]
    assert res["changed"] is True
    r = res["hosts"][0]
    assert r["plan"]["install"] == [V_80U2] and r["plan"]["enter_maintenance_mode"] is True and r["plan"]["reboot"]
    assert [(s["kind"], s["status"]) for s in r["steps"]] == [("install", "applied")]
    assert r["steps"][0]["dry_run"]["bulletins"] == {B_80U2: "applicable"}
    assert r["maintenance_mode"]["entered"] is True and r["maintenance_mode"]["exited"] is True
    assert r["rebooted"] is True and r["verified"]["active"] == [V_80U2] and r["compliant"] is True
    # the dry run comes before maintenance mode; install in maintenance mode; reboot; then exit
    a, b, c, d, e = order(fake, "patch_check", "enter_maintenance_mode", "patch_install", "reboot",
                          "exit_maintenance_mode")
    assert a < b < c < d < e
    st = h.state()
    assert st["maintenance"] is False and V_80U2 in st["current_vibs"] and st["pending_vibs"] == []
    assert st["http_client_enabled"] is False                         # opened for the downloads, then restored
    assert h.events[0].startswith("fleetpatch.esxi: deploy started on esxi-01: install 1 VIB(s)")
    assert h.events[-1] == "fleetpatch.esxi: deploy finished on esxi-01: changed, rebooted"


def test_compliant_host_is_left_alone(fake, depot):
    deploy(fake, depot)
    fake.calls.clear()
    res = deploy(fake, depot)
    assert res["changed"] is False and res["hosts"][0]["steps"] == []
    touched = {"enter_maintenance_mode", "exit_maintenance_mode", "patch_install", "reboot",
               "set_firewall_ruleset", "log_user_event"}
    assert touched.isdisjoint(fake.names())


def test_check_mode_changes_nothing(fake, depot):
    res = deploy(fake, depot, check_mode=True)
    assert res["changed"] is True and res["plan"]["install"] == [V_80U2]
    st = fake.hosts["esxi-01"].state()
    assert st["maintenance"] is False and V_80U2 not in st["current_vibs"] and st["pending_vibs"] == []
    assert "enter_maintenance_mode" not in fake.names() and fake.hosts["esxi-01"].events == []


def test_maintenance_mode_never_refuses_a_vib_that_needs_it(fake, depot):
    err, res = deploy_fails(fake, depot, PrecheckError, maintenance_mode="never")
    assert "pre-check failed, nothing was changed" in res["msg"] and "maintenance_mode is never" in res["msg"]
    assert "patch_install" not in fake.names() and fake.hosts["esxi-01"].state()["maintenance"] is False


def test_reboot_never_leaves_the_vib_pending(fake, depot):
    res = deploy(fake, depot, reboot="never")
    r = res["hosts"][0]
    assert r["rebooted"] is False and r["pending_reboot"] is True
    assert r["verified"]["pending_reboot"] == [V_80U2] and r["verified"]["not_active"] == []
    assert "reboot" not in fake.names()
    st = fake.hosts["esxi-01"].state()
    assert st["pending_vibs"] and V_80U2 in st["pending_vibs"] and st["maintenance"] is False


def test_host_in_maintenance_mode_before_stays_in_it(depot):
    fake = make_fake(depot, in_maintenance_mode=True)
    res = deploy(fake, depot)
    r = res["hosts"][0]
    assert r["maintenance_mode"]["before"] is True and r["maintenance_mode"]["entered"] is False
    assert r["rebooted"] is True and fake.hosts["esxi-01"].state()["maintenance"] is True   # not ours to leave


def test_stage_only_stages_without_maintenance_mode_or_reboot(fake, depot):
    res = deploy(fake, depot, stage_only=True)
    r = res["hosts"][0]
    assert [(s["kind"], s["status"]) for s in r["steps"]] == [("install", "staged")]
    assert "patch_stage" in fake.names() and "patch_install" not in fake.names()
    assert {"reboot", "enter_maintenance_mode"}.isdisjoint(fake.names())
    assert V_80U2 in fake.hosts["esxi-01"].staged


def test_esxcli_method_dry_runs_then_installs(fake, depot):
    res = deploy(fake, depot, method="esxcli")
    r = res["hosts"][0]
    assert r["steps"][0]["dry_run"]["installed"] == [V_80U2] and r["steps"][0]["status"] == "applied"
    dry, real = [i for i, c in enumerate(fake.names()) if c == "esxcli.vib_install"]
    assert dry < fake.names().index("enter_maintenance_mode") < real
    assert V_80U2 in fake.hosts["esxi-01"].state()["current_vibs"]


def test_open_firewall_stays_open(depot):
    fake = make_fake(depot, http_client=True)
    deploy(fake, depot)
    assert fake.hosts["esxi-01"].state()["http_client_enabled"] is True


def test_closed_firewall_without_manage_firewall_warns(fake, depot):
    res = deploy(fake, depot, manage_firewall=False, method="esxcli")
    assert any("httpClient firewall ruleset is disabled" in w for w in res["warnings"])
    assert ("set_firewall_ruleset", "esxi-01") not in fake.calls


def test_refused_dry_run_changes_nothing(fake, depot):
    fake.fail("patch_check", TaskFailedError("check patches failed: MetadataDownloadError", host="esxi-01"))
    err, res = deploy_fails(fake, depot, PrecheckError)
    assert "dry run of step 1 (install) failed, nothing of this step was applied" in res["msg"]
    assert res["hosts"][0]["steps"][0]["status"] == "refused" and res["changed"] is False
    assert res["host_state"]["in_maintenance_mode"] is False and "Applied before the failure: nothing" in res["msg"]
    assert fake.hosts["esxi-01"].events[-1].startswith("fleetpatch.esxi: deploy FAILED on esxi-01: dry run")


def test_install_error_reports_state_and_keeps_maintenance_mode_by_default(fake, depot):
    fake.fail("patch_install", TaskFailedError("install patches failed: PlatformConfigFault", host="esxi-01"))
    err, res = deploy_fails(fake, depot, TaskFailedError)
    h = res["hosts"][0]
    assert [(s["kind"], s["status"]) for s in h["steps"]] == [("install", "failed")]
    assert res["failed_host"] == "esxi-01" and res["changed"] is True
    assert res["host_state"]["entered_maintenance_mode"] is True and res["host_state"]["in_maintenance_mode"] is True
    assert "Host state: connected, in maintenance mode" in res["msg"]
    st = fake.hosts["esxi-01"].state()
    assert st["maintenance"] is True and st["http_client_enabled"] is False
    assert fake.hosts["esxi-01"].events[-1].startswith("fleetpatch.esxi: deploy FAILED on esxi-01: install patches")


def test_install_error_exits_maintenance_mode_on_request(fake, depot):
    fake.fail("patch_install", TaskFailedError("install patches failed: PlatformConfigFault", host="esxi-01"))
    err, res = deploy_fails(fake, depot, TaskFailedError, exit_maintenance_on_failure=True)
    assert res["host_state"]["maintenance_mode_exited"] is True
    assert fake.hosts["esxi-01"].state()["maintenance"] is False
    assert "(exited after the failure)" in res["msg"]


def test_reboot_that_never_returns_reports_the_host_unreachable(fake, depot):
    fake.hosts["esxi-01"].reboot_never_returns = True
    err, res = deploy_fails(fake, depot, RebootTimeoutError)
    assert "did not come back" in res["msg"] and "step 1 (install, applied)" in res["msg"]
    assert res["host_state"]["reachable"] is False and "unreachable" in res["msg"]
