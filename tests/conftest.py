# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Root pytest configuration: marker registration only (keep collection fast; no imports of heavy libraries)."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds (deselect with -m 'not slow')")
    config.addinivalue_line("markers", "simulator: needs the ESXi/vCenter simulator (.bin/esxisim, built by `make sim`)")
    config.addinivalue_line("markers", "network: talks to servers on 127.0.0.1 (local HTTP/SOAP servers only)")
