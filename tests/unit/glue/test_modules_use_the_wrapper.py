# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's main() builds a FleetpatchModule (never a bare AnsibleModule), never reads ``_diff``, and
declares every option that can carry a URL credential, so it is masked before Ansible logs the invocation."""

from __future__ import annotations

import ast
import importlib
import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MODULES = sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                 if n.endswith(".py") and not n.startswith("_"))
# options that hold URLs (which may carry tokens or passwords) wherever a module has them
URL_OPTIONS = {"depot", "depot_url", "proxy", "url", "location"}
SECRET_WORDS = ("password", "passwd", "token", "secret", "key")


class Built(Exception):
    pass


@pytest.mark.parametrize("name", MODULES)
def test_main_builds_a_fleetpatch_module_and_declares_url_secrets(name, monkeypatch):
    mod = importlib.import_module("ansible_collections.fleetpatch.esxi.plugins.modules." + name)
    seen = {}

    def fake(argument_spec, **kwargs):
        seen.update(spec=argument_spec, kwargs=kwargs)
        raise Built()

    assert hasattr(mod, "FleetpatchModule"), "%s does not use FleetpatchModule" % name
    monkeypatch.setattr(mod, "FleetpatchModule", fake)
    with pytest.raises(Built):
        mod.main()
    spec, kwargs = seen["spec"], seen["kwargs"]
    declared = set(kwargs.get("secret_urls") or ())
    missing = sorted((URL_OPTIONS & set(spec)) - declared)
    assert missing == [], "%s: URL options not declared in secret_urls: %s" % (name, missing)
    assert declared <= set(spec), "%s: secret_urls names unknown options" % name
    for opt, opts in spec.items():
        if any(w in opt for w in SECRET_WORDS) and opt not in URL_OPTIONS:
            assert opts.get("no_log") is True or opt in (kwargs.get("secret_options") or ()) \
                or opts.get("type") in ("bool", "int", "list") and opts.get("no_log") is False, (name, opt)


@pytest.mark.parametrize("name", MODULES)
def test_no_bare_ansible_module_and_no_diff_reads(name):
    path = os.path.join(ROOT, "plugins", "modules", name + ".py")
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            assert node.attr != "_diff", "%s reads module._diff (use ctx.diff_mode)" % name
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "AnsibleModule", "%s builds a bare AnsibleModule" % name
