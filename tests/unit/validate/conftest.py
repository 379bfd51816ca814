# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the validation tests: the real ESXi 6.7 image database, the real bundles and VMware's certificates."""

from __future__ import annotations

import pytest

from tests.unit.validate.validate_helpers import CRL, ESXIMG, TRUST, real_bundles, real_vib_files


@pytest.fixture(scope="session")
def esximg_depot():
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot
    return load_depot(ESXIMG)


@pytest.fixture(scope="session")
def bundles_depot():
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot
    return load_depot(real_bundles() + real_vib_files())


@pytest.fixture(scope="session")
def trust():
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.validation import read_trust_store
    return read_trust_store(TRUST + [CRL])
