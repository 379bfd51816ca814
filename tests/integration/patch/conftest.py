# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patch scan/deploy against the simulator (tests/simulator): ansible-playbook runs of the modules and direct
calls of module_utils._patch (scan, deploy). Depots are built from the real fixture bundles (tests/fixtures/real) and served
over real HTTP on 127.0.0.1; the simulated hosts download and apply them. Helpers: patch_sim_helpers.py."""

from __future__ import annotations

import pytest

from tests.integration.patch.patch_sim_helpers import Depots


@pytest.fixture(scope="module")
def depots(_depot_server_module):
    """The depots of the test module (see patch_sim_helpers.Depots) on its own HTTP server."""
    return Depots(_depot_server_module)


@pytest.fixture
def sim_ca(monkeypatch):
    """Callable: make the client layer verify the simulator's certificate (``$REQUESTS_CA_BUNDLE``)."""
    def use(sim):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.ca_file)
    return use
