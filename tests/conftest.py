# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Root pytest configuration: markers, the shared fixtures, and the tool check.

* ``pytest_plugins``: the simulator and depot-server fixtures of ``tests/simulator/fixtures.py`` are available
  in every test directory (``sim_factory``, ``esx_sim``, ``vc_sim``, ``depot_server``, ``fixture_path``): no
  conftest re-imports them and no test touches ``sys.path`` (``pytest.ini`` puts the repository and
  ``.collections`` on it, so ``tests.*`` and ``ansible_collections.fleetpatch.esxi.*`` import everywhere).
* ``needs_tool`` marker (``tests/tooling.py``): a tool missing from the Python environment skips the test,
  or fails it when ``CI`` is set.
* ``ansible_playbook`` fixture: the path of ``ansible-playbook`` next to ``sys.executable`` (same rule).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

import pytest

from tests.tooling import tool_missing, tool_path

pytest_plugins = ["tests.simulator.fixtures"]


def pytest_configure(config):
    # the playbooks turn on the vCenter session cache (session_cache); a test never writes it into the user's
    # ~/.cache or $XDG_RUNTIME_DIR: one private folder per pytest process (each xdist worker its own),
    # inherited by every ansible-playbook / module process a test starts from os.environ
    if not os.environ.get("FLEETPATCH_SESSION_CACHE_DIR"):
        folder = tempfile.mkdtemp(prefix="fleetpatch-test-sessions-")
        os.environ["FLEETPATCH_SESSION_CACHE_DIR"] = folder
        atexit.register(shutil.rmtree, folder, True)
    config.addinivalue_line("markers", "slow: takes more than a few seconds (deselect with -m 'not slow')")
    config.addinivalue_line("markers", "molecule: the molecule scenario of each role (make molecule; not in make test, which runs the same roles through test_playbooks)")
    config.addinivalue_line("markers", "simulator: needs the ESXi/vCenter simulator (.bin/esxisim, built by `make sim`)")
    config.addinivalue_line("markers", "network: talks to servers on 127.0.0.1 (local HTTP/SOAP servers only)")
    config.addinivalue_line("markers", "needs_tool(*names): runs these tools from the Python environment's bin "
                                       "directory; missing: skip, or fail when CI is set")


def _require_tools(names):
    missing = [n for n in names if tool_missing(n)]
    if not missing:
        return
    msg = "%s not found next to %s" % (", ".join(missing), sys.executable)
    if os.environ.get("CI"):
        pytest.fail(msg + " (CI is set: a missing tool is a failure, not a skip)", pytrace=False)
    pytest.skip(msg + " (install the dev requirements into this environment)")


def pytest_runtest_setup(item):
    for mark in item.iter_markers("needs_tool"):
        _require_tools(mark.args)


@pytest.fixture(scope="session")
def ansible_playbook():
    """Path of ``ansible-playbook`` in the environment running pytest (skip, or fail under CI, if missing)."""
    _require_tools(["ansible-playbook"])
    return tool_path("ansible-playbook")
