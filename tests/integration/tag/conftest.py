# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vCenter tag tests: the vAPI client (clients/_vapi.py) and the tagging logic against the simulator's vAPI REST
endpoints, the esxi_host_tag module and the patch_scan role (patch_scan_tag_hosts) through ansible-playbook."""

from __future__ import annotations

import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(_HERE)))
for _p in (ROOT, os.path.join(ROOT, ".collections"), _HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from tests.simulator.harness import Simulator  # noqa: E402


@pytest.fixture(scope="module")
def tag_vc_sim():
    """vCenter simulator with the default topology: DC1/C1 (esxi-01..03), standalone esxi-10."""
    sim = Simulator(mode="vc", reboot_down=0.5)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def tag_esx_sim():
    """Standalone ESXi simulator (esxi-01.sim.local)."""
    sim = Simulator(mode="esx", reboot_down=0.5)
    sim.start()
    yield sim
    sim.stop()

