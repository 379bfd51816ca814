"""Fixtures for the simulator's own tests (only this directory; see fixtures.py)."""
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from .fixtures import _depot_server_module, depot_server, esx_sim, fixture_path, vc_sim  # noqa: E402,F401
