# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the test suite finds its command-line tools: next to the Python that runs pytest.

``ansible-playbook``, ``ansible``, ``ansible-test``, ``molecule`` ... are installed in the same environment as
pytest, so they live in ``os.path.dirname(sys.executable)``, wherever that venv is (not a hard-coded
``<repo>/.venv``). Mark a test (or a module, with ``pytestmark``) ``@needs_tool("ansible-playbook")``: a missing
tool skips the test on a developer machine and FAILS it when ``CI`` is set (the root conftest enforces this), so
a CI job can never pass by silently skipping the playbook tests.
"""

from __future__ import annotations

import os
import sys

import pytest

BIN_DIR = os.path.dirname(sys.executable)


def tool_path(name: str) -> str:
    """The path of tool ``name`` in the Python environment running the tests (it may not exist)."""
    return os.path.join(BIN_DIR, name)


def tool_missing(name: str) -> bool:
    path = tool_path(name)
    return not (os.path.isfile(path) and os.access(path, os.X_OK))


def needs_tool(*names: str) -> pytest.MarkDecorator:
    """Mark: the test runs these tools (skip when missing; a failure when the ``CI`` variable is set)."""
    return pytest.mark.needs_tool(*names)


ANSIBLE_PLAYBOOK = tool_path("ansible-playbook")
ANSIBLE = tool_path("ansible")
