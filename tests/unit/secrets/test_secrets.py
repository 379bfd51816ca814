# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one redactor (_common/secrets.py) and FleetpatchModule's masking before Ansible logs the invocation."""

from __future__ import annotations

import contextlib
import json

import pytest

from ansible.module_utils import basic as _basic

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 reads the arguments from basic._ANSIBLE_ARGS
    @contextlib.contextmanager
    def patch_module_args(args):
        old = _basic._ANSIBLE_ARGS
        _basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            _basic._ANSIBLE_ARGS = old

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import tasks as _tasks
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common import secrets as S

# Planted secrets of several lengths and shapes, and the URL each one hides in.
PLANTED = {
    "path19": ("aB3dE5fG7hI9jK1lM2n", "http://127.0.0.1:8080/{}/depot/index.xml"),
    "path40": ("Zx9" * 13 + "Q", "https://depot.example.com/{}/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml"),
    "broadcom_letters": ("QWERTYuiopASDFghjk", "https://dl.broadcom.com/{}/PROD/COMP/ESX_HOST/index.xml"),
    "query_t": ("Zq7Wx", "http://127.0.0.1:8080/depot/index.xml?t={}"),
    "query_token": ("k9Lm2Np4Qr", "http://127.0.0.1:8080/depot/index.xml?token={}&x=1"),
    "query_other_name": ("plainwordsecret", "http://127.0.0.1/depot/index.xml?access={}"),
    "password": ("pw-Secr3t!", "http://user:{}@127.0.0.1/depot/index.xml"),
    "userinfo_token": ("ghp0a1b2c3", "https://{}@127.0.0.1/depot/index.xml"),
    "after_marker": ("lettersonlytok", "http://127.0.0.1/token/{}/index.xml"),
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_redact_url_hides_every_planted_shape(name):
    secret, tpl = PLANTED[name]
    url = tpl.format(secret)
    red = S.redact_url(url)
    assert secret not in red and S.REDACTED in red
    assert secret in S.url_secrets(url)
    # free text quoting the URL (an error message, a traceback)
    text = S.redact("GET %s failed: HTTP 403 (%s)" % (url, url))
    assert secret not in text


def test_redact_url_keeps_public_structure():
    url = "http://[::1]:8080/depot/vib20/esx-base/VMware_bootbank_esx-base_8.0.3-0.35.24280767.vib"
    assert S.redact_url(url) == url and S.url_secrets(url) == set()
    assert S.redact_url("https://h/ESXi800-202404001.zip") == "https://h/ESXi800-202404001.zip"
    assert S.redact_url("not a url") == "not a url" and S.redact_url(None) is None


def test_one_redactor_in_the_client_layer():
    assert _tasks.redact is S.redact


def test_redact_text_longest_first_and_ignores_tiny_values():
    assert S.redact_text("abcdef abc", ["abc", "abcdef"]) == "******** ********"
    assert S.redact_text("a b", ["a"]) == "a b"


def test_redact_value_walks_structures():
    v = S.redact_value({"a": ["http://u:pw123@h/x", 3], "b": "k9Lm2Np4Qr"}, ["k9Lm2Np4Qr"])
    assert "pw123" not in json.dumps(v) and "k9Lm2Np4Qr" not in json.dumps(v) and v["a"][1] == 3


# ---- FleetpatchModule: masked before Ansible logs the invocation ----------------------------------------
class Exited(Exception):
    pass


@pytest.fixture()
def captured(monkeypatch, capsys):
    """Everything AnsibleModule sends to syslog/journal (``AnsibleModule.log``) and prints as its result."""
    logged = []

    class Printed(list):
        def _load(self):
            out = capsys.readouterr().out
            self.extend(json.loads(line) for line in out.splitlines() if line.strip().startswith("{"))

        def __getitem__(self, i):
            self._load()
            return list.__getitem__(self, i)

        def __len__(self):
            self._load()
            return list.__len__(self)

    printed = Printed()

    def fake_syslog(self, msg):
        logged.append(msg)

    monkeypatch.setattr(_basic.AnsibleModule, "_log_to_syslog", fake_syslog)
    monkeypatch.setattr(_basic, "has_journal", False)

    def no_exit(*a, **k):
        raise Exited()

    monkeypatch.setattr(_basic.sys, "exit", no_exit)
    yield logged, printed
    ctx = getattr(_basic, "_fp_test_ctx", None)
    if ctx is not None:
        ctx.__exit__(None, None, None)


def _make(monkeypatch, args, **kw):
    ctx = patch_module_args(args)
    ctx.__enter__()
    monkeypatch.setattr(_basic, "_fp_test_ctx", ctx, raising=False)
    spec = dict(depot=dict(type="list", elements="str", required=True), proxy=dict(type="str"),
                token_opt=dict(type="str", no_log=False), count=dict(type="int"))
    return FleetpatchModule(spec, secret_urls=("depot", "proxy"), secret_options=("token_opt",),
                            supports_check_mode=True, **kw)


def _leaks(texts, secrets):
    blob = json.dumps(list(texts[:]) if hasattr(texts, "_load") else texts)
    return [s for s in secrets if s in blob]


def test_invocation_log_and_results_never_show_planted_secrets(monkeypatch, captured):
    logged, printed = captured
    urls = [tpl.format(secret) for secret, tpl in PLANTED.values()]
    secrets = [secret for secret, _ in PLANTED.values()] + ["opt-s3cret-value"]
    m = _make(monkeypatch, {"depot": urls[:-1], "proxy": urls[-1], "token_opt": "opt-s3cret-value"})
    assert logged and logged[0].startswith("Invoked with")
    assert _leaks(logged, secrets) == []
    assert "127.0.0.1" in logged[0]          # the URL is logged, masked by structure
    with pytest.raises(Exited):
        m.run(lambda ctx: {"echo": list(ctx.params["depot"]), "msg2": "x " + urls[0]})
    assert printed and _leaks(printed, secrets) == []
    # ansible-core up to 2.19 echoes the arguments as "invocation" (masked there too); newer releases do not echo them
    if "invocation" in printed[0]:
        assert printed[0]["invocation"]["module_args"]["token_opt"] == "NOT_LOGGING_PARAMETER"


def test_argument_validation_failure_does_not_leak(monkeypatch, captured):
    _logged, printed = captured
    secret, tpl = PLANTED["path19"]
    with pytest.raises(Exited):
        _make(monkeypatch, {"depot": [tpl.format(secret)], "count": "not-an-int"})
    assert printed and printed[0]["failed"] and secret not in json.dumps(printed[:])


def test_unexpected_error_and_warnings_are_masked(monkeypatch, captured):
    _logged, printed = captured
    secret, tpl = PLANTED["query_token"]
    url = tpl.format(secret)
    m = _make(monkeypatch, {"depot": [url]})

    def boom(ctx):
        ctx.warn("slow depot %s" % url)
        raise RuntimeError("cannot read %s" % url)

    with pytest.raises(Exited):
        m.run(boom)
    out = json.dumps(printed[:])
    assert printed[0]["failed"] and "Unexpected error" in printed[0]["msg"] and secret not in out


def test_context_carries_modes_and_partial(monkeypatch, captured):
    _logged, printed = captured
    m = _make(monkeypatch, {"depot": ["/tmp/x"], "_ansible_diff": True, "_ansible_check_mode": True},
              partial={"hosts": []})
    seen = {}

    def fn(ctx):
        seen.update(check=ctx.check_mode, diff=ctx.diff_mode)
        ctx.partial["hosts"].append("esx1")
        raise RuntimeError("x")

    with pytest.raises(Exited):
        m.run(fn)
    assert seen == {"check": True, "diff": True}
    assert printed[0]["hosts"] == ["esx1"] and printed[0]["changed"] is False
