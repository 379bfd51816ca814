# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The content-digest cache: in-process and on-disk indexed record files (format 3, read lazily); equal to a
fresh parse; robust to bad cache files; warm loads skip hashing an unchanged file (path index)."""

from __future__ import annotations

import json
import os
import shutil

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import cache as _depot_cache
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import sources as _depot_sources
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.cache import DepotCache, encode, open_cached
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


def test_encode_decode_roundtrip_of_every_real_fixture(tmp_path):
    for n, src in enumerate(BUNDLES + [HOST_DB]):
        d = load_depot([src])
        path = str(tmp_path / ("%d.fpdc" % n))
        with open(path, "wb") as f:
            f.write(encode(d))
        back = open_cached(path, d.digest)
        back.vib_files = d.vib_files
        assert _snapshot(back) == _snapshot(d), src
        # one record at a time (lazy) and all at once give the same models
        again = open_cached(path, d.digest)
        assert [again.vibs[k].to_dict(with_files=True) for k in d.vibs] == \
            [v.to_dict(with_files=True) for v in d.vibs.values()]


def test_disk_cache_parses_once_and_returns_equal_depots(tmp_path, monkeypatch):
    calls = _count_parses(monkeypatch)
    cache = str(tmp_path / "cache")
    first = load_depot([HOST_DB] + BUNDLES[:5], cache_dir=cache)
    n = len(calls)
    assert n == 6
    files = os.listdir(os.path.join(cache, "depot"))
    assert sorted(f.rsplit(".", 1)[-1] for f in files) == ["fpdc"] * 6 + ["paths"]
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
    (path,) = [os.path.join(cache, "depot", f) for f in os.listdir(cache / "depot") if f.endswith(".fpdc")]
    digest = os.path.basename(path)[:-5]
    good = open(path, "rb").read()
    head, rest = good.split(b"\n", 1)
    hdoc = json.loads(head)
    for bad in (b"", b"not json", b"[]", json.dumps({"format": "x"}).encode(), b"\xff\xfe",
                good[:-1],                                                     # truncated
                good[:100] + b"X" + good[101:-25] + good[-24:],                # a byte less: length check
                json.dumps(dict(hdoc, digest="0" * 64)).encode() + b"\n" + rest,
                json.dumps(dict(hdoc, version=2)).encode() + b"\n" + rest,
                json.dumps(dict(hdoc, sections=dict(hdoc["sections"], vibs=[0, 10 ** 9]))).encode() + b"\n" + rest):
        with open(path, "wb") as f:
            f.write(bad)
        _depot_cache.clear_memory()
        assert DepotCache(str(cache)).get(digest) is None
        again = load_depot([HOST_DB], cache_dir=str(cache))
        assert _snapshot(again) == _snapshot(ref)
    assert len(calls) == 11


def test_cache_is_data_not_pickle(tmp_path):
    cache = tmp_path / "c"
    load_depot([os.path.join(REAL, "lamw__ghettoVCB/2015-05-27_e6e25309/vghetto-ghettoVCB-offline-bundle.zip")],
               cache_dir=str(cache))
    for f in os.listdir(cache / "depot"):
        if not f.endswith(".fpdc"):
            continue
        data = open(cache / "depot" / f, "rb").read()
        head = json.loads(data.split(b"\n", 1)[0])
        assert head["format"] == _depot_cache.FORMAT and head["version"] == 3
        a, n = head["sections"]["vibs"]
        body = data.split(b"\n", 1)[1]
        assert json.loads(b"[" + body[a:a + n] + b"]")      # the records are JSON
        assert oct(os.stat(cache / "depot" / f).st_mode & 0o777) == "0o600"
    assert oct(os.stat(cache / "depot").st_mode & 0o777) == "0o700"


def test_unchanged_zip_is_not_hashed_again_and_a_changed_one_is(tmp_path, monkeypatch):
    src = [b for b in BUNDLES if "sata-xahci" in b][0]
    z = tmp_path / "m.zip"
    shutil.copy(src, z)
    cache = str(tmp_path / "c")
    first = load_depot([str(z)], cache_dir=cache)
    hashed = []
    real = _depot_sources.hashlib.sha256

    def counting(data=b""):
        hashed.append(len(data))
        return real(data)
    monkeypatch.setattr(_depot_sources.hashlib, "sha256", counting)
    _depot_cache.clear_memory()
    second = load_depot([str(z)], cache_dir=cache)
    assert second.cache_stats["disk"] == 1 and _snapshot(second) == _snapshot(first)
    assert os.path.getsize(z) not in hashed            # the zip itself was not read and hashed again
    # another file at the same path (new inode, size or times): hashed again, never the stale digest
    other = [b for b in BUNDLES if "sata-xahci" not in b][0]
    shutil.copy(other, str(z) + ".new")
    os.replace(str(z) + ".new", z)
    _depot_cache.clear_memory()
    third = load_depot([str(z)], cache_dir=cache)
    assert third.digest != first.digest and set(third.vibs) != set(first.vibs)


def test_lazy_depot_reads_records_on_use_and_merges_as_layers(tmp_path):
    cache = str(tmp_path / "c")
    ref = load_depot([HOST_DB] + BUNDLES[:3], cache_dir=cache)
    _depot_cache.clear_memory()
    warm = load_depot([HOST_DB] + BUNDLES[:3], cache_dir=cache)
    assert sorted(warm.vibs) == sorted(ref.vibs) and len(warm.vibs) == len(ref.vibs)
    vid = sorted(ref.vibs)[0]
    assert vid in warm.vibs and warm.vibs[vid] == ref.vibs[vid] and warm.vibs.get("nope") is None
    assert dict(warm.vib_files) == dict(ref.vib_files)
    warm.vibs["extra"] = ref.vibs[vid]                  # a merged depot stays writable
    assert "extra" in warm.vibs and len(warm.vibs) == len(ref.vibs) + 1


def test_unwritable_cache_dir_is_not_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    d = load_depot([HOST_DB], cache_dir=str(blocker))
    assert d.counts()["vibs"] == 136


def test_a_record_damaged_after_the_load_is_a_clear_failure_naming_the_file(tmp_path):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotFormatError
    d = load_depot([HOST_DB])
    path = str(tmp_path / "x.fpdc")
    data = bytearray(encode(d))
    with open(path, "wb") as f:
        f.write(bytes(data))
    lazy = open_cached(path, d.digest)
    head = json.loads(bytes(data).split(b"\n", 1)[0])
    a, n = head["sections"]["vibs"]
    base = bytes(data).index(b"\n") + 1
    data[base + a:base + a + 8] = b"\xff" * 8           # the first record, after the checks at load
    with open(path, "wb") as f:
        f.write(bytes(data))
    damaged = open_cached(path, d.digest)
    first = next(iter(damaged.vibs))
    try:
        damaged.vibs[first]
    except DepotFormatError as e:
        assert e.source == path and "damaged" in str(e)
    else:
        raise AssertionError("no error")
    assert lazy.vibs is not None
