# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: cache of parsed depot metadata, keyed by content digest. Breaking changes at any time.

Two levels:

* in-process: a dict ``digest -> Depot`` (the parsed content of one metadata unit), so several loads in one
  Python process parse a metadata.zip once;
* on disk (optional ``cache_dir``): one indexed record file per digest, ``<cache_dir>/depot/<sha256>.fpdc``
  (format 3, below): JSON records and strings, not pickle (a cache directory may be shared or writable by
  others; loading cannot run code). Loading maps the file and reads its key lists only, so a warm load does
  not grow with the depot; records become models on first use. A file that fails its checks (format,
  version, digest, length, bounds) is a cache miss and the metadata is parsed again;
* a path index, ``<cache_dir>/depot/paths/<sha256 of the path>.json``: the digest of a local file with the
  ``stat()`` it had when it was hashed (size, mtime_ns, ctime_ns, inode, device), so a known, unchanged
  metadata.zip is not read again to find its digest (the rule git and make use; any write changes ctime).

Every file is written to a temporary file and renamed into place: concurrent writers (AWX slices, parallel
tasks) each write a complete file and the last rename wins; readers never see a partial file.

Cached objects are shared: treat the models of a loaded ``Depot`` as read-only.
"""

from __future__ import annotations

import array
import hashlib
import json
import mmap
import os
import sys
import threading
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import parse as _p
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotFormatError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.fileutil import write_atomic
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import (
    Bulletin, Checksum, Component, Depot, FileList, ImageProfile, Payload, Vib,
)


FORMAT = "fleetpatch.esxi/depot-cache"
FORMAT_VERSION = 3
_MAX_MEMORY_ENTRIES = 64
_memory: Dict[str, Depot] = {}


def clear_memory() -> None:
    _memory.clear()


# ---- format 3: an indexed record file, read lazily ------------------------------------------------------
# File ``<cache_dir>/depot/<sha256>.fpdc``:
#   line 1     JSON header: format, version, digest, counts, section table, small depot fields (meta)
#   sections   ``<kind>_ids``: the keys joined by NUL; ``<kind>_off``: n+1 little-endian uint64 offsets;
#              ``<kind>``: the records, each one JSON array, joined by "," (so the section inside "[...]" is
#              one JSON document: reading every record is one ``json.loads``); ``files``: file lists (the
#              paths joined by NUL) with ``files_off``
#   trailer    ``_END`` + the file length as 16 hex digits
# Loading reads the header and the key lists only (mmap): the cost does not grow with the records. A record
# becomes a model on first use; once a consumer has read ``_BULK_AFTER`` records one by one, the rest are read
# in one go. Data only: JSON and strings, never pickle (a cache folder may be shared; loading cannot run code).
_NUL = "\x00"       # cannot occur in XML text
_END = b"\nFPDC-END"
_BULK_AFTER = 256
_KINDS = ("vibs", "bulletins", "profiles")


class _Enc(object):
    """The shared tables: every string once (index -1 is None), equal relation/platform/string tuples once."""

    def __init__(self) -> None:
        self.strings: List[str] = []
        self._sidx: Dict[str, int] = {}
        self.groups: Dict[str, Tuple[list, dict]] = {}

    def s(self, value: Optional[str]) -> int:
        if value is None:
            return -1
        i = self._sidx.get(value)
        if i is None:
            i = self._sidx[value] = len(self.strings)
            self.strings.append(value)
        return i

    def group(self, kind: str, key: object, make: Callable[[], object]) -> int:
        table, index = self.groups.setdefault(kind, ([], {}))
        i = index.get(key)
        if i is None:
            i = index[key] = len(table)
            table.append(make())
        return i


def _records(depot: Depot, fidx: Callable[[Sequence[str]], int]) -> Tuple[_Enc, Dict[str, List[list]]]:
    e = _Enc()
    S = e.s

    def rg(rels: tuple) -> int:
        return e.group("rel_groups", rels, lambda: [
            e.group("relations", r, lambda: [S(r.name), S(r.relation), S(r.version)]) for r in rels])

    def pg(provs: tuple) -> int:
        return e.group("prov_groups", provs, lambda: [
            e.group("provides", p, lambda: [S(p.name), S(p.version)]) for p in provs])

    def plg(plats: tuple) -> int:
        return e.group("plat_groups", plats, lambda: [
            e.group("platforms", p, lambda: [S(p.product_line), S(p.version), S(p.locale)]) for p in plats])

    def sg(strs: tuple) -> int:
        return e.group("str_groups", strs, lambda: [S(x) for x in strs])

    def ck(c: Optional[Checksum]) -> Optional[list]:
        return None if c is None else [S(c.type), c.value, S(c.verify_process)]

    vibs = []
    for v in depot.vibs.values():
        flags = (int(v.maintenance_mode_required) | int(v.live_install_allowed) << 1
                 | int(v.live_remove_allowed) << 2 | int(v.stateless_ready) << 3 | int(v.overlay) << 4
                 | int(v.cimom_restart) << 5)
        vibs.append([S(v.id), S(v.name), S(v.version), S(v.vendor), S(v.type), S(v.acceptance_level),
                     S(v.summary), S(v.description), S(v.release_date), rg(tuple(v.depends)),
                     rg(tuple(v.conflicts)), rg(tuple(v.replaces)), pg(tuple(v.provides)), flags,
                     plg(tuple(v.platforms)), [dict(h) for h in v.hw_platforms], S(v.relative_path), v.packed_size,
                     ck(v.checksum),
                     [[S(p.name), S(p.type), p.size, p.uncompressed_size, S(p.compression_option),
                       [ck(c) for c in p.checksums]] for p in v.payloads],
                     sg(tuple(v.tags)), fidx(v.files), S(v.install_date), S(v.source),
                     [[S(k), S(u)] for k, u in v.urls]])
    bulletins = []
    for b in depot.bulletins.values():
        c = b.component
        bulletins.append([S(b.id), S(b.vendor), S(b.summary), S(b.severity), S(b.category), S(b.urgency),
                          S(b.release_type), S(b.release_date), S(b.kb_url), S(b.description), S(b.contact),
                          plg(tuple(b.platforms)), sg(tuple(b.vib_ids)),
                          None if c is None else [S(c.name), S(c.version), S(c.display_name), S(c.display_version)],
                          S(b.source)])
    profiles = [[S(p.name), S(p.creator), S(p.acceptance_level), sg(tuple(p.vib_ids)), S(p.description),
                 S(p.profile_id), S(p.creation_time), S(p.modified_time), bool(p.readonly), S(p.source)]
                for p in depot.profiles.values()]
    return e, {"vibs": vibs, "bulletins": bulletins, "profiles": profiles}


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode(depot: Depot) -> bytes:
    """The format-3 bytes of one unit's content."""
    file_texts: List[str] = []
    file_index: Dict[str, int] = {}

    def fidx(files: Sequence[str]) -> int:
        if not files:
            return -1
        text = files.joined(_NUL) if isinstance(files, FileList) else _NUL.join(files)
        i = file_index.get(text)
        if i is None:
            i = file_index[text] = len(file_texts)
            file_texts.append(text)
        return i

    e, recs = _records(depot, fidx)
    sections: List[Tuple[str, bytes]] = []
    counts = {}
    for kind, mapping in (("vibs", depot.vibs), ("bulletins", depot.bulletins), ("profiles", depot.profiles)):
        keys = list(mapping)
        for k in keys:
            if not isinstance(k, str) or _NUL in k:
                raise ValueError("key not cacheable")
        blobs = [_dumps(r) for r in recs[kind]]
        counts[kind] = len(keys)
        sections.append((kind + "_ids", _NUL.join(keys).encode("utf-8")))
        sections.append((kind + "_off", _offsets(blobs)))
        sections.append((kind, b",".join(blobs)))
    blobs = [t.encode("utf-8") for t in file_texts]
    sections.append(("files_off", _offsets(blobs, sep=0)))
    sections.append(("files", b"".join(blobs)))
    sections.append(("tables", _dumps({"strings": e.strings + [None],
                                       "groups": {k: t for k, (t, _i) in e.groups.items()}})))
    table = {}
    pos = 0
    for name, data in sections:
        table[name] = [pos, len(data)]
        pos += len(data)
    meta = {"base_images": depot.base_images, "addons": depot.addons,
            "descriptor_signatures": depot.descriptor_signatures, "warnings": list(depot.warnings),
            "sources": list(depot.sources)}
    header = _dumps({"format": FORMAT, "version": FORMAT_VERSION, "digest": depot.digest, "counts": counts,
                     "sections": table, "meta": meta}) + b"\n"
    body = header + b"".join(d for _name, d in sections)
    return body + _END + b"%016x" % (len(body) + len(_END) + 16)


def _offsets(blobs: List[bytes], sep: int = 1) -> bytes:
    """n+1 start offsets of ``blobs`` joined by a ``sep``-byte separator (the last one as if followed by it)."""
    out = array.array("Q", [0] * (len(blobs) + 1))
    pos = 0
    for i, b in enumerate(blobs):
        out[i] = pos
        pos += len(b) + sep
    out[len(blobs)] = pos
    if sys.byteorder != "little":  # pragma: no cover - the file is little-endian everywhere
        out.byteswap()
    return out.tobytes()


class _File(object):
    """An open, checked format-3 file (mmap when possible)."""

    def __init__(self, path: str, digest: str) -> None:
        with open(path, "rb") as f:
            try:
                buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)   # type: ignore[assignment]
            except (ValueError, OSError):   # empty file, or no mmap here
                buf = f.read()   # type: ignore[assignment]
        self.buf = buf
        size = len(buf)
        tail = bytes(buf[size - len(_END) - 16:])
        if size < len(_END) + 16 or not tail.startswith(_END) or int(tail[len(_END):], 16) != size:
            raise ValueError("truncated or foreign cache file")
        nl = buf.find(b"\n")
        head = json.loads(bytes(buf[:nl]).decode("utf-8"))
        if not isinstance(head, dict) or head.get("format") != FORMAT or head.get("version") != FORMAT_VERSION \
                or head.get("digest") != digest:
            raise ValueError("not this digest's cache file")
        self.head = head
        self.base = nl + 1
        self.limit = size - len(_END) - 16
        for name, (a, n) in head["sections"].items():
            if a < 0 or n < 0 or self.base + a + n > self.limit:
                raise ValueError("section %s out of bounds" % name)

    def section(self, name: str) -> bytes:
        a, n = self.head["sections"][name]
        return self.buf[self.base + a:self.base + a + n]

    def offsets(self, name: str, count: int) -> array.array:
        out = array.array("Q")
        out.frombytes(self.section(name))
        if sys.byteorder != "little":  # pragma: no cover
            out.byteswap()
        if len(out) != count + 1:
            raise ValueError("offset table %s has %d entries for %d records" % (name, len(out), count))
        return out


class CacheFileError(DepotFormatError):
    """A cache file that passed its checks at load time turned out unreadable later (disk corruption): a clear
    failure naming the file (records are read lazily, after the load). Deleting the file fixes it."""


class LazyRecords(Mapping):
    """``key -> model`` over one section of a cache file; records decoded on first use, then kept."""
    lazy_layer = True

    def __init__(self, f: _File, kind: str, decode: Callable[[list], object], path: str) -> None:
        n = f.head["counts"][kind]
        if not isinstance(n, int) or n < 0:
            raise ValueError("%s: bad record count" % kind)
        self._f = f
        self._kind = kind
        self._decode = decode
        self._path = path
        self._n = n
        self._keys_list: Optional[List[str]] = None    # the key list and its index: read on first use
        self._index_map: Optional[Dict[str, int]] = None
        self._off: Optional[array.array] = None
        self._done: Dict[str, object] = {}
        self._single = 0
        self._lock = threading.Lock()

    @property
    def _keys(self) -> List[str]:
        if self._keys_list is None:
            self._load_keys()
        if not (self._keys_list is not None):
            raise AssertionError('self._keys_list is not None')
        return self._keys_list

    @property
    def _index(self) -> Dict[str, int]:
        if self._index_map is None:
            self._load_keys()
        if not (self._index_map is not None):
            raise AssertionError('self._index_map is not None')
        return self._index_map

    def _load_keys(self) -> None:
        n = self._n
        raw = self._f.section(self._kind + "_ids")
        try:
            keys = bytes(raw).decode("utf-8").split(_NUL) if n else []
        except UnicodeDecodeError as exc:
            raise CacheFileError("the depot cache file is damaged (%s); delete it" % exc, source=self._path)
        index = dict(zip(keys, range(n)))
        if len(keys) != n or len(index) != n:
            raise CacheFileError("the depot cache file is damaged (%s: %d keys for %d records); delete it"
                                 % (self._kind, len(keys), n), source=self._path)
        self._keys_list, self._index_map = keys, index

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __getitem__(self, key: str) -> object:
        done = self._done.get(key)
        if done is not None:
            return done
        i = self._index[key]
        with self._lock:
            done = self._done.get(key)
            if done is not None:
                return done
            self._single += 1
            if self._single > _BULK_AFTER:
                self._load_all()
                return self._done[key]
            if self._off is None:
                self._off = self._f.offsets(self._kind + "_off", len(self._keys))
            a, b = self._off[i], self._off[i + 1] - 1
            sec = self._f.section(self._kind)
            try:
                model = self._decode(json.loads(bytes(sec[a:b]).decode("utf-8")))
            except (ValueError, TypeError, KeyError, IndexError, UnicodeDecodeError) as exc:
                raise CacheFileError("the depot cache file is damaged (%s); delete it" % exc, source=self._path)
            self._done[key] = model
            return model

    def _load_all(self) -> None:
        sec = self._f.section(self._kind)
        try:
            recs = json.loads(b"[" + bytes(sec) + b"]") if self._keys else []
            if len(recs) != len(self._keys):
                raise ValueError("record count")
            done = self._done
            decode = self._decode
            for k, r in zip(self._keys, recs):
                if k not in done:
                    done[k] = decode(r)
        except (ValueError, TypeError, KeyError, IndexError, UnicodeDecodeError) as exc:
            raise CacheFileError("the depot cache file is damaged (%s); delete it" % exc, source=self._path)

    def values(self):  # type: ignore[override]
        with self._lock:
            if len(self._done) < len(self._keys):
                self._load_all()
        return [self._done[k] for k in self._keys]

    def items(self):  # type: ignore[override]
        return list(zip(self._keys, self.values()))


_FLAGS = [tuple(bool(f & (1 << i)) for i in range(6)) for f in range(64)]


class _Decoder(object):
    """Record arrays -> models. The shared tables (strings, relation/platform/string tuples) are read on the
    first record, so equal values stay one object, as after a parse."""

    def __init__(self, f: _File) -> None:
        self.f = f
        self.files: Dict[int, FileList] = {}
        self.files_off: Optional[array.array] = None
        self.lock = threading.Lock()
        self.S: Optional[list] = None

    def tables(self) -> None:
        with self.lock:
            if self.S is not None:
                return
            doc = json.loads(bytes(self.f.section("tables")).decode("utf-8"))
            strings = doc["strings"]
            if not isinstance(strings, list) or not strings or strings[-1] is not None:
                raise ValueError("string table")
            S = strings.__getitem__
            g = doc["groups"]
            rels = [_p.relation(S(a), S(b), S(c)) for a, b, c in g.get("relations", ())]
            provs = [_p.provide(S(a), S(b)) for a, b in g.get("provides", ())]
            plats = [_p.platform(S(a), S(b), S(c)) for a, b, c in g.get("platforms", ())]
            self.RG = [tuple([rels[i] for i in grp]) for grp in g.get("rel_groups", ())]
            self.PG = [tuple([provs[i] for i in grp]) for grp in g.get("prov_groups", ())]
            self.PLG = [tuple([plats[i] for i in grp]) for grp in g.get("plat_groups", ())]
            self.SG = [tuple(map(S, grp)) for grp in g.get("str_groups", ())]
            self.S = strings

    def _files(self, i: int) -> Sequence[str]:
        if i < 0:
            return ()
        fl = self.files.get(i)
        if fl is None:
            if self.files_off is None:
                self.files_off = self.f.offsets("files_off", len(self.f.section("files_off")) // 8 - 1)
            off = self.files_off
            sec = self.f.section("files")
            fl = self.files[i] = FileList(bytes(sec[off[i]:off[i + 1]]).decode("utf-8"), _NUL)
        return fl

    def vib(self, r: list) -> Vib:
        if self.S is None:
            self.tables()
        S = self.S
        if not (S is not None):
            raise AssertionError('S is not None')
        (vid, name, version, vendor, vtype, acc, summary, desc, rdate, dep, con, rep, prov, flags, plats, hw,
         relpath, packed, ck, payloads, tags, files, idate, source, urls) = r
        fl = _FLAGS[flags]
        tnew = tuple.__new__
        RG = self.RG
        return Vib(
            S[vid], S[name], S[version], S[vendor], S[vtype], S[acc], S[summary], S[desc], S[rdate],
            RG[dep], RG[con], RG[rep], self.PG[prov], fl[0], fl[1], fl[2], fl[3], fl[4], fl[5], self.PLG[plats],
            tuple(hw), S[relpath], packed,
            tnew(Checksum, (S[ck[0]], ck[1], S[ck[2]])) if ck is not None else None,
            tuple([tnew(Payload, (S[a], S[b], c, d, S[e], tuple([tnew(Checksum, (S[x], y, S[z]))
                                                                for x, y, z in cks])))
                   for a, b, c, d, e, cks in payloads]),
            self.SG[tags], self._files(files), S[idate], S[source], tuple([(S[k], S[u]) for k, u in urls]))

    def bulletin(self, r: list) -> Bulletin:
        if self.S is None:
            self.tables()
        S = self.S
        if not (S is not None):
            raise AssertionError('S is not None')
        bid, vendor, summary, sev, cat, urg, rtype, rdate, kb, desc, contact, plats, vib_ids, comp, source = r
        return Bulletin(S[bid], S[vendor], S[summary], S[sev], S[cat], S[urg], S[rtype], S[rdate], S[kb], S[desc],
                        S[contact], self.PLG[plats], self.SG[vib_ids],
                        tuple.__new__(Component, (S[comp[0]], S[comp[1]], S[comp[2]], S[comp[3]])) if comp else None,
                        S[source])

    def profile(self, r: list) -> ImageProfile:
        if self.S is None:
            self.tables()
        S = self.S
        if not (S is not None):
            raise AssertionError('S is not None')
        name, creator, acc, vib_ids, desc, pid, ctime, mtime, ro, source = r
        return ImageProfile(S[name], S[creator], S[acc], self.SG[vib_ids], S[desc], S[pid], S[ctime], S[mtime],
                            bool(ro), S[source])


def open_cached(path: str, digest: str) -> Depot:
    """The ``Depot`` of a format-3 file, its records read lazily. ValueError/OSError if it is not usable."""
    f = _File(path, digest)
    dec = _Decoder(f)
    depot = Depot(digest=digest)
    depot.vibs = LazyRecords(f, "vibs", dec.vib, path)  # type: ignore[assignment]
    depot.bulletins = LazyRecords(f, "bulletins", dec.bulletin, path)  # type: ignore[assignment]
    depot.profiles = LazyRecords(f, "profiles", dec.profile, path)  # type: ignore[assignment]
    meta = f.head["meta"]
    depot.base_images = dict(meta["base_images"])
    depot.addons = dict(meta["addons"])
    depot.descriptor_signatures = dict(meta["descriptor_signatures"])
    depot.warnings = list(meta["warnings"])
    depot.sources = list(meta["sources"])
    return depot


# ---- cache ------------------------------------------------------------------------------------------------
_HEX = frozenset("0123456789abcdef")


def _is_digest(digest: object) -> bool:
    return isinstance(digest, str) and len(digest) == 64 and all(c in _HEX for c in digest)


def _stat_key(st: os.stat_result) -> List[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class DepotCache(object):
    """``get(digest)``/``put(digest, depot)`` over the in-process dict and the optional on-disk record files;
    ``path_digest(path)``/``remember_path(path, digest)`` over the path index."""

    def __init__(self, cache_dir: Optional[str] = None, memory: bool = True) -> None:
        self.dir = os.path.join(cache_dir, "depot") if cache_dir else None
        self.memory = memory
        self.hits = {"memory": 0, "disk": 0, "miss": 0}
        self._stats: Dict[str, os.stat_result] = {}

    def _path(self, digest: str) -> str:
        return os.path.join(self.dir or "", "%s.fpdc" % digest)

    def has(self, digest: Optional[str]) -> bool:
        """True if ``digest`` is cached in memory or on disk (cheap: no decoding)."""
        if not digest:
            return False
        if self.memory and digest in _memory:
            return True
        return bool(self.dir) and _is_digest(digest) and os.path.isfile(self._path(digest))

    def get(self, digest: Optional[str]) -> Optional[Depot]:
        if not digest:
            return None
        if self.memory and digest in _memory:
            self.hits["memory"] += 1
            return _memory[digest]
        depot = self._disk_get(digest)
        if depot is not None:
            self.hits["disk"] += 1
            self._remember(digest, depot)
            return depot
        self.hits["miss"] += 1
        return None

    def _disk_get(self, digest: str) -> Optional[Depot]:
        if not self.dir or not _is_digest(digest):
            return None
        try:
            return open_cached(self._path(digest), digest)
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, UnicodeDecodeError,
                RecursionError, OverflowError):
            return None   # missing, foreign or corrupt cache file: parse again

    def _remember(self, digest: str, depot: Depot) -> None:
        if not self.memory:
            return
        if len(_memory) >= _MAX_MEMORY_ENTRIES:
            _memory.pop(next(iter(_memory)))
        _memory[digest] = depot

    def put(self, digest: Optional[str], depot: Depot) -> None:
        if not digest:
            return
        self._remember(digest, depot)
        if not self.dir or not _is_digest(digest):
            return
        try:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            write_atomic(self._path(digest), encode(depot), mode=0o600, prefix=".tmp-")
        except (OSError, ValueError, TypeError):
            pass   # an unwritable cache (or content it cannot hold) is not an error

    # ---- path index -------------------------------------------------------------------------------------
    def _index_path(self, path: str) -> str:
        key = hashlib.sha256(os.path.abspath(path).encode("utf-8", "surrogateescape")).hexdigest()
        return os.path.join(self.dir or "", "paths", key + ".json")

    def path_digest(self, path: str) -> Optional[str]:
        """The digest recorded for local file ``path`` if the file has not changed since (else None)."""
        if not self.dir:
            return None
        try:
            st = os.stat(path)
            self._stats[os.path.abspath(path)] = st   # before the caller reads it: remember_path records this
            with open(self._index_path(path), "rb") as f:
                rec = json.loads(f.read(4096).decode("utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        if not isinstance(rec, dict) or rec.get("path") != os.path.abspath(path) \
                or rec.get("stat") != _stat_key(st) or not _is_digest(rec.get("digest")):
            return None
        return rec["digest"]

    def remember_path(self, path: str, digest: str) -> str:
        """Record that local file ``path``, as it is now, has ``digest``; returns ``digest``."""
        if self.dir and _is_digest(digest):
            try:
                # the stat taken before the caller read the file: a change during the read is not recorded
                st = self._stats.pop(os.path.abspath(path), None)
                if st is None or _stat_key(os.stat(path)) != _stat_key(st):
                    return digest
                folder = os.path.join(self.dir, "paths")
                os.makedirs(self.dir, mode=0o700, exist_ok=True)
                os.makedirs(folder, mode=0o700, exist_ok=True)
                write_atomic(self._index_path(path),
                             _dumps({"path": os.path.abspath(path), "stat": _stat_key(st), "digest": digest}),
                             mode=0o600, prefix=".tmp-")
            except (OSError, ValueError):
                pass
        return digest
