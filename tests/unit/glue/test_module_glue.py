# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_module.run / require_libs / protect_secrets and _argspec, with a real AnsibleModule."""

from __future__ import annotations

import contextlib
import json

import pytest

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible import module as _module
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import (
    connection_argument_spec, missing_connection_params, require_connection)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotFetchError, TaskFailedError

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    from ansible.module_utils import basic as _basic

    @contextlib.contextmanager
    def patch_module_args(args):
        old = _basic._ANSIBLE_ARGS
        _basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            _basic._ANSIBLE_ARGS = old


class Exited(Exception):
    def __init__(self, failed, result):
        super().__init__(result)
        self.failed = failed
        self.result = result


def make_module(monkeypatch, args, extra_spec=None):
    spec = connection_argument_spec()
    spec.update(extra_spec or {})
    with patch_module_args(args):
        module = AnsibleModule(argument_spec=spec, supports_check_mode=True)

    def exit_json(**kw):
        raise Exited(False, kw)

    def fail_json(msg, **kw):
        kw["msg"] = msg
        raise Exited(True, kw)

    monkeypatch.setattr(module, "exit_json", exit_json)
    monkeypatch.setattr(module, "fail_json", fail_json)
    return module


@pytest.fixture(autouse=True)
def _no_vmware_env(monkeypatch):
    for var in ("VMWARE_HOST", "VMWARE_USER", "VMWARE_PASSWORD", "VMWARE_PORT", "VMWARE_VALIDATE_CERTS"):
        monkeypatch.delenv(var, raising=False)


def test_argspec_defaults_aliases_and_env_fallback(monkeypatch):
    monkeypatch.setenv("VMWARE_HOST", "vc.example.com")
    monkeypatch.setenv("VMWARE_PORT", "8443")
    monkeypatch.setenv("VMWARE_VALIDATE_CERTS", "no")
    m = make_module(monkeypatch, {"user": "admin@vsphere.local", "pwd": "s3cret!"})
    assert m.params["hostname"] == "vc.example.com"
    assert m.params["port"] == 8443
    assert m.params["validate_certs"] is False
    assert m.params["username"] == "admin@vsphere.local"
    assert m.params["password"] == "s3cret!"
    assert "s3cret!" in m.no_log_values


def test_argspec_defaults_without_env(monkeypatch):
    m = make_module(monkeypatch, {})
    assert m.params["port"] == 443 and m.params["validate_certs"] is True
    assert missing_connection_params(m.params) == ["hostname", "username", "password"]
    with pytest.raises(Exited) as e:
        require_connection(m)
    assert e.value.failed and "VMWARE_HOST" in e.value.result["msg"]


def test_run_success_defaults_changed(monkeypatch):
    m = make_module(monkeypatch, {})
    with pytest.raises(Exited) as e:
        _module.run(m, lambda: {"vibs": []})
    assert e.value.result == {"vibs": [], "changed": False}
    assert not e.value.failed


def test_run_fleetpatch_error_with_partial_results(monkeypatch):
    m = make_module(monkeypatch, {})
    progress = {"patched": []}

    def work():
        progress["patched"].append("esx1")
        progress["changed"] = True
        raise TaskFailedError("install failed", host="esx2", partial={"reboot_required": True}, task="task-7")

    with pytest.raises(Exited) as e:
        _module.run(m, work, partial=progress, operation="deploy")
    r = e.value.result
    assert e.value.failed
    assert r["msg"] == "host esx2: install failed"
    assert r["error_kind"] == "task_failed" and r["host"] == "esx2" and r["task"] == "task-7"
    assert r["patched"] == ["esx1"] and r["changed"] is True and r["reboot_required"] is True
    assert r["operation"] == "deploy"
    assert "partial" not in r and "exception" not in r


def test_run_unexpected_error_redacts_and_has_traceback(monkeypatch):
    m = make_module(monkeypatch, {"password": "hunter22x"})

    def work():
        raise ValueError("cannot open https://bob:pw123456@depot.example.com/x?token=abcdef and hunter22x")

    with pytest.raises(Exited) as e:
        _module.run(m, work)
    r = e.value.result
    assert r["msg"].startswith("Unexpected error: ")
    assert "pw123456" not in r["msg"] and "abcdef" not in r["msg"] and "hunter22x" not in r["msg"]
    assert "Traceback" in r["exception"] and "pw123456" not in r["exception"]
    assert r["changed"] is False


def test_protect_secrets_adds_url_secrets(monkeypatch):
    m = make_module(monkeypatch, {})
    url = "https://u:longpassword@dl.broadcom.com/AbCdEf0123456789AbCdEf0123456789zz/PROD/x.zip?sig=xyz987&a=1"
    added = _module.protect_secrets(m, urls=[url, None], values=["api-key-1", "", None, "ab"])
    assert {"longpassword", "AbCdEf0123456789AbCdEf0123456789zz", "xyz987", "api-key-1"} <= added
    assert "ab" not in added and "1" not in added
    assert added <= m.no_log_values


def test_require_libs(monkeypatch):
    m = make_module(monkeypatch, {})
    _module.require_libs(m, {"json": (True, None)})
    with pytest.raises(Exited) as e:
        _module.require_libs(m, {"pyvmomi": (False, "TB1"), "lxml": (False, "TB2"), "ok": (True, None)})
    assert e.value.failed and "pyvmomi, lxml" in e.value.result["msg"] and e.value.result["exception"] == "TB1"


def test_failure_result_plain_error():
    r = _module.failure_result(DepotFetchError("HTTP 404", source="https://depot.example.com/index.xml"))
    assert r == {"changed": False, "error_kind": "depot_fetch", "source": "https://depot.example.com/index.xml",
                 "msg": "https://depot.example.com/index.xml: HTTP 404"}


def test_library_warnings_go_through_module_warn_not_exit_json(monkeypatch):
    module = make_module(monkeypatch, {"hostname": "vc", "username": "u", "password": "p"})
    seen = []
    monkeypatch.setattr(module, "warn", seen.append)
    with pytest.raises(Exited) as ok:
        _module.run(module, lambda: {"changed": True, "warnings": ["host a: httpClient closed"]})
    assert "warnings" not in ok.value.result and seen == ["host a: httpClient closed"]

    def boom():
        raise TaskFailedError("install failed", host="esx1", partial={"warnings": ["slow task"], "steps": []})
    with pytest.raises(Exited) as failed:
        _module.run(module, boom)
    assert failed.value.failed and "warnings" not in failed.value.result
    assert failed.value.result["steps"] == [] and seen[-1] == "slow task"
