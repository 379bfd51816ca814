# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure decisions of the deploy state machine and the lock, case by case."""

from __future__ import annotations

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import statemachine as sm
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.hostlock import FileStore, HostLock, HostLockedError


def test_marker_round_trip_and_garbage():
    m = sm.Marker(run="r1", phase=sm.Phase.INSTALL, firewall={"httpClient": False}, entered_mm=True)
    assert sm.Marker.loads(m.dumps()) == m
    for text in (None, "", "{", "[]", '{"v": 2, "run": "x"}', '{"v": 1}'):
        assert sm.Marker.loads(text) is None


def test_adopt_restores_the_state_before_our_first_change():
    obs = sm.Observed(in_maintenance_mode=True, firewall={"httpClient": True})
    own = sm.adopt(obs, sm.Marker(run="r0", firewall={"httpClient": False}, entered_mm=True), ["httpClient"])
    assert own.firewall_before == {"httpClient": False} and own.entered_mm and own.adopted_from == "r0"
    assert sm.firewall_restore(own, {"httpClient": True}) == {"httpClient": False}


def test_adopt_without_marker_takes_the_state_now():
    own = sm.adopt(sm.Observed(True, {"httpClient": True}), None, ["httpClient"])
    assert own.firewall_before == {"httpClient": True} and own.entered_mm is False and own.adopted_from is None


def test_maintenance_mode_left_by_an_operator_meanwhile_is_not_ours():
    # the earlier run entered it, an operator took the host out: ownership ended
    own = sm.adopt(sm.Observed(False, {}), sm.Marker(run="r0", entered_mm=True), [])
    assert own.entered_mm is False


@pytest.mark.parametrize("entered,in_mm,success,keep,exit_fail,want", [
    (True, True, True, False, False, True),
    (True, True, True, True, False, False),
    (True, True, False, False, False, False),
    (True, True, False, False, True, True),
    (False, True, True, False, True, False),     # someone else's maintenance mode
    (True, False, True, False, False, False),
    (True, None, True, False, False, False),     # unknown: do nothing
])
def test_end_maintenance(entered, in_mm, success, keep, exit_fail, want):
    own = sm.Ownership(firewall_before={}, entered_mm=entered)
    assert sm.end_maintenance(own, in_mm, success, keep, exit_fail) is want


@pytest.mark.parametrize("reboot,changed,needed,stage,want", [
    ("auto", True, True, False, True), ("auto", True, False, False, False), ("always", True, False, False, True),
    ("always", False, False, False, False), ("never", True, True, False, False), ("always", True, True, True, False),
])
def test_reboot_decision(reboot, changed, needed, stage, want):
    assert sm.reboot_decision(reboot, changed, needed, stage) is want


def test_transitions_and_safe_points():
    sm.check_transition(sm.Phase.OBSERVE, sm.Phase.PLAN)
    sm.check_transition(sm.Phase.INSTALL, sm.Phase.FAILED)
    with pytest.raises(sm.TransitionError):
        sm.check_transition(sm.Phase.OBSERVE, sm.Phase.REBOOT)
    with pytest.raises(sm.TransitionError):
        sm.check_transition(sm.Phase.DONE, sm.Phase.FAILED)
    assert sm.cancel_honoured(sm.Phase.REBOOT, True) and not sm.cancel_honoured(sm.Phase.REBOOT, False)
    assert not sm.cancel_honoured(sm.Phase.OBSERVE, True)


class Clock(object):
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.t += s


class Host(object):
    name = "esxi-01"


def test_lock_race_last_writer_wins_the_other_backs_off(tmp_path):
    """Two runs write at the same moment: the settle read shows the later write; the earlier run backs off."""
    store = FileStore(str(tmp_path), "vc:443")
    clock = Clock()
    a = HostLock(store, Host(), "run-a", clock=clock, sleep=clock.sleep)
    b = HostLock(store, Host(), "run-b", clock=clock, sleep=clock.sleep)

    def b_writes_meanwhile(s):
        clock.sleep(s)
        b._write()
    a.sleep = b_writes_meanwhile
    with pytest.raises(HostLockedError) as e:
        a.acquire()
    assert "run run-b" in str(e.value) and not a.held
    b.sleep = clock.sleep
    b.acquire()
    assert b.held


def test_lock_expires_and_is_taken_over(tmp_path):
    store = FileStore(str(tmp_path), "vc:443")
    clock = Clock()
    a = HostLock(store, Host(), "run-a", expiry=60, clock=clock, sleep=clock.sleep)
    a.acquire()
    b = HostLock(store, Host(), "run-b", timeout=30, clock=clock, sleep=clock.sleep)
    with pytest.raises(HostLockedError):
        b.acquire()                       # waited 30 s of the 60
    clock.t += 31
    b.acquire()
    assert b.held and b.took_over["run"] == "run-a"
    a.release()                           # no longer a's: left alone
    assert HostLock(store, Host(), "x")._read()["run"] == "run-b"
