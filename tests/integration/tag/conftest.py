# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vCenter tag tests: the vAPI client (clients/_vapi.py) and the tagging logic against the simulator's vAPI REST
endpoints, the esxi_host_tag module and the patch_scan role (patch_scan_tag_hosts) through ansible-playbook."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tag_vc_sim(sim_factory):
    """vCenter simulator with the default topology: DC1/C1 (esxi-01..03), standalone esxi-10."""
    return sim_factory("vc", reboot_down=0.5)


@pytest.fixture(scope="module")
def tag_esx_sim(sim_factory):
    """Standalone ESXi simulator (esxi-01.sim.local)."""
    return sim_factory("esx", reboot_down=0.5)

