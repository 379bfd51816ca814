# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scan records on disk."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import record as _scan_record
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError


def test_roundtrip_modes_and_keys(tmp_path):
    d = str(tmp_path / "records")
    key = _scan_record.host_key("esxi-01.sim.local")
    assert key == "esxi-01.sim.local"
    v6 = _scan_record.host_key("localhost.localdomain", "[fd00::21]:443", via_vcenter=False)
    assert v6.startswith("localhost.localdomain_fd00_21_443_") and len(v6) == len("localhost.localdomain_fd00_21_443_") + 10
    # sanitising is lossy; distinct endpoints must still give distinct records
    assert _scan_record.host_key("h", "[fd00::1:0]:443", via_vcenter=False) != \
        _scan_record.host_key("h", "[fd00:1::0]:443", via_vcenter=False)
    assert _scan_record.read(d, key) is None
    path = _scan_record.write(d, key, {"name": "esxi-01.sim.local", "depot_digest": "ab", "missing": []})
    assert path == os.path.join(d, key + ".json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(d).st_mode) == 0o700
    rec = _scan_record.read(d, key)
    assert rec["depot_digest"] == "ab" and rec["record_version"] == _scan_record.RECORD_VERSION
    _scan_record.write(d, key, {"name": "x", "depot_digest": "cd"})
    assert _scan_record.read(d, key)["depot_digest"] == "cd"
    assert [n for n in os.listdir(d)] == [key + ".json"]


def test_damaged_record_is_an_input_error(tmp_path):
    (tmp_path / "h.json").write_text("{nope")
    with pytest.raises(InputError) as e:
        _scan_record.read(str(tmp_path), "h")
    assert "run esxi_patch_scan again" in str(e.value)
    (tmp_path / "g.json").write_text('{"record_version": 99}')
    with pytest.raises(InputError):
        _scan_record.read(str(tmp_path), "g")
