# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every plugin's DOCUMENTATION, EXAMPLES and RETURN is valid YAML of the right shape, and every version_added is a
released or the upcoming version (galaxy.yml). A colon followed by a space inside a plain YAML scalar ("naming
M(x): the ...") silently breaks ansible-doc, the docs site and validate-modules; this catches it in seconds."""

from __future__ import annotations

import ast
import glob
import os
import re

import pytest
import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PLUGINS = sorted(glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")) +
                 glob.glob(os.path.join(ROOT, "plugins", "inventory", "*.py")))


def _blocks(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN") and isinstance(node.value, ast.Constant):
                out[node.targets[0].id] = node.value.value
    return out


def _versions():
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as fh:
        current = yaml.safe_load(fh)["version"]
    with open(os.path.join(ROOT, "changelogs", "changelog.yaml"), encoding="utf-8") as fh:
        released = set((yaml.safe_load(fh) or {}).get("releases") or {})
    return released | {current}


def _version_added(node, where, found):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "version_added":
                found.append((where, str(v)))
            else:
                _version_added(v, "%s.%s" % (where, k), found)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _version_added(v, "%s[%d]" % (where, i), found)


@pytest.mark.parametrize("path", PLUGINS, ids=[os.path.relpath(p, ROOT) for p in PLUGINS])
def test_doc_blocks_parse_and_versions_are_known(path):
    blocks = _blocks(path)
    assert "DOCUMENTATION" in blocks and "EXAMPLES" in blocks, "missing DOCUMENTATION or EXAMPLES"
    doc = yaml.safe_load(blocks["DOCUMENTATION"])
    assert isinstance(doc, dict) and isinstance(doc.get("options", {}), dict)
    for opt, spec in (doc.get("options") or {}).items():
        for line in (spec.get("description") if isinstance(spec.get("description"), list) else [spec.get("description")]):
            assert isinstance(line, str), "option %s: a description line is not text (a stray ': '?)" % opt
    if "RETURN" in blocks and blocks["RETURN"].strip():
        assert isinstance(yaml.safe_load(blocks["RETURN"]), dict)
    if "/modules/" in path:
        assert isinstance(yaml.safe_load(blocks["EXAMPLES"]), list)
    found = []
    _version_added(doc, "DOCUMENTATION", found)
    known = _versions()
    bad = [(w, v) for w, v in found if v not in known]
    assert not bad, "version_added not in %s: %s" % (sorted(known), bad)
    assert all(re.match(r"^\d+\.\d+\.\d+$", v) for _, v in found)
