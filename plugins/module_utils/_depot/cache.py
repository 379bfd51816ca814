# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: cache of parsed depot metadata, keyed by content digest. Breaking changes at any time.

Two levels:

* in-process: a dict ``digest -> Depot`` (the parsed content of one metadata unit), so several loads in one
  Python process parse a metadata.zip once;
* on disk (optional ``cache_dir``): one JSON file per digest, ``<cache_dir>/depot/<sha256>.json``. JSON, not
  pickle: a cache directory may be shared or writable by others, and loading JSON cannot run code. The
  encoding is positional and compact (a format version guards it); anything that does not decode exactly is
  treated as a cache miss and the metadata is parsed again.

Cached objects are shared: treat the models of a loaded ``Depot`` as read-only.
"""

from __future__ import annotations

import gc
import json
import os

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import parse as _p
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.fileutil import write_atomic
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import (
    Bulletin, Checksum, Component, Depot, ImageProfile, Payload, Vib,
)

FORMAT = "fleetpatch.esxi/depot-cache"
FORMAT_VERSION = 2
_MAX_MEMORY_ENTRIES = 64
_memory = {}


def clear_memory():
    _memory.clear()


# ---- encoding: columnar JSON with a string table ---------------------------------------------------------
# Every repeated string (vendors, versions, relation names, summaries, paths) is stored once; identical
# relation/platform/tag tuples and file lists are stored once; per-VIB fields are stored column by column so that
# decoding is mostly ``map()`` over lists. Index -1 means None (the table ends with a null).
_NUL = "\x00"       # cannot occur in XML text: safe separator for file lists


class _Enc(object):
    def __init__(self):
        self.strings = []
        self._sidx = {}
        self.groups = {}

    def s(self, value):
        if value is None:
            return -1
        i = self._sidx.get(value)
        if i is None:
            i = self._sidx[value] = len(self.strings)
            self.strings.append(value)
        return i

    def group(self, kind, key, make):
        table, index = self.groups.setdefault(kind, ([], {}))
        i = index.get(key)
        if i is None:
            i = index[key] = len(table)
            table.append(make())
        return i


def _encode(depot):
    e = _Enc()
    S = e.s

    def rel_idx(r):
        return e.group("relations", r, lambda: [S(r.name), S(r.relation), S(r.version)])

    def prov_idx(p):
        return e.group("provides", p, lambda: [S(p.name), S(p.version)])

    def plat_idx(p):
        return e.group("platforms", p, lambda: [S(p.product_line), S(p.version), S(p.locale)])

    def rgroup(rels):
        return e.group("rel_groups", rels, lambda: [rel_idx(r) for r in rels])

    def pgroup(provs):
        return e.group("prov_groups", provs, lambda: [prov_idx(p) for p in provs])

    def plgroup(plats):
        return e.group("plat_groups", plats, lambda: [plat_idx(p) for p in plats])

    def sgroup(strs):
        return e.group("str_groups", strs, lambda: [S(x) for x in strs])

    def flist(files):
        if not files:
            return -1
        return e.group("file_lists", files, lambda: _NUL.join(files))

    cols = {k: [] for k in ("id", "name", "version", "vendor", "type", "acc", "summary", "desc", "rdate", "dep",
                            "con", "rep", "prov", "flags", "plat", "relpath", "packed", "ck", "pl_start", "pl_count",
                            "tags", "files", "idate", "source")}
    hw = {}
    urls = {}
    ck = {"type": [], "value": [], "vp": []}
    pl = {"name": [], "type": [], "size": [], "usize": [], "copt": [], "ck_start": [], "ck_count": []}

    def add_ck(c):
        ck["type"].append(S(c.type))
        ck["value"].append(c.value)
        ck["vp"].append(S(c.verify_process))
        return len(ck["value"]) - 1

    for n, v in enumerate(depot.vibs.values()):
        cols["id"].append(S(v.id))
        cols["name"].append(S(v.name))
        cols["version"].append(S(v.version))
        cols["vendor"].append(S(v.vendor))
        cols["type"].append(S(v.type))
        cols["acc"].append(S(v.acceptance_level))
        cols["summary"].append(S(v.summary))
        cols["desc"].append(S(v.description))
        cols["rdate"].append(S(v.release_date))
        cols["dep"].append(rgroup(v.depends))
        cols["con"].append(rgroup(v.conflicts))
        cols["rep"].append(rgroup(v.replaces))
        cols["prov"].append(pgroup(v.provides))
        cols["flags"].append(int(v.maintenance_mode_required) | int(v.live_install_allowed) << 1
                             | int(v.live_remove_allowed) << 2 | int(v.stateless_ready) << 3
                             | int(v.overlay) << 4 | int(v.cimom_restart) << 5)
        cols["plat"].append(plgroup(v.platforms))
        cols["relpath"].append(S(v.relative_path))
        cols["packed"].append(v.packed_size)
        cols["ck"].append(-1 if v.checksum is None else add_ck(v.checksum))
        cols["pl_start"].append(len(pl["name"]))
        cols["pl_count"].append(len(v.payloads))
        for p in v.payloads:
            pl["name"].append(S(p.name))
            pl["type"].append(S(p.type))
            pl["size"].append(p.size)
            pl["usize"].append(p.uncompressed_size)
            pl["copt"].append(S(p.compression_option))
            pl["ck_start"].append(len(ck["value"]))
            pl["ck_count"].append(len(p.checksums))
            for c in p.checksums:
                add_ck(c)
        cols["tags"].append(sgroup(v.tags))
        cols["files"].append(flist(v.files))
        cols["idate"].append(S(v.install_date))
        cols["source"].append(S(v.source))
        if v.hw_platforms:
            hw[str(n)] = list(v.hw_platforms)
        if v.urls:
            urls[str(n)] = [list(u) for u in v.urls]

    bcols = {k: [] for k in ("id", "vendor", "summary", "severity", "category", "urgency", "rtype", "rdate", "kb",
                             "desc", "contact", "plat", "vib_ids", "comp", "source")}
    comps = []
    for b in depot.bulletins.values():
        bcols["id"].append(S(b.id))
        bcols["vendor"].append(S(b.vendor))
        bcols["summary"].append(S(b.summary))
        bcols["severity"].append(S(b.severity))
        bcols["category"].append(S(b.category))
        bcols["urgency"].append(S(b.urgency))
        bcols["rtype"].append(S(b.release_type))
        bcols["rdate"].append(S(b.release_date))
        bcols["kb"].append(S(b.kb_url))
        bcols["desc"].append(S(b.description))
        bcols["contact"].append(S(b.contact))
        bcols["plat"].append(plgroup(b.platforms))
        bcols["vib_ids"].append(sgroup(b.vib_ids))
        c = b.component
        if c is None:
            bcols["comp"].append(-1)
        else:
            comps.append([S(c.name), S(c.version), S(c.display_name), S(c.display_version)])
            bcols["comp"].append(len(comps) - 1)
        bcols["source"].append(S(b.source))
    profiles = [[S(p.name), S(p.creator), S(p.acceptance_level), sgroup(p.vib_ids), S(p.description),
                 S(p.profile_id), S(p.creation_time), S(p.modified_time), bool(p.readonly), S(p.source)]
                for p in depot.profiles.values()]
    groups = {k: t for k, (t, _i) in e.groups.items()}
    return {
        "format": FORMAT, "version": FORMAT_VERSION, "digest": depot.digest,
        "strings": e.strings + [None], "groups": groups,
        "vibs": cols, "vib_hw": hw, "vib_urls": urls, "checksums": ck, "payloads": pl,
        "bulletins": bcols, "components": comps, "profiles": profiles,
        "base_images": depot.base_images, "addons": depot.addons,
        "descriptor_signatures": depot.descriptor_signatures, "warnings": depot.warnings,
        "sources": depot.sources,
    }


_FLAGS = [tuple(bool(f & (1 << i)) for i in range(6)) for f in range(64)]


def _decode(doc, digest):
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != FORMAT_VERSION \
            or doc.get("digest") != digest:
        return None
    strings = doc["strings"]
    if not isinstance(strings, list) or not strings or strings[-1] is not None:
        return None
    S = strings.__getitem__
    g = doc["groups"]
    relation = _p.relation
    provide = _p.provide
    platform = _p.platform
    rels = [relation(S(a), S(b), S(c)) for a, b, c in g.get("relations", ())]
    provs = [provide(S(a), S(b)) for a, b in g.get("provides", ())]
    plats = [platform(S(a), S(b), S(c)) for a, b, c in g.get("platforms", ())]
    rel_groups = [tuple([rels[i] for i in grp]) for grp in g.get("rel_groups", ())]
    prov_groups = [tuple([provs[i] for i in grp]) for grp in g.get("prov_groups", ())]
    plat_groups = [tuple([plats[i] for i in grp]) for grp in g.get("plat_groups", ())]
    str_groups = [tuple(map(S, grp)) for grp in g.get("str_groups", ())]
    file_lists = [tuple(x.split(_NUL)) for x in g.get("file_lists", ())]
    file_lists.append(())

    ck = doc["checksums"]
    checksums = list(map(Checksum, map(S, ck["type"]), ck["value"], map(S, ck["vp"])))
    checksums.append(None)
    pl = doc["payloads"]
    pl_cks = [tuple(checksums[s:s + n]) for s, n in zip(pl["ck_start"], pl["ck_count"])]
    payloads = list(map(Payload, map(S, pl["name"]), map(S, pl["type"]), pl["size"], pl["usize"],
                        map(S, pl["copt"]), pl_cks))

    c = doc["vibs"]
    n = len(c["id"])
    flags = [_FLAGS[f] for f in c["flags"]]
    rg = rel_groups.__getitem__
    hw = doc["vib_hw"]
    urls = doc["vib_urls"]
    ids = list(map(S, c["id"]))
    vib_list = list(map(
        Vib, ids, map(S, c["name"]), map(S, c["version"]), map(S, c["vendor"]), map(S, c["type"]),
        map(S, c["acc"]), map(S, c["summary"]), map(S, c["desc"]), map(S, c["rdate"]),
        map(rg, c["dep"]), map(rg, c["con"]), map(rg, c["rep"]), map(prov_groups.__getitem__, c["prov"]),
        [f[0] for f in flags], [f[1] for f in flags], [f[2] for f in flags], [f[3] for f in flags],
        [f[4] for f in flags], [f[5] for f in flags],
        map(plat_groups.__getitem__, c["plat"]),
        [tuple(hw[str(i)]) if str(i) in hw else () for i in range(n)] if hw else [()] * n,
        map(S, c["relpath"]), c["packed"], map(checksums.__getitem__, c["ck"]),
        [tuple(payloads[s:s + k]) for s, k in zip(c["pl_start"], c["pl_count"])],
        map(str_groups.__getitem__, c["tags"]), map(file_lists.__getitem__, c["files"]),
        map(S, c["idate"]), map(S, c["source"]),
        [tuple(tuple(u) for u in urls[str(i)]) if str(i) in urls else () for i in range(n)] if urls else [()] * n,
    ))
    depot = Depot(digest=digest)
    depot.vibs = dict(zip(ids, vib_list))

    b = doc["bulletins"]
    comps = [Component(S(a), S(v), S(dn), S(dv)) for a, v, dn, dv in doc["components"]]
    comps.append(None)
    bids = list(map(S, b["id"]))
    depot.bulletins = dict(zip(bids, map(
        Bulletin, bids, map(S, b["vendor"]), map(S, b["summary"]), map(S, b["severity"]), map(S, b["category"]),
        map(S, b["urgency"]), map(S, b["rtype"]), map(S, b["rdate"]), map(S, b["kb"]), map(S, b["desc"]),
        map(S, b["contact"]), map(plat_groups.__getitem__, b["plat"]), map(str_groups.__getitem__, b["vib_ids"]),
        map(comps.__getitem__, b["comp"]), map(S, b["source"]))))
    for name, creator, acc, ids_g, desc, pid, ctime, mtime, ro, source in doc["profiles"]:
        pname = S(name)
        depot.profiles[pname] = ImageProfile(pname, S(creator), S(acc), str_groups[ids_g], S(desc), S(pid),
                                             S(ctime), S(mtime), bool(ro), S(source))
    depot.base_images = dict(doc["base_images"])
    depot.addons = dict(doc["addons"])
    depot.descriptor_signatures = dict(doc["descriptor_signatures"])
    depot.warnings = list(doc["warnings"])
    depot.sources = list(doc["sources"])
    if len(depot.vibs) != n or len(ids) != n:
        return None
    return depot


# ---- cache ------------------------------------------------------------------------------------------------
class DepotCache(object):
    """``get(digest)``/``put(digest, depot)`` over the in-process dict and the optional on-disk JSON files."""

    def __init__(self, cache_dir=None, memory=True):
        self.dir = os.path.join(cache_dir, "depot") if cache_dir else None
        self.memory = memory
        self.hits = {"memory": 0, "disk": 0, "miss": 0}

    def _path(self, digest):
        return os.path.join(self.dir, "%s.json" % digest)

    def has(self, digest):
        """True if ``digest`` is cached in memory or on disk (cheap: no decoding)."""
        if not digest:
            return False
        if self.memory and digest in _memory:
            return True
        return bool(self.dir) and all(c in "0123456789abcdef" for c in digest) and \
            os.path.isfile(self._path(digest))

    def get(self, digest):
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

    def _disk_get(self, digest):
        if not self.dir or not all(c in "0123456789abcdef" for c in digest):
            return None
        try:
            with open(self._path(digest), "rb") as f:
                doc = json.loads(f.read().decode("utf-8"))
            enabled = gc.isenabled()
            gc.disable()
            try:
                return _decode(doc, digest)
            finally:
                if enabled:
                    gc.enable()
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, UnicodeDecodeError,
                RecursionError):
            return None   # missing, foreign or corrupt cache file: parse again

    def _remember(self, digest, depot):
        if not self.memory:
            return
        if len(_memory) >= _MAX_MEMORY_ENTRIES:
            _memory.pop(next(iter(_memory)))
        _memory[digest] = depot

    def put(self, digest, depot):
        if not digest:
            return
        self._remember(digest, depot)
        if not self.dir:
            return
        try:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            data = json.dumps(_encode(depot), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            write_atomic(self._path(digest), data, mode=0o600, prefix=".tmp-")
        except OSError:
            pass   # an unwritable cache is not an error
