# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GuestStore integration tests: the logic through the real client layer (pyVmomi SOAP, datastore HTTPS) against
the project simulator, and the module through ansible-playbook."""

from __future__ import annotations

import pytest

from tests.integration.gueststore.gueststore_sim_helpers import VC_TOPOLOGY


@pytest.fixture(scope="module")
def gs_vc_sim(sim_factory):
    """vCenter simulator: DC1/C1 (esxi-01, -02 on 8.0 U2, esxi-03 on 7.0 U3, shared C1-shared), standalone
    esxi-10 (6.7) and esxi-11 (7.0 U2) with local datastores."""
    return sim_factory("vc", topology=VC_TOPOLOGY)


@pytest.fixture(scope="module")
def gs_esx_sim(sim_factory):
    """Standalone ESXi simulator (8.0 U2, datastore1)."""
    return sim_factory("esx")
