# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one-of-each helpers of the client layer: poll_until, @vsphere_call, the datacenter walk, typed error flags."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.inventory import datacenter_of
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import (
    poll_until, translate, vsphere_call)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    ConnectionFailedError, FleetpatchError, InputError, TaskTimeoutError)


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.sleeps.append(s)
        self.now += s


def test_poll_until_returns_first_answer_and_sleeps_between_probes():
    clock = FakeClock()
    answers = iter([None, None, "up"])
    assert poll_until(110.0, iter([1.0, 2.0, 3.0]), lambda: next(answers), lambda: AssertionError("timeout"),
                      sleep=clock.sleep, clock=clock) == "up"
    assert clock.sleeps == [1.0, 2.0]


def test_poll_until_never_sleeps_past_the_deadline_then_raises():
    clock = FakeClock()
    with pytest.raises(TaskTimeoutError, match="gave up"):
        poll_until(103.0, iter([2.0] * 10), lambda: None, lambda: TaskTimeoutError("gave up"),
                   sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [2.0, 1.0] and clock.now == 103.0


class _Client:
    endpoint = "vc:443"

    def _err(self, exc, action, host=None):
        return translate(exc, host=host or self.endpoint, action=action)

    @vsphere_call("read the thing")
    def read(self, host=None, fail=None):
        raise fail


class _Host:
    label = "esx1"


def test_vsphere_call_translates_and_names_host_and_action():
    with pytest.raises(ConnectionFailedError) as e:
        _Client().read(_Host(), fail=ConnectionResetError("reset"))
    assert e.value.host == "esx1" and "read the thing failed" in str(e.value)
    assert e.value.connection_lost is True and e.value.session_lost is False
    assert isinstance(e.value.__cause__, ConnectionResetError)
    with pytest.raises(ConnectionFailedError) as e:
        _Client().read(fail=socket.gaierror("nope"))
    assert e.value.host == "vc:443"


def test_vsphere_call_lets_our_errors_through_unchanged():
    original = InputError("bad option")
    with pytest.raises(InputError) as e:
        _Client().read(fail=original)
    assert e.value is original


def test_with_context_returns_a_new_error_and_keeps_flags_and_details():
    err = ConnectionFailedError("dropped", host="esx1", connection_lost=True, task="task-1")
    new = err.with_context(msg="dropped (while waiting)", outcome_unknown=True)
    assert err.msg == "dropped" and not err.outcome_unknown       # the raised one is untouched
    assert type(new) is ConnectionFailedError and str(new) == "host esx1: dropped (while waiting)"
    assert new.connection_lost and new.outcome_unknown and new.details["task"] == "task-1"
    assert new.to_result()["outcome_unknown"] is True
    assert FleetpatchError("x").flags == {}


def _node(kind, name, parent, moid):
    return moid, {"obj": type("MO", (), {"_moId": moid})(), "kind": kind, "name": name, "parent": parent}


def test_datacenter_walk_through_folders_and_clusters():
    nodes = dict([_node("Folder", "Datacenters", None, "group-d1"), _node("Folder", "emea", "group-d1", "f1"),
                  _node("Datacenter", "DC1", "f1", "dc1"), _node("Folder", "host", "dc1", "hf"),
                  _node("ClusterComputeResource", "c1", "hf", "c1"), _node("HostSystem", "esx1", "c1", "h1")])
    assert datacenter_of(nodes, "c1") == ("DC1", "dc1", "emea/DC1")
    assert datacenter_of(nodes, "group-d1") is None and datacenter_of(nodes, None) is None
    nodes["loop"] = {"obj": None, "kind": "Folder", "name": "loop", "parent": "loop"}
    assert datacenter_of(nodes, "loop") is None    # a broken, cyclic inventory does not hang the walk


def test_one_tls_policy_for_every_requests_session(monkeypatch, tmp_path):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.http import session_factory, tls_verify
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    assert tls_verify(False, "/ca.pem") is False
    assert tls_verify(True, "/ca.pem") == "/ca.pem" and tls_verify(True) is True
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "env.pem"))
    assert tls_verify(True) == str(tmp_path / "env.pem")
    s = session_factory(True, None, proxies={"https": "http://127.0.0.1:3128"}, user_agent="ua")
    assert s.verify == str(tmp_path / "env.pem") and s.trust_env is False
    assert s.proxies == {"https": "http://127.0.0.1:3128"} and s.headers["User-Agent"] == "ua"
    assert session_factory(False, trust_env=True).verify is False
