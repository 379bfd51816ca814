# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tool rule of the root conftest: tools next to sys.executable; a missing one skips, or FAILS under CI."""

from __future__ import annotations

import os
import sys

import pytest

import tests.tooling as tooling
from tests.conftest import _require_tools


def test_tools_are_found_next_to_the_running_python():
    assert tooling.BIN_DIR == os.path.dirname(sys.executable)
    assert tooling.ANSIBLE_PLAYBOOK == os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def test_missing_tool_is_a_skip_on_a_laptop_and_a_failure_in_ci(tmp_path, monkeypatch):
    monkeypatch.setattr(tooling, "BIN_DIR", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="ansible-playbook not found next to"):
        _require_tools(["ansible-playbook"])
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set: a missing tool is a failure"):
        _require_tools(["ansible-playbook"])
    tool = tmp_path / "ansible-playbook"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    _require_tools(["ansible-playbook"])      # present and executable: no skip, no failure
