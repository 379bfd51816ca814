# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GuestStore integration tests: the logic through the real client layer (pyVmomi SOAP, datastore HTTPS) against
the project simulator, and the module through ansible-playbook."""

from __future__ import annotations

import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(_HERE)))
for _p in (_ROOT, _HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from tests.simulator.harness import Simulator  # noqa: E402

from gueststore_sim_helpers import VC_TOPOLOGY  # noqa: E402


@pytest.fixture(scope="module")
def gs_vc_sim():
    """vCenter simulator: DC1/C1 (esxi-01, -02 on 8.0 U2, esxi-03 on 7.0 U3, shared C1-shared), standalone
    esxi-10 (6.7) and esxi-11 (7.0 U2) with local datastores."""
    sim = Simulator(mode="vc", topology=VC_TOPOLOGY)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def gs_esx_sim():
    """Standalone ESXi simulator (8.0 U2, datastore1)."""
    sim = Simulator(mode="esx")
    sim.start()
    yield sim
    sim.stop()
