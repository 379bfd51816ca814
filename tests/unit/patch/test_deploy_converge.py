# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converging from any state, with the FakeHostClient: an unexpected exception mid-install, a plain re-run after
each kind of failure, the firewall restored to its state before OUR FIRST change, maintenance mode that an earlier
run of ours entered, a maintenance mode entry that times out naming the VMs, cancels at each phase, a lost
controller, and the per-host lock (a second run fails naming the holder, waits, takes over a stale lock)."""

from __future__ import annotations

import json
import threading

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    FleetpatchError, HostNotConnectedError, TaskFailedError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import failure_result
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.cancel import CancelledError, CancelToken
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.deploy import run_deploy
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.hostlock import (
    LOCK_FIELD, MARKER_FIELD, HostLockedError, holder_label)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.statemachine import Marker

from tests.unit.patch.conftest import V_80U2, deploy_params, make_fake


def token() -> CancelToken:
    return CancelToken(watch_parents=False)


def deploy(fake, depot, cancel=None, **kw):
    return run_deploy(deploy_params(**kw), client=fake, depot=depot, cancel=cancel or token())


def deploy_fails(fake, depot, exc=FleetpatchError, cancel=None, **kw):
    partial = {"changed": False}
    with pytest.raises(exc) as e:
        run_deploy(deploy_params(**kw), partial=partial, client=fake, depot=depot, cancel=cancel or token())
    return e.value, failure_result(e.value, partial=partial)


def marker(fake, name="esxi-01"):
    return Marker.loads(fake.hosts[name].fields.get(MARKER_FIELD))


def patched_and_clean(fake, name="esxi-01", firewall=False):
    st = fake.hosts[name].state()
    assert V_80U2 in st["current_vibs"] and st["pending_vibs"] == []
    assert st["maintenance"] is False and st["http_client_enabled"] is firewall
    assert LOCK_FIELD not in fake.hosts[name].fields          # lock released


# ---- failures, then one plain re-run --------------------------------------------------------------------

def test_unexpected_exception_mid_install_reports_and_puts_the_host_back(fake, depot):
    fake.fail("patch_install", KeyError("vib_urls"))            # not a fleetpatch error: a bug, say
    err, res = deploy_fails(fake, depot, exit_maintenance_on_failure=True)
    assert res["error_kind"] == "unexpected" and "unexpected error: KeyError: 'vib_urls'" in res["msg"]
    assert "Traceback" not in res["msg"] and "exception" not in res
    assert res["failed_host"] == "esxi-01" and res["host_state"]["reachable"] is True
    assert res["host_state"]["maintenance_mode_exited"] is True
    h = res["hosts"][0]
    assert [(s["kind"], s["status"]) for s in h["steps"]] == [("install", "failed")]
    st = fake.hosts["esxi-01"].state()
    assert st["maintenance"] is False and st["http_client_enabled"] is False
    assert fake.hosts["esxi-01"].events[-1].startswith("fleetpatch.esxi: deploy FAILED on esxi-01: unexpected error")
    assert LOCK_FIELD not in fake.hosts["esxi-01"].fields


def test_unexpected_exception_keeps_maintenance_mode_by_default_and_the_rerun_takes_it_out(fake, depot):
    fake.fail("patch_install", RuntimeError("boom"))
    err, res = deploy_fails(fake, depot)
    assert res["host_state"]["in_maintenance_mode"] is True
    m = marker(fake)
    assert m.entered_mm is True and m.phase == "failed" and "boom" in m.outcome
    res = deploy(fake, depot)                                     # the plain re-run
    r = res["hosts"][0]
    assert r["converge"]["earlier_run"] == m.run and r["converge"]["adopted"] is True
    assert r["maintenance_mode"]["exited"] is True and r["rebooted"] is True
    patched_and_clean(fake)
    assert marker(fake).entered_mm is False and marker(fake).phase == "done"


@pytest.mark.parametrize("fault", ["task_error", "disconnect", "reboot_never_returns"])
def test_rerun_after_a_failure_leaves_the_host_patched_and_out_of_maintenance_mode(depot, fault):
    fake = make_fake(depot)
    h = fake.hosts["esxi-01"]
    if fault == "task_error":
        fake.fail("patch_install", TaskFailedError("install patches failed: PlatformConfigFault", host="esxi-01"))
    elif fault == "disconnect":
        def drop(fk, host, kw):
            host.connection_state = "notResponding"
        fake.before("patch_install", drop)
        fake.before("wait_connected", lambda fk, host, kw: setattr(host, "connection_state", "connected"))
    else:
        h.reboot_never_returns = True
    deploy_fails(fake, depot)
    assert h.in_mm is True                                # the failed run leaves maintenance mode (default)
    h.reboot_never_returns = False
    h.connection_state = "connected"
    fake._hooks.clear()
    res = deploy(fake, depot)
    assert res["hosts"][0]["maintenance_mode"]["exited"] is True
    patched_and_clean(fake)


def test_compliant_rerun_still_exits_the_maintenance_mode_an_earlier_run_entered(fake, depot):
    h = fake.hosts["esxi-01"]
    h.reboot_never_returns = True
    deploy_fails(fake, depot)                             # installed, rebooted into the new image, never "returned"
    h.reboot_never_returns = False
    h.connection_state = "connected"
    res = deploy(fake, depot)
    r = res["hosts"][0]
    assert r["steps"] == [] and r["converged"]["done"] == ["exited maintenance mode"] and res["changed"] is True
    patched_and_clean(fake)
    assert h.events[-1].startswith("fleetpatch.esxi: deploy finished on esxi-01: no change; left by run")


def test_maintenance_mode_of_someone_else_is_left_alone(depot):
    fake = make_fake(depot, in_maintenance_mode=True)
    deploy(fake, depot)
    assert fake.hosts["esxi-01"].in_mm is True
    assert marker(fake) is None or marker(fake).entered_mm is False


def test_keep_maintenance_mode_hands_the_host_over(fake, depot):
    deploy(fake, depot, keep_maintenance_mode=True)
    assert fake.hosts["esxi-01"].in_mm is True and marker(fake).entered_mm is False
    fake.hosts["esxi-01"].fields.pop(LOCK_FIELD, None)
    deploy(fake, depot)                                     # a later run does not take it out
    assert fake.hosts["esxi-01"].in_mm is True


# ---- firewall: the state before OUR FIRST change ---------------------------------------------------------

def test_firewall_left_open_by_a_cancelled_run_is_closed_by_the_rerun(fake, depot):
    h = fake.hosts["esxi-01"]
    t = token()
    fake.before("patch_install", lambda fk, host, kw: t.cancel("SIGTERM received"))
    h.firewall["httpClient"] = False
    # simulate a run killed while the ruleset was open: its marker records "closed before"
    h.fields[MARKER_FIELD] = Marker(run="old-run", phase="install", firewall={"httpClient": False}).dumps()
    h.firewall["httpClient"] = True
    fake._hooks.clear()
    res = deploy(fake, depot)
    assert "ruleset httpClient was left open by run old-run" in " ".join(res["warnings"])
    patched_and_clean(fake, firewall=False)


def test_firewall_open_before_our_first_change_stays_open(depot):
    fake = make_fake(depot, http_client=True)
    fake.fail("patch_install", TaskFailedError("install patches failed", host="esxi-01"))
    deploy_fails(fake, depot)
    assert fake.hosts["esxi-01"].firewall["httpClient"] is True
    deploy(fake, depot)
    patched_and_clean(fake, firewall=True)


# ---- maintenance mode entry timeout --------------------------------------------------------------------

def test_maintenance_mode_timeout_names_the_vms_that_block_evacuation(depot):
    fake = make_fake(depot, blocking_vms=["db-01", "web-02"])
    err, res = deploy_fails(fake, depot, maintenance_mode_timeout=30)
    assert "could not enter maintenance mode within 30s: 2 powered-on VM(s) did not evacuate: db-01, web-02" \
        in res["msg"]
    assert res["blocking_vms"] == ["db-01", "web-02"]
    assert ("enter_maintenance_mode", "esxi-01") in fake.calls
    st = fake.hosts["esxi-01"].state()
    assert st["maintenance"] is False and st["http_client_enabled"] is False and st["pending_vibs"] == []
    assert marker(fake).entered_mm is False or fake.hosts["esxi-01"].in_mm is False


def test_default_maintenance_mode_timeout_is_finite(fake, depot):
    seen = []
    fake.before("enter_maintenance_mode", lambda fk, host, kw: seen.append(kw["timeout"]))
    deploy(fake, depot)
    assert seen == [1800]


# ---- cancel ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("during,expect", [
    ("enter_maintenance_mode", "install"),     # honoured after the entry, before the install
    ("patch_install", "reboot"),               # never inside the install: after it, before the reboot
    ("reboot", "verify"),
    ("software_vibs", "finish"),               # during verify (software_vibs is read there... and in the scan)
])
def test_cancel_stops_at_the_next_safe_point_and_puts_the_host_back(depot, during, expect):
    fake = make_fake(depot)
    t = token()
    calls = []

    def cancel(fk, host, kw):
        calls.append(1)
        if during != "software_vibs" or len(calls) == 2:      # the 2nd read is the verify's
            t.cancel("SIGTERM received")
    fake.before(during, cancel)
    err, res = deploy_fails(fake, depot, CancelledError, cancel=t)
    assert res["error_kind"] == "cancelled" and "cancelled (SIGTERM received) before the %s phase" % expect in res["msg"]
    h = fake.hosts["esxi-01"]
    assert h.in_mm is False and h.firewall["httpClient"] is False       # put back
    assert h.events[-1].startswith("fleetpatch.esxi: deploy FAILED on esxi-01: cancelled")
    assert marker(fake).phase == "cancelled" and LOCK_FIELD not in h.fields
    fake._hooks.clear()
    deploy(fake, depot, cancel=token())                                  # a plain re-run finishes the job
    patched_and_clean(fake)


def test_cancel_between_hosts_starts_no_other_host(depot):
    fake = make_fake(depot, names=("esxi-01", "esxi-02"))
    t = token()
    fake.before("exit_maintenance_mode", lambda fk, host, kw: t.cancel("SIGINT received"))
    err, res = deploy_fails(fake, depot, CancelledError, cancel=t, esxi_hostname=["esxi-01", "esxi-02"])
    assert "not started on: esxi-02" in res["msg"]
    assert V_80U2 in fake.hosts["esxi-01"].active and V_80U2 not in fake.hosts["esxi-02"].active
    assert fake.hosts["esxi-02"].events == []


def test_lost_controller_finishes_the_host_and_starts_no_other(depot):
    fake = make_fake(depot, names=("esxi-01", "esxi-02"))
    t = token()
    fake.before("patch_install", lambda fk, host, kw: t.lose("SIGHUP received"))
    err, res = deploy_fails(fake, depot, CancelledError, cancel=t, esxi_hostname=["esxi-01", "esxi-02"])
    assert "the controller was lost (SIGHUP received); not started on: esxi-02" in res["msg"]
    patched_and_clean(fake, "esxi-01")                 # brought to a consistent end: rebooted, verified, out of MM
    assert "the controller was lost (SIGHUP received)" in fake.hosts["esxi-01"].events[-1]
    assert "deploy finished on esxi-01" in fake.hosts["esxi-01"].events[-1]
    assert fake.hosts["esxi-02"].events == []


def test_signal_handlers_set_the_flag_and_are_restored():
    import os
    import signal
    before = signal.getsignal(signal.SIGTERM)
    t = CancelToken(watch_parents=False).install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert t.requested and t.reason == "SIGTERM received"
        os.kill(os.getpid(), signal.SIGHUP)
        assert t.controller_lost() and t.lost_reason == "SIGHUP received"
    finally:
        t.uninstall()
    assert signal.getsignal(signal.SIGTERM) == before


# ---- the lock --------------------------------------------------------------------------------------------

def _foreign_lock(fake, expires_in, run="other-run"):
    import time
    fake.hosts["esxi-01"].fields[LOCK_FIELD] = json.dumps(
        {"run": run, "holder": "ctl-2 pid 4242", "expires": time.time() + expires_in, "at": time.time()})


def test_second_run_fails_naming_the_run_that_holds_the_host(fake, depot):
    _foreign_lock(fake, 600)
    err, res = deploy_fails(fake, depot, HostLockedError, lock_timeout=1)
    assert "another deploy holds the host: run other-run (ctl-2 pid 4242)" in res["msg"]
    assert "waited 1s (lock_timeout)" in res["msg"]
    assert res["lock_holder"] == "other-run" and res["error_kind"] == "host_locked"
    assert {"enter_maintenance_mode", "patch_install", "set_firewall_ruleset"}.isdisjoint(fake.names())
    assert fake.hosts["esxi-01"].events == []


def test_second_run_waits_for_the_lock(fake, depot):
    _foreign_lock(fake, 600)
    threading.Timer(0.6, lambda: fake.hosts["esxi-01"].fields.pop(LOCK_FIELD, None)).start()
    res = deploy(fake, depot, lock_timeout=10)
    assert res["changed"] is True
    patched_and_clean(fake)


def test_stale_lock_is_taken_over(fake, depot):
    _foreign_lock(fake, -5, run="dead-run")
    res = deploy(fake, depot)
    assert res["hosts"][0]["lock_taken_over"]["run"] == "dead-run"
    patched_and_clean(fake)


def test_lock_of_a_dead_process_on_this_controller_is_taken_over_at_once(fake, depot):
    import os
    import platform
    import subprocess
    proc = subprocess.Popen(["true"])
    proc.wait()                                               # a pid that is gone
    _foreign_lock(fake, 600, run="killed-run")
    lock = json.loads(fake.hosts["esxi-01"].fields[LOCK_FIELD])
    lock["holder"] = holder_label().replace("pid %d" % os.getpid(), "pid %d" % proc.pid)
    assert holder_label().startswith("%s pid %d" % (platform.node(), os.getpid()))
    fake.hosts["esxi-01"].fields[LOCK_FIELD] = json.dumps(lock)
    res = deploy(fake, depot, lock_timeout=0)
    assert res["hosts"][0]["lock_taken_over"]["run"] == "killed-run"


def test_lock_of_a_live_process_or_another_pid_namespace_is_not_stale():
    import os
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.hostlock import holder_dead
    assert holder_dead(holder_label()) is False                       # this process: alive
    assert holder_dead("other-node pid 1") is False
    assert holder_dead(holder_label().split(" in ")[0].replace(str(os.getpid()), "999999") + " in pid:[1]") is False


def test_lock_is_held_during_the_run_and_renewed(fake, depot):
    seen = []
    fake.before("patch_install", lambda fk, host, kw: seen.append(json.loads(host.fields[LOCK_FIELD])))
    res = deploy(fake, depot, run_id="job-42")
    assert seen[0]["run"] == "job-42" and res["run_id"] == "job-42"
    assert seen[0]["expires"] - seen[0]["at"] >= 3600          # renewed for the install's longest wait


def test_check_mode_takes_no_lock_and_writes_nothing(fake, depot):
    run_deploy(deploy_params(), check_mode=True, client=fake, depot=depot, cancel=token())
    assert "host_field_set" not in fake.names()


def test_esxi_without_vcenter_keeps_lock_and_marker_in_state_dir(depot, tmp_path):
    fake = make_fake(depot, is_vcenter=False)
    fake.fail("patch_install", HostNotConnectedError("the host is not connected", host="esxi-01"))
    fake.before("wait_connected", lambda fk, host, kw: None)
    deploy_fails(fake, depot, state_dir=str(tmp_path))
    files = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".json")
    assert files == ["esxi-01_443__esxi-01.json"]
    data = json.loads((tmp_path / files[0]).read_text())
    assert json.loads(data[MARKER_FIELD])["entered_mm"] is True and LOCK_FIELD not in data
    deploy(fake, depot, state_dir=str(tmp_path))
    patched_and_clean(fake)
