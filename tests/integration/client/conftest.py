# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client-layer integration tests: real pyVmomi SOAP against the project simulator (tests/simulator), both
in ESXi mode (one host, direct) and vCenter mode (DC1/C1 with esxi-01..03 + standalone esxi-10)."""

from __future__ import annotations

import pytest

from tests.integration.client.client_sim_helpers import HOST, connect

MODES = ["esx", "vc"]


@pytest.fixture(params=MODES)
def sim(request):
    """The module's ESXi or vCenter simulator; faults are cleared after each test."""
    s = request.getfixturevalue(request.param + "_sim")
    yield s
    if s.proc is not None:
        s.clear_faults()


@pytest.fixture
def client(sim):
    c = connect(sim)
    yield c
    c.close()


@pytest.fixture
def host(client):
    """esxi-01 (through vCenter) or the ESXi host itself."""
    return client.host(HOST)

