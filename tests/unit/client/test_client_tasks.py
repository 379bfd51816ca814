# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault translation, backoff and the task waiter (with a scripted property collector; no network)."""

from __future__ import annotations

import http.client
import socket
import ssl
import types

import pytest
from pyVmomi import vim, vmodl

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    AuthenticationError, ConnectionFailedError, HostNotConnectedError, NotFoundError, TaskFailedError,
    TaskTimeoutError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import tasks as tk


def test_backoff_caps_and_jitters():
    seq = tk.backoff_delays(initial=0.2, maximum=1.0, factor=2.0, jitter=0.0)
    assert [round(next(seq), 3) for _ in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    lo = tk.backoff_delays(initial=1.0, maximum=1.0, jitter=0.2, rng=lambda: 0.0)
    hi = tk.backoff_delays(initial=1.0, maximum=1.0, jitter=0.2, rng=lambda: 1.0)
    assert round(next(lo), 3) == 0.8 and round(next(hi), 3) == 1.2


@pytest.mark.parametrize("exc,cls,needle", [
    (ConnectionRefusedError(111, "refused"), ConnectionFailedError, "connection refused"),
    (socket.gaierror(-2, "Name or service not known"), ConnectionFailedError, "cannot resolve"),
    (socket.timeout("timed out"), ConnectionFailedError, "timed out"),
    (http.client.RemoteDisconnected("closed"), ConnectionFailedError, "dropped"),
    (ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed"), ConnectionFailedError,
     "validate_certs"),
    (vim.fault.InvalidLogin(msg="Cannot complete login"), AuthenticationError, "incorrect user name or password"),
    (vim.fault.NotAuthenticated(msg="session gone"), ConnectionFailedError, "no longer valid"),
    (vim.fault.NoPermission(msg="denied", privilegeId="Host.Config.Patch"), VSphereError, "Host.Config.Patch"),
    (vmodl.fault.HostNotConnected(msg="gone"), HostNotConnectedError, "not connected"),
    (vmodl.fault.ManagedObjectNotFound(msg="nope"), NotFoundError, "nope"),
    (vmodl.fault.MethodNotFound(msg="no LogUserEvent"), VSphereError, "does not support"),
    (vim.fault.PlatformConfigFault(text="MaintenanceModeError: MaintenanceMode is required"), VSphereError,
     "MaintenanceModeError"),
    (vim.fault.HostConnectFault(msg="[SSL: CERTIFICATE_VERIFY_FAILED] x"), ConnectionFailedError, "validate_certs"),
])
def test_translate(exc, cls, needle):
    err = tk.translate(exc, host="esx1:443", action="do it")
    assert type(err) is cls
    assert needle in str(err) and str(err).startswith("host esx1:443: do it failed: ")
    assert err.details["fault_type"]


def test_translate_privilege_detail_and_cert_flag():
    err = tk.translate(vim.fault.NoPermission(msg="x", privilegeId="System.Read"), host="h")
    assert err.details["privilege"] == "System.Read" and err.to_result()["error_kind"] == "vsphere"
    err = tk.translate(ssl.SSLCertVerificationError(1, "bad"), host="h")
    assert err.details["certificate_error"] is True and err.kind == "connection"


def test_translate_redacts_secrets_and_url_tokens():
    exc = vim.fault.PlatformConfigFault(
        text="Could not download https://user:Hunter2pw@depot.example/x?token=abcdef&ok=1 with Hunter2pw")
    err = tk.translate(exc, host="h", secrets=["Hunter2pw"])
    # every query value of a URL is treated as a credential (the one redactor, _common/secrets.py)
    assert "Hunter2pw" not in str(err) and "abcdef" not in str(err) and "ok=********" in str(err)


def test_translate_in_task_and_passthrough():
    err = tk.translate(vim.fault.PlatformConfigFault(text="boom"), host="h", in_task=True)
    assert isinstance(err, TaskFailedError)
    mine = NotFoundError("x")
    assert tk.translate(mine) is mine


# ---- wait_for_task -------------------------------------------------------------------------------------

class ScriptedCollector(object):
    """Answers RetrievePropertiesEx with the next scripted (state, error, result, progress) or raises."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = 0

    def RetrievePropertiesEx(self, specSet, options):
        self.calls += 1
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, BaseException):
            raise step
        state, error, result, progress = step
        props = [types.SimpleNamespace(name="info.state", val=state)]
        if error is not None:
            props.append(types.SimpleNamespace(name="info.error", val=error))
        if result is not None:
            props.append(types.SimpleNamespace(name="info.result", val=result))
        if progress is not None:
            props.append(types.SimpleNamespace(name="info.progress", val=progress))
        return types.SimpleNamespace(objects=[types.SimpleNamespace(propSet=props)], token=None)


class FakeClock(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.sleeps.append(s)
        self.now += s


def _wait(script, timeout=10, **kw):
    clock = FakeClock()
    col = ScriptedCollector(script)
    task = vim.Task("task-7", None)
    res = tk.wait_for_task(task, timeout=timeout, host="esx1", action="install patches", collector=col,
                           sleep=clock.sleep, clock=clock, **kw)
    return res, col, clock


def test_wait_success_after_polling_with_backoff():
    res, col, clock = _wait([("queued", None, None, None), ("running", None, None, 10), ("running", None, None, 50),
                             ("success", None, "RESULT", 100)])
    assert res == "RESULT" and col.calls == 4
    assert clock.sleeps[0] <= clock.sleeps[-1] * 1.5   # grows (with jitter)


def test_wait_error_carries_fault_type_and_message():
    fault = vim.fault.PlatformConfigFault(text="MetadataDownloadError: Could not download from depot")
    with pytest.raises(TaskFailedError) as ei:
        _wait([("running", None, None, None), ("error", fault, None, None)])
    e = ei.value
    assert e.details["fault_type"] == "PlatformConfigFault" and e.details["task"] == "task-7"
    assert "MetadataDownloadError" in e.details["fault_message"] and str(e).startswith("host esx1: install")


def test_wait_error_host_not_connected_keeps_class():
    with pytest.raises(HostNotConnectedError):
        _wait([("error", vmodl.fault.HostNotConnected(), None, None)])


def test_wait_timeout_is_bounded():
    with pytest.raises(TaskTimeoutError) as ei:
        _wait([("running", None, None, 42)], timeout=3)
    assert "did not finish within 3s" in str(ei.value) and ei.value.details["progress"] == 42
    assert ei.value.details["state"] == "running"


def test_wait_connection_lost_marks_outcome_unknown():
    with pytest.raises(ConnectionFailedError) as ei:
        _wait([("running", None, None, None), http.client.RemoteDisconnected("gone")])
    assert ei.value.details["outcome_unknown"] is True and "outcome is unknown" in str(ei.value)


def test_wait_session_lost():
    with pytest.raises(ConnectionFailedError) as ei:
        _wait([vim.fault.NotAuthenticated(msg="x")])
    assert ei.value.details["session_lost"] is True
