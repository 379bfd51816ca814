# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The content-digest cache: in-process and on-disk JSON; equal to a fresh parse; robust to bad cache files."""

from __future__ import annotations

import json
import os
import shutil

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import cache as _depot_cache
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import sources as _depot_sources
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.cache import DepotCache, _decode, _encode
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot

from depot_oracle import BUNDLES, HOST_DB, REAL


def _snapshot(depot):
    return ({k: v.to_dict(with_files=True) | {"source": v.source, "hw": list(v.hw_platforms),
                                               "cimom": v.cimom_restart} for k, v in depot.vibs.items()},
            {k: b.to_dict() | {"source": b.source} for k, b in depot.bulletins.items()},
            {k: p.to_dict() | {"source": p.source} for k, p in depot.profiles.items()},
            depot.descriptor_signatures, depot.vib_files, depot.digest, depot.base_images, depot.addons)


def _count_parses(monkeypatch):
    calls = []
    real = _depot_sources.parse_metadata_files

    def counting(*a, **k):
        calls.append(a[1])
        return real(*a, **k)
    monkeypatch.setattr(_depot_sources, "parse_metadata_files", counting)
    return calls


def test_encode_decode_roundtrip_of_every_real_fixture():
    for src in BUNDLES + [HOST_DB]:
        d = load_depot([src])
        enc = json.loads(json.dumps(_encode(d)))
        back = _decode(enc, d.digest)
        back.vib_files = d.vib_files
        assert _snapshot(back) == _snapshot(d), src


def test_disk_cache_parses_once_and_returns_equal_depots(tmp_path, monkeypatch):
    calls = _count_parses(monkeypatch)
    cache = str(tmp_path / "cache")
    first = load_depot([HOST_DB] + BUNDLES[:5], cache_dir=cache)
    n = len(calls)
    assert n == 6
    files = os.listdir(os.path.join(cache, "depot"))
    assert len(files) == 6 and all(f.endswith(".json") for f in files)
    # a new process: empty in-process cache, the disk cache answers
    _depot_cache.clear_memory()
    second = load_depot([HOST_DB] + BUNDLES[:5], cache_dir=cache)
    assert len(calls) == n
    assert second.cache_stats["disk"] >= 6 and second.cache_stats["miss"] == 0
    assert _snapshot(second) == _snapshot(first)
    # same process: the in-process cache answers, no file is read
    shutil.rmtree(cache)
    third = load_depot([HOST_DB] + BUNDLES[:5])
    assert len(calls) == n and third.cache_stats["memory"] >= 6
    assert _snapshot(third) == _snapshot(first)


def test_cache_is_keyed_by_content_not_by_path(tmp_path, monkeypatch):
    calls = _count_parses(monkeypatch)
    src = [b for b in BUNDLES if "sata-xahci" in b][0]
    a = load_depot([src], cache_dir=str(tmp_path / "c"))
    copy = tmp_path / "renamed.zip"
    shutil.copy(src, copy)
    _depot_cache.clear_memory()
    b = load_depot([str(copy)], cache_dir=str(tmp_path / "c"))
    assert len(calls) == 1
    assert a.digest == b.digest
    vid = "VFrontDe_bootbank_sata-xahci_1.42-1"
    assert b.vibs[vid].source.startswith(str(copy) + "#")           # sources follow the new location
    assert b.vib_files[vid] == str(copy) + "#sata-xahci-1.42-1.x86_64.vib"
    assert a.vibs[vid].source.startswith(src + "#")


def test_corrupt_or_foreign_cache_files_are_ignored(tmp_path, monkeypatch):
    calls = _count_parses(monkeypatch)
    cache = tmp_path / "c"
    ref = load_depot([HOST_DB], cache_dir=str(cache))
    (path,) = [os.path.join(cache, "depot", f) for f in os.listdir(cache / "depot")]
    digest = os.path.basename(path)[:-5]
    for bad in (b"not json", b"[]", json.dumps({"format": "x"}).encode(), b"\xff\xfe",
                json.dumps(dict(json.load(open(path)), digest="0" * 64)).encode(),
                json.dumps(dict(json.load(open(path)), vibs={"id": [0]})).encode()):
        with open(path, "wb") as f:
            f.write(bad)
        _depot_cache.clear_memory()
        assert DepotCache(str(cache)).get(digest) is None
        again = load_depot([HOST_DB], cache_dir=str(cache))
        assert _snapshot(again) == _snapshot(ref)
    assert len(calls) == 7


def test_cache_is_json_not_pickle(tmp_path):
    cache = tmp_path / "c"
    load_depot([os.path.join(REAL, "lamw__ghettoVCB/2015-05-27_e6e25309/vghetto-ghettoVCB-offline-bundle.zip")],
               cache_dir=str(cache))
    for f in os.listdir(cache / "depot"):
        doc = json.load(open(cache / "depot" / f))
        assert doc["format"] == _depot_cache.FORMAT
    assert oct(os.stat(cache / "depot").st_mode & 0o777) == "0o700"


def test_unwritable_cache_dir_is_not_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    d = load_depot([HOST_DB], cache_dir=str(blocker))
    assert d.counts()["vibs"] == 136
