# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Depot unit tests: fresh in-process cache per test. Helpers and the stdlib oracle are in depot_oracle.py."""

from __future__ import annotations

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import cache as _depot_cache


@pytest.fixture(autouse=True)
def _fresh_memory_cache():
    """Every test starts with an empty in-process depot cache (tests must not pass thanks to another test)."""
    _depot_cache.clear_memory()
    yield
    _depot_cache.clear_memory()


