# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: build a local ESXi depot folder from offline bundles and online depots. Breaking changes at any time.

``build_depot(params, check_mode)`` reads every source with the depot engine (``_depot_sources.load_depot``;
downloads through ``clients._http.HttpClient``), keeps the selected bulletins and image profiles (all by
default) and writes::

    <dest>/index.xml              vendorList -> vendor-index.xml
    <dest>/vendor-index.xml       one <metadata> entry per platform of the sources -> metadata.zip
    <dest>/metadata.zip           the sources' own bulletin, VIB and profile records, byte for byte
    <dest>/<relative-path>.vib    every VIB of the selection, at the relative path its record names
    <dest>/.fleetpatch-depot.json what this module wrote (size, sha256), for idempotence and pruning

Every VIB is checked against the checksum in its metadata record (sha-256) before it is put in place; a
mismatch fails with ``ChecksumError`` and leaves nothing behind. Files are written atomically and only when
their content changes; the metadata files are written after the VIBs, so the folder never advertises a VIB it
does not hold. ``metadata.zip`` is deterministic (sorted members, fixed timestamps): the same content gives the
same bytes, so a second run reports no change. Files from an earlier run that are no longer part of the depot
are removed (only files listed in the manifest: nothing this module did not write is ever deleted).

URLs are shown redacted everywhere (results, errors, the manifest).
"""

from __future__ import annotations

import hashlib
import io
import json
import fcntl
import os
import posixpath
import shutil
import tempfile
import zipfile
from xml.sax.saxutils import escape

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.fileutil import write_atomic
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.depot_argspec import depot_params
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import (
    MAX_METADATA_ZIP, SafeZip, is_url, load_depot)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    ChecksumError, DepotError, DepotFormatError, DepotSecurityError, InputError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact_url
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.http import HttpClient
from typing import Set, TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

if TYPE_CHECKING:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.containers import SafeZip

MANIFEST = ".fleetpatch-depot.json"
MANIFEST_FORMAT = 1
METADATA_NAME = "metadata.zip"
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_CHUNK = 1024 * 1024
_HASHES = {"sha-256": "sha256", "sha256": "sha256", "sha-1": "sha1", "sha1": "sha1", "sha-512": "sha512",
           "sha512": "sha512", "md5": "md5"}
_KINDS = ("bulletins", "vibs", "profiles", "baseimages", "addons")


class _RecordingHttp(HttpClient):
    """The collection's HTTP client, keeping the zip bodies it fetched (metadata zips, bundle zips) so that
    the raw records can be copied without a second download."""

    def __init__(self, *args, **kwargs) -> None:
        super(_RecordingHttp, self).__init__(*args, **kwargs)
        self.bodies: Dict[Any, Any] = {}

    def get_bytes(self, url: str, expect: Optional[str] = None, max_bytes: Optional[int] = None) -> bytes:
        data = super(_RecordingHttp, self).get_bytes(url, expect=expect, max_bytes=max_bytes)
        if expect == "zip":
            self.bodies[url] = data
        return data


def _label(ref: str) -> Optional[str]:
    return redact_url(ref) if is_url(ref) else ref


def _safe_relpath(rel: str, what: str) -> str:
    """A normalized relative POSIX path inside the depot folder, or ``DepotSecurityError``."""
    if not rel or "\x00" in rel or "\\" in rel:
        raise DepotSecurityError("%s has an unusable relative path %r" % (what, rel))
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":") or "://" in rel:
        raise DepotSecurityError("%s has an absolute relative path %r; refused" % (what, redact_url(rel)))
    norm = posixpath.normpath(rel)
    if norm in (".", "..") or norm.startswith("../") or norm in (MANIFEST, METADATA_NAME, "index.xml",
                                                                 "vendor-index.xml"):
        raise DepotSecurityError("%s has a relative path %r that leaves the depot or overwrites its index; "
                                 "refused" % (what, rel))
    return norm


def _with_token(params: Dict[str, Any]) -> Dict[str, Any]:
    """``params`` with every ``{token}`` of ``depot`` replaced by ``download_token`` (same object if none)."""
    token = params.get("download_token")
    sources = params.get("depot") or []
    if not any("{token}" in s for s in sources):
        return params
    if not token:
        raise InputError("depot: a source holds the {token} placeholder but download_token is not set")
    return dict(params, depot=[s.replace("{token}", token) for s in sources])


class _Builder(object):
    def __init__(self, params: Dict[str, Any], check_mode: bool) -> None:
        params = _with_token(params)
        self.params = params
        self.check_mode = check_mode
        self.dest = os.path.abspath(os.path.expanduser(params["dest"]))
        kw = depot_params(params)
        self.http = _RecordingHttp(validate_certs=kw["validate_certs"], proxy=kw["proxy"], timeout=kw["timeout"],
                                   retries=2, cache_dir=kw["cache_dir"])
        self.load_kw = kw
        self.warnings: List[Any] = []
        self.written: List[Any] = []
        self.downloaded: List[Any] = []
        self.bytes_copied = 0
        self._zips: Dict[Any, Any] = {}
        self._temps: List[Any] = []

    # ---- reading -------------------------------------------------------------------------------------------
    def load(self) -> None:
        kw = dict(self.load_kw)
        kw["http"] = self.http
        self.depot = load_depot(**kw)
        self.warnings.extend(self.depot.warnings)
        units: Dict[str, str] = {}
        for m in self.depot.metadata:
            units[_label(m.url) or m.url] = m.url
        for src in kw["sources"]:
            src = src.strip()
            if is_url(src):
                units[_label(src) or src] = src
            else:
                path = os.path.abspath(os.path.expanduser(src[7:] if src.lower().startswith("file://") else src))
                units[path] = path
        # longest label first: "bundle.zip#metadata.zip" before "bundle.zip"
        self.units = sorted(units.items(), key=lambda kv: -len(kv[0]))

    def _locate(self, source: str, what: str) -> Tuple[str, str]:
        """(unit ref, member) of a record's ``source`` label."""
        if source:
            for label, ref in self.units:
                if source.startswith(label + "#"):
                    return ref, source[len(label) + 1:]
        raise DepotFormatError("%s: cannot tell which metadata archive its record came from (depot_build copies "
                               "records from offline bundles, metadata.zip files and depot indexes; standalone "
                               ".vib files and metadata folders are not supported)" % what, source=source)

    def _zip_for(self, ref: str) -> SafeZip:
        """A ``SafeZip`` for a unit ref: a zip file, ``zip#member[#member]`` or a URL (recorded body)."""
        if ref in self._zips:
            return self._zips[ref]
        head, members = self._split(ref)
        if head[0] == "url":
            data = self.http.bodies.get(head[1])
            if data is None:
                data = self.http.get_bytes(head[1], expect="zip", max_bytes=MAX_METADATA_ZIP)
            sz = SafeZip(io.BytesIO(data), redact_url(head[1]) or head[1])
        else:
            sz = SafeZip(head[1], head[1])
        for m in members:
            if not sz.has(m):
                raise DepotFormatError("member %r not found" % m, source=sz.label)
            spooled = sz.spool(m)
            self._temps.append(spooled)
            sz = SafeZip(spooled, sz.member_label(m))
        self._zips[ref] = sz
        return sz

    @staticmethod
    def _split(ref: str) -> Union[Tuple[Tuple[str, str], List[Any]], Tuple[Tuple[str, str], List[str]]]:
        if is_url(ref):
            head, dummy, rest = ref.partition("#")
            return ("url", head), [m for m in rest.split("#") if m] if rest else []
        parts = ref.split("#")
        for i in range(len(parts), 0, -1):
            head = "#".join(parts[:i])
            if os.path.isfile(head):
                return ("file", head), parts[i:]
        raise DepotFormatError("file not found", source=ref)

    def record_bytes(self, source: str, what: str) -> Tuple[str, bytes]:
        ref, member = self._locate(source, what)
        sz = self._zip_for(ref)
        if not sz.has(member):
            raise DepotFormatError("record %r not found" % member, source=sz.label)
        return member, sz.read(member)

    # ---- selection -----------------------------------------------------------------------------------------
    def select(self) -> None:
        d = self.depot
        want_b = list(self.params.get("bulletins") or [])
        want_p = list(self.params.get("profiles") or [])
        unknown = sorted(set(want_b) - set(d.bulletins))
        if unknown:
            raise InputError("bulletins not in the depot: %s" % ", ".join(unknown))
        unknown = sorted(set(want_p) - set(d.profiles))
        if unknown:
            raise InputError("image profiles not in the depot: %s" % ", ".join(unknown))
        if want_b or want_p:
            bulletins = sorted(set(want_b))
            profiles = sorted(set(want_p))
            vib_ids: Set[Any] = set()
            for b in bulletins:
                vib_ids.update(d.bulletins[b].vib_ids)
            for p in profiles:
                vib_ids.update(d.profiles[p].vib_ids)
            absent = sorted(v for v in vib_ids if v not in d.vibs)
            if absent:
                raise DepotFormatError("the selection needs VIBs whose records are not in the depot: %s"
                                       % ", ".join(absent))
            self.filtered = True
        else:
            bulletins = sorted(d.bulletins)
            profiles = sorted(d.profiles)
            vib_ids = set(d.vibs)
            self.filtered = False
        self.bulletins, self.profiles, self.vib_ids = bulletins, profiles, sorted(vib_ids)

    # ---- metadata ------------------------------------------------------------------------------------------
    def metadata_members(self) -> Dict[str, bytes]:
        d = self.depot
        members: Dict[Any, Any] = {}

        def add(kind, obj_id, source) -> None:
            member, data = self.record_bytes(source, "%s %s" % (kind[:-1], obj_id))
            name = "%s/%s" % (kind, posixpath.basename(member))
            if name in members and members[name] != data:
                name = "%s/%s-%s" % (kind, hashlib.sha256(data).hexdigest()[:12], posixpath.basename(member))
            members[name] = data

        for vid in self.vib_ids:
            add("vibs", vid, d.vibs[vid].source)
        for bid in self.bulletins:
            add("bulletins", bid, d.bulletins[bid].source)
        for name in self.profiles:
            add("profiles", name, d.profiles[name].source)
        if not self.filtered and (d.base_images or d.addons):
            for _label_, ref in self.units:
                try:
                    sz = self._zip_for(ref)
                except DepotError:
                    continue
                for n in sz.files:
                    if n.startswith(("baseimages/", "addons/")) and n.count("/") == 1:
                        members.setdefault(n, sz.read(n))
        return members

    def platforms(self) -> List[Tuple[str, str, str]]:
        seen = []
        for m in self.depot.metadata:
            key = (m.product_line or "embeddedEsx", m.version or "", m.locale or "")
            if key not in seen:
                seen.append(key)
        if not seen:
            for bid in self.bulletins:
                for p in self.depot.bulletins[bid].platforms:
                    key = (p.product_line or "embeddedEsx", p.version or "", p.locale or "")
                    if key not in seen:
                        seen.append(key)
        if not seen:
            seen.append(("embeddedEsx", "", ""))
        return sorted(seen)

    def vendor_index(self, platforms: List[Tuple[str, str, str]]) -> bytes:
        out = ["<metaList>"]
        for product, version, locale in platforms:
            out.append("  <metadata>\n    <productId>%s</productId>\n    <version>%s</version>\n"
                       "    <locale>%s</locale>\n    <url>%s</url>\n    <channelName>default</channelName>\n"
                       "  </metadata>" % (escape(product), escape(version), escape(locale), METADATA_NAME))
        out.append("</metaList>\n")
        return "\n".join(out).encode("utf-8")

    def index(self) -> bytes:
        name = self.params.get("vendor_name") or "fleetpatch.esxi"
        code = self.params.get("vendor_code") or "FPE"
        return ("<vendorList>\n  <vendor>\n    <name>%s</name>\n    <code>%s</code>\n"
                "    <indexfile>vendor-index.xml</indexfile>\n    <patchUrl></patchUrl>\n"
                "    <relativePath></relativePath>\n    <content>\n      <name>VMware ESX</name>\n"
                "      <type>http://www.vmware.com/depotmanagement/esx</type>\n    </content>\n  </vendor>\n"
                "</vendorList>\n" % (escape(name), escape(code))).encode("utf-8")

    @staticmethod
    def metadata_zip(members: Dict[str, bytes], vendor_index: bytes) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in [("vendor-index.xml", vendor_index)] + sorted(members.items()):
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                info.create_system = 3
                zf.writestr(info, data)
        return buf.getvalue()

    # ---- files ---------------------------------------------------------------------------------------------
    def _path(self, rel: str) -> str:
        return os.path.join(self.dest, *rel.split("/"))

    def _atomic_write(self, rel: str, data: bytes) -> None:
        path = self._path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, data, mode=0o644, prefix=".part-")

    def write_if_changed(self, rel: str, data: bytes) -> bool:
        path = self._path(rel)
        try:
            with open(path, "rb") as f:
                if f.read(len(data) + 1) == data:
                    return False
        except OSError:
            pass
        if not self.check_mode:
            self._atomic_write(rel, data)
        self.written.append(rel)
        return True

    def _hash_file(self, path: str, algo: str) -> str:
        h = hashlib.new(algo)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
        return h.hexdigest()

    def vib_target(self, vid: str) -> str:
        v = self.depot.vibs[vid]
        rel = v.relative_path or "vib20/%s/%s.vib" % (v.name, vid)
        if not v.relative_path:
            self.warnings.append("VIB %s has no relative-path in its record; placed at %s" % (vid, rel))
        return _safe_relpath(rel, "VIB %s" % vid)

    def vib_expected(self, vid: str) -> Tuple[Optional[str], Optional[str]]:
        c = self.depot.vibs[vid].checksum
        if c is None or not c.value:
            return None, None
        algo = _HASHES.get((c.type or "").lower())
        if algo is None:
            return None, None
        return algo, c.value.strip().lower()

    def vib_ok(self, vid: str, rel: str, old_manifest: Dict[str, Any]) -> bool:
        """Whether the file at ``rel`` already is this VIB (checked against the metadata checksum)."""
        path = self._path(rel)
        try:
            st = os.stat(path)
        except OSError:
            return False
        algo, expected = self.vib_expected(vid)
        entry = old_manifest.get(rel) or {}
        if entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns and entry.get("sha256"):
            if algo == "sha256" and expected:
                return entry["sha256"] == expected
            if not expected:
                return entry.get("vib") == vid
        if expected:
            return self._hash_file(path, algo or "sha256") == expected
        return entry.get("vib") == vid and entry.get("sha256") == self._hash_file(path, "sha256")

    def fetch_vib(self, vid: str, rel: str) -> int:
        """Copy/download the VIB into place, verifying its checksum first. Returns bytes copied."""
        ref = self.depot.vib_files.get(vid)
        if not ref:
            raise DepotFormatError("the depot does not say where the .vib file of %s is" % vid)
        algo, expected = self.vib_expected(vid)
        if expected is None:
            self.warnings.append("VIB %s: no sha-256 in its metadata record; copied without verification" % vid)
        path = self._path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp: Optional[str]
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".part-")
        os.close(fd)
        try:
            head, members = self._split(ref)
            if head[0] == "url" and not members:
                self.http.download(head[1], tmp, expect="vib")
            else:
                if members:
                    sz = self._zip_for("#".join([head[1]] + members[:-1])) if len(members) > 1 else \
                        self._zip_for(head[1])
                    if not sz.has(members[-1]):
                        raise DepotFormatError("member %r not found" % members[-1], source=sz.label)
                    src = sz.spool(members[-1])
                else:
                    src = open(head[1], "rb")
                try:
                    with open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, _CHUNK)
                finally:
                    src.close()
            size = os.path.getsize(tmp)
            packed = self.depot.vibs[vid].packed_size
            if packed and packed != size:
                self.warnings.append("VIB %s: %d bytes, its record says %d (packed-size)" % (vid, size, packed))
            if expected is not None:
                got = self._hash_file(tmp, algo or "sha256")
                if got != expected:
                    raise ChecksumError("VIB %s: %s checksum %s does not match %s in its metadata record"
                                        % (vid, algo, got, expected), source=_label(ref), vib=vid)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
            tmp = None
            return size
        finally:
            if tmp is not None:
                _unlink(tmp)
                _prune_dirs(self.dest, rel)

    def close(self) -> None:
        for z in self._zips.values():
            try:
                z.close()
            except Exception:  # pragma: no cover
                pass
        for t in self._temps:
            try:
                t.close()
            except Exception:  # pragma: no cover
                pass
        self.http.close()


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _read_manifest(dest: str) -> Dict[str, Any]:
    try:
        with open(os.path.join(dest, MANIFEST), "r") as f:
            data = json.load(f)
        if isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT and isinstance(data.get("files"), dict):
            return data
    except (OSError, ValueError):
        pass
    return {"format": MANIFEST_FORMAT, "files": {}}


def _prune_dirs(dest: str, rel: str) -> None:
    d = os.path.dirname(os.path.join(dest, *rel.split("/")))
    while d.startswith(dest + os.sep):
        try:
            os.rmdir(d)
        except OSError:
            return
        d = os.path.dirname(d)


def build_depot(params: Dict[str, Any], check_mode: bool = False) -> Dict[str, Any]:
    """The ``depot_build`` module's result for its ``params``. Builds of one folder run one at a time (AWX slices,
    parallel jobs): an exclusive ``flock`` on ``.<dest name>.depot-build.lock`` next to the folder (not in it: the
    folder holds the depot only) is held for the whole build, so a second builder starts from the first one's
    finished manifest (then usually has nothing to do)."""
    dest = os.path.abspath(os.path.expanduser(params["dest"]))
    if check_mode or (os.path.exists(dest) and not os.path.isdir(dest)):
        return _build_depot(params, check_mode)
    try:
        parent = os.path.dirname(dest)
        os.makedirs(parent, exist_ok=True)
        fd = os.open(os.path.join(parent, ".%s.depot-build.lock" % os.path.basename(dest)), os.O_RDWR | os.O_CREAT,
                     0o600)
    except OSError:
        return _build_depot(params, check_mode)     # an unwritable folder fails in the build with its own message
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return _build_depot(params, check_mode)
    finally:
        os.close(fd)       # closing releases the lock


def _build_depot(params: Dict[str, Any], check_mode: bool = False) -> Dict[str, Any]:
    dest = os.path.abspath(os.path.expanduser(params["dest"]))
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise InputError("dest exists and is not a folder", source=dest)
    b = _Builder(params, check_mode)
    try:
        b.load()
        b.select()
        members = b.metadata_members()
        platforms = b.platforms()
        vendor_index = b.vendor_index(platforms)
        meta_zip = b.metadata_zip(members, vendor_index)
        old = _read_manifest(dest)
        old_files = old.get("files", {})
        new_files = {}

        # 1. the VIBs (before the metadata that advertises them)
        targets: Dict[Any, Any] = {}
        for vid in b.vib_ids:
            rel = b.vib_target(vid)
            if rel in targets and targets[rel] != vid:
                raise DepotFormatError("VIBs %s and %s have the same relative path %s" % (targets[rel], vid, rel))
            targets[rel] = vid
        for rel, vid in sorted(targets.items()):
            if b.vib_ok(vid, rel, old_files):
                if not check_mode:
                    st = os.stat(b._path(rel))
                    prev = old_files.get(rel) or {}
                    sha = prev.get("sha256") if prev.get("size") == st.st_size and \
                        prev.get("mtime_ns") == st.st_mtime_ns else None
                    new_files[rel] = {"vib": vid, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                      "sha256": sha or b._hash_file(b._path(rel), "sha256")}
                continue
            b.downloaded.append(vid)
            b.written.append(rel)
            if check_mode:
                continue
            b.bytes_copied += b.fetch_vib(vid, rel)
            st = os.stat(b._path(rel))
            new_files[rel] = {"vib": vid, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                              "sha256": b._hash_file(b._path(rel), "sha256")}

        # 2. the metadata, then the indexes
        index = b.index()
        for rel, data in ((METADATA_NAME, meta_zip), ("vendor-index.xml", vendor_index), ("index.xml", index)):
            b.write_if_changed(rel, data)
            new_files[rel] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

        # 3. files of an earlier run that are no longer part of the depot
        removed = sorted(rel for rel in old_files if rel not in new_files and rel not in targets)
        for rel in removed:
            try:
                _safe_relpath(rel, "manifest entry")
            except DepotSecurityError:
                continue
            if not check_mode:
                _unlink(b._path(rel))
                _prune_dirs(dest, rel)

        token = params.get("download_token")
        sources = [(redact_url(s) or s) if is_url(s) else s for s in b.depot.sources]
        if token:
            sources = [s.replace(token, "********") for s in sources]
        manifest = {"format": MANIFEST_FORMAT, "sources": sources, "files": new_files,
                    "counts": {"bulletins": len(b.bulletins), "vibs": len(b.vib_ids), "profiles": len(b.profiles)}}
        if not check_mode:
            b.write_if_changed(MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8"))
        elif b.written or removed:
            b.written.append(MANIFEST)
        changed = bool(b.written or removed)
        return {
            "changed": changed,
            "dest": dest,
            "index": os.path.join(dest, "index.xml"),
            "counts": {"bulletins": len(b.bulletins), "vibs": len(b.vib_ids), "profiles": len(b.profiles),
                       "metadata_records": len(members)},
            "bulletins": list(b.bulletins),
            "profiles": list(b.profiles),
            "platforms": [{"product_line": p, "version": v, "locale": loc} for p, v, loc in platforms],
            "downloaded": sorted(b.downloaded),
            "bytes_copied": b.bytes_copied,
            "written": sorted(set(b.written)),
            "removed": removed,
            "metadata_sha256": hashlib.sha256(meta_zip).hexdigest(),
            "depot_digest": b.depot.digest,
            "sources": sources,
            "depot_warnings": list(b.warnings),
        }
    finally:
        b.close()
