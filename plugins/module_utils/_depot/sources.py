# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: load and merge depot sources into one ``Depot``. Breaking changes at any time.

A source is a local path or an ``http(s)://`` URL:

* an offline bundle zip: VMware layout (``index.xml``, ``vendor-index.xml``, ``metadata.zip``,
  ``vib20/<name>/*.vib``) or V-Front layout (the VIB at the root, ``<Vendor>-<name>-metadata.zip``);
* a zip that only wraps other bundle zips (the ESXi 6.5 USB NIC fling): unwrapped ONE level;
* a bare ``metadata.zip``;
* a folder laid out like a metadata.zip (``bulletins/``, ``vibs/``, ``profiles/``), including an ESXi host image
  database (``/var/db/esximg``: file names without ``.xml``; the ``.orig``/``.sig`` siblings are not parsed but
  recorded in ``Depot.descriptor_signatures``);
* a folder holding an unzipped offline bundle (``index.xml`` at its root), or a folder of bundle zips/VIBs;
* a standalone ``.vib``;
* an HTTP(S) depot: ``index.xml`` -> ``vendor-index.xml`` -> ``metadata.zip``, or a ``vendor-index.xml``,
  ``metadata.zip``, bundle zip or ``.vib`` URL directly.

``product_line``/``version`` select the ``vendor-index.xml`` ``<metadata>`` entries that fit
(``platform_version_matches``). Metadata units are cached by the sha256 of their bytes (``_depot_cache``).

``Depot.vib_files`` maps a VIB id to where its ``.vib`` is: a local path, ``<zip>#<member>`` (``#`` again for a
zip inside a zip) or an absolute URL (which may hold a download token: redact before showing it).
``_depot.containers.open_vib()`` opens any of them (re-exported here). The containers (zip, folder, HTTP) live in
``_depot.containers``; this module is the loader that walks them.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import io
import os
import posixpath
from urllib.parse import urljoin, urlsplit

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.http import HttpClient
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotFormatError, DepotSecurityError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.safexml import parse_xml
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact_url
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import parse as _p
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.cache import DepotCache
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.containers import (  # noqa: F401 (re-exports)
    MAX_DIR_FILES, MAX_METADATA_ZIP, MAX_XML_MEMBER, WARM_HASH_MAX, _METADATA_DIRS, _METADATA_SET, _SIDECARS, SafeZip, _DirContainer,
    _HttpContainer, _ZipContainer, _read_file, is_url)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.containers import (  # noqa: F401 pylint: disable=unused-import
    open_vib)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Depot
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vib_archive import VibArchive
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vibversion import platform_version_matches
from typing import Dict, TYPE_CHECKING, Any, Callable, List, Optional, Tuple, Union

if TYPE_CHECKING:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import MetadataRef


# ---- parsing one metadata unit (cacheable: depends on bytes only) -----------------------------------------
def _classify(rel: str) -> Union[Tuple[None, None], Tuple[str, str]]:
    """(kind, name) of a file inside a metadata tree, or (None, None) to ignore it."""
    top, sep, base = rel.partition("/")
    if not sep:
        return ("vmware", rel) if rel == "vmware.xml" else (None, None)
    if top not in _METADATA_SET or not base or "/" in base or base[0] == ".":
        return None, None
    if base.endswith(_SIDECARS):
        return "sidecar", base
    return top, base


def parse_metadata_files(files: List[Tuple[str, bytes]], label: str, folder: bool = False) -> Depot:
    """Parse ``[(relpath, bytes), ...]`` of one metadata tree into a content ``Depot`` (no locations).

    Sources are named ``<label>#<relpath>`` (inside an archive) or ``<label>/<relpath>`` (``folder=True``).
    """
    # allocation-heavy and cycle-free: the cyclic GC would only rescan the growing model graph
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse_metadata_files(files, label, folder)
    finally:
        if enabled:
            gc.enable()


def _parse_metadata_files(files: List[Tuple[str, bytes]], label: str, folder: bool) -> Depot:
    depot = Depot()
    groups: Dict[Any, Any] = {k: [] for k in _METADATA_DIRS}
    vmware = None
    sidecars = set()
    for rel, data in files:
        kind = _classify(rel)[0]
        if kind is None:
            continue
        if kind == "vmware":
            vmware = (rel, data)
        elif kind == "sidecar":
            sidecars.add(rel)
        else:
            groups[kind].append((rel, data))
    src = (label.rstrip("/\\") + "/%s") if folder else ("%s#%%s" % label)
    vibs = depot.vibs
    parse_vib = _p.parse_vib_bytes
    rels = {}
    for rel, data in groups["vibs"]:
        v = parse_vib(data, src % rel)
        vibs[v.id] = v
        rels[v.id] = rel
    if sidecars:
        for vid, rel in rels.items():
            if rel + ".orig" in sidecars or rel + ".sig" in sidecars:
                depot.descriptor_signatures[vid] = {
                    "descriptor": rel, "orig": rel + ".orig" if rel + ".orig" in sidecars else None,
                    "sig": rel + ".sig" if rel + ".sig" in sidecars else None}
    # given bytes, parse_bulletin/parse_profile run parse_xml (size limit, root element check) themselves
    parse_bulletin = _p.parse_bulletin
    bulletins = depot.bulletins
    for rel, data in groups["bulletins"]:
        b = parse_bulletin(data, src % rel)
        bulletins[b.id] = b
    parse_profile = _p.parse_profile
    profiles = depot.profiles
    for rel, data in groups["profiles"]:
        pr = parse_profile(data, src % rel)
        profiles[pr.name] = pr
    for key, target in (("baseimages", depot.base_images), ("addons", depot.addons)):
        for rel, data in groups[key]:
            value = _p.parse_generic(data, src % rel)
            target[_p.generic_name(value, posixpath.basename(rel))] = value
    if vmware is not None and not groups["vibs"] and not groups["bulletins"]:
        bulletins, legacy_vibs = _p.parse_vmware_xml(vmware[1], src % vmware[0])
        for b in bulletins:
            depot.bulletins[b.id] = b
        for v in legacy_vibs:
            vibs[v.id] = v
        depot.warnings.append("%s: no bulletins/ or vibs/, read the legacy vmware.xml (no acceptance levels in "
                              "that format: VIBs marked community)" % label)
    return depot


def parse_metadata_zip(data: bytes, label: str) -> Depot:
    """Parse the bytes of one metadata.zip into a content ``Depot``."""
    sz = SafeZip(io.BytesIO(data), label)
    try:
        files = []
        for name in sz.files:
            kind = _classify(name)[0]
            if kind == "sidecar":
                files.append((name, b""))
            elif kind is not None:
                files.append((name, sz.read(name)))
        if not files:
            raise DepotFormatError("metadata zip has no bulletins/, vibs/, profiles/ or vmware.xml", source=label)
        return parse_metadata_files(files, label)
    finally:
        sz.close()


# ---- the loader --------------------------------------------------------------------------------------------
class _Loader(object):
    def __init__(self, product_line: Optional[str], version: Optional[str], validate_certs: bool, proxy: Optional[str],
                 cache_dir: Optional[str], timeout: Union[float, int], retries: int, http: Any) -> None:
        self.product_line = product_line
        self.version = version
        self.validate_certs = validate_certs
        self.proxy = proxy
        self.cache_dir = cache_dir
        self.timeout = timeout
        self.retries = retries
        self._http = http
        self.cache = DepotCache(cache_dir)
        self.depot = Depot()
        self.unit_digests: List[Any] = []
        self._temp: List[Any] = []

    def http_client(self) -> Any:
        if self._http is None:
            self._http = HttpClient(validate_certs=self.validate_certs, proxy=self.proxy, timeout=self.timeout,
                                    retries=self.retries, cache_dir=self.cache_dir)
        return self._http

    def close(self) -> None:
        for t in self._temp:
            try:
                t.close()
            except Exception:  # pragma: no cover
                pass

    # ---- units -------------------------------------------------------------------------------------
    def _content(self, digest: str, label: str, parse: Optional[Callable]) -> Optional[Depot]:
        cached = self.cache.get(digest)
        if cached is not None:
            old = cached.sources[0] if cached.sources else None
            if old != label:
                cached = _relabel(cached, old, label)
            return cached
        if parse is None:
            return None
        content = parse()
        content.digest = digest
        content.sources = [label]
        self.cache.put(digest, content)
        return content

    def _add_unit(self, content: Optional[Depot], digest: str, vib_base: Optional[Callable] = None,
                  sidecar_base: Optional[Callable] = None) -> None:
        """Merge one unit's content; ``vib_base(relative_path) -> ref or None`` locates .vib files."""
        if content is None:   # only when the caller asked for a cached unit and it was gone
            raise DepotFormatError("internal error: no content for metadata unit %s" % digest)
        d = self.depot
        d.vibs.update(content.vibs)
        d.bulletins.update(content.bulletins)
        d.profiles.update(content.profiles)
        d.base_images.update(content.base_images)
        d.addons.update(content.addons)
        d.warnings.extend(content.warnings)
        self.unit_digests.append(digest)
        if vib_base is not None:   # vib id -> vib_base(relative_path), resolved on lookup (no pass over every VIB)
            d.vib_files.add_located(content.vibs, vib_base)  # type: ignore[attr-defined]  # a LocatedMap (models)
        if sidecar_base is not None:
            for vid, rec in content.descriptor_signatures.items():
                d.descriptor_signatures[vid] = {k: (sidecar_base(p) if p else None) for k, p in rec.items()}

    def metadata_zip_bytes(self, data: bytes, label: Optional[str], vib_base: Optional[Callable],
                           sidecar_base: Optional[Callable] = None) -> None:
        digest = hashlib.sha256(data).hexdigest()
        name = label or "metadata.zip"
        content = self._content(digest, name, lambda: parse_metadata_zip(data, name))
        self._add_unit(content, digest, vib_base, sidecar_base)

    # ---- source kinds ------------------------------------------------------------------------------
    def load(self, source: str) -> None:
        if not isinstance(source, str) or not source.strip():
            raise DepotFormatError("empty depot source", source=repr(source))
        source = source.strip()
        if is_url(source):
            self.depot.sources.append(redact_url(source) or source)
            return self.load_url(source)
        if source.lower().startswith("file://"):
            source = urlsplit(source).path
        path = os.path.abspath(os.path.expanduser(source))
        self.depot.sources.append(path)
        if os.path.isdir(path):
            return self.load_dir(path)
        if not os.path.exists(path):
            raise DepotFormatError("no such file or folder", source=path)
        with open(path, "rb") as f:
            head = f.read(8)
        if head.startswith(b"!<arch>") or path.lower().endswith(".vib"):
            return self.load_vib(path)
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            src: Any = path
            known = self.cache.path_digest(path)   # recorded for this unchanged file: no read (cache.py)
            if known is not None or os.path.getsize(path) <= WARM_HASH_MAX:
                # a metadata.zip parsed before is found by its digest without opening the archive
                data = None if known is not None else _read_file(path, WARM_HASH_MAX)
                digest = known or self.cache.remember_path(path, hashlib.sha256(data or b"").hexdigest())
                if self.cache.has(digest):
                    content = self._content(digest, path, None)
                    if content is not None:
                        vib_base = self._dir_vib_base(_DirContainer(os.path.dirname(path)), "")
                        return self._add_unit(content, digest, vib_base, sidecar_base=lambda m: "%s#%s" % (path, m))
                src = io.BytesIO(data) if data is not None else path
            sz = SafeZip(src, path, ref=path)
            try:
                return self.load_zip(sz, depth=0)
            finally:
                sz.close()
        if head.lstrip()[:1] == b"<":
            return self.load_xml_file(path)
        raise DepotFormatError("not a depot: expected a zip (offline bundle or metadata.zip), a .vib, an index XML "
                               "or a folder", source=path)

    def load_vib(self, path_or_fileobj: Any, label: Optional[str] = None, ref: Optional[str] = None) -> None:
        va = VibArchive(path_or_fileobj, source=label)
        data = va.descriptor_bytes
        digest = hashlib.sha256(data).hexdigest()
        label = va.source
        v = _p.parse_vib_bytes(data, "%s#descriptor.xml" % label)
        content = Depot(vibs={v.id: v}, digest=digest, sources=[label])
        self._add_unit(content, digest)
        self.depot.vib_files[v.id] = ref or (path_or_fileobj if isinstance(path_or_fileobj, str) else label)

    def load_xml_file(self, path: str) -> None:
        data = _read_file(path, MAX_XML_MEMBER)
        tag = parse_xml(data, path).tag
        root_dir = os.path.dirname(path)
        c = _DirContainer(root_dir)
        rel = os.path.basename(path)
        if tag == "vendorList":
            return self.index_chain(c, rel)
        if tag == "metaList":
            return self.vendor_index(c, rel, data)
        raise DepotFormatError("XML with root <%s> is not a depot index (index.xml or vendor-index.xml)" % tag,
                               source=path)

    def load_dir(self, path: str) -> None:
        c = _DirContainer(path)
        if c.exists("index.xml"):
            return self.index_chain(c, "index.xml")
        if c.exists("vendor-index.xml") and not any(os.path.isdir(os.path.join(path, d)) for d in _METADATA_DIRS):
            return self.vendor_index(c, "vendor-index.xml")
        if any(os.path.isdir(os.path.join(path, d)) for d in _METADATA_DIRS) or c.exists("vmware.xml"):
            return self.metadata_dir(path)
        if c.exists("metadata.zip"):
            data = c.read("metadata.zip", MAX_METADATA_ZIP)
            return self.metadata_zip_bytes(data, c.member_label("metadata.zip"), self._dir_vib_base(c, ""))
        found = False
        for name in sorted(os.listdir(path)):
            p = os.path.join(path, name)
            if os.path.isfile(p) and name.lower().endswith((".zip", ".vib")):
                found = True
                self.load(p)
                self.depot.sources.pop()   # the folder itself is the source
        if not found:
            raise DepotFormatError("folder is not a depot: no index.xml, vendor-index.xml, metadata.zip, "
                                   "bulletins/, vibs/ or profiles/, and no bundle zip or .vib", source=path)

    def metadata_dir(self, path: str) -> None:
        files = []
        h = hashlib.sha256()
        count = 0
        entries = []
        if os.path.isfile(os.path.join(path, "vmware.xml")):
            entries.append("vmware.xml")
        for sub in _METADATA_DIRS:
            d = os.path.join(path, sub)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                entries.append("%s/%s" % (sub, name))
        c = _DirContainer(path)
        for rel in entries:
            kind = _classify(rel)[0]
            if kind is None:
                continue
            p = os.path.join(path, *rel.split("/"))
            if not os.path.isfile(p):
                continue
            count += 1
            if count > MAX_DIR_FILES:
                raise DepotSecurityError("more than %d metadata files" % MAX_DIR_FILES, source=path)
            if kind == "sidecar":
                data = b""
                c._path(rel)  # refuse symlinks out of the folder
            else:
                data = c.read(rel)
            h.update(rel.encode("utf-8", "surrogateescape") + b"\x00" + str(len(data)).encode() + b"\x00")
            h.update(data)
            files.append((rel, data))
        digest = h.hexdigest()
        content = self._content(digest, path, lambda: parse_metadata_files(files, path, folder=True))
        self._add_unit(content, digest, self._dir_vib_base(c, ""), sidecar_base=c.member_label)

    def _dir_vib_base(self, c: Any, base_dir: str) -> Callable:
        """``relative_path -> ref`` of the .vib if it exists in container ``c`` (None otherwise)."""
        listing: Dict[Any, Any] = {}

        def names_in(d: str) -> Any:
            names = listing.get(d)
            if names is None:
                try:
                    names = frozenset(os.listdir(os.path.join(c.root, *d.split("/")) if d else c.root))
                except OSError:
                    names = frozenset()
                listing[d] = names
            return names

        def locate(relpath: str) -> Optional[str]:
            if c.kind == "dir":
                # cheap pre-check on directory listings before resolving (thousands of VIBs, no .vib nearby)
                first = relpath.replace("\\", "/").split("/", 1)[0]
                if first not in (".", "..") and first not in names_in(base_dir):
                    return None
            try:
                rel = c.resolve(base_dir, relpath)
            except DepotSecurityError:
                return None
            if c.kind == "dir":
                parts = rel.rpartition("/")
                if parts[2] not in names_in(parts[0]):
                    return None
            return c.ref(rel) if c.exists(rel) else None
        return locate

    def load_zip(self, sz: SafeZip, depth: int) -> None:
        c = _ZipContainer(sz)
        if sz.has("index.xml"):
            return self.index_chain(c, "index.xml")
        is_metadata = any(_classify(n)[0] not in (None, "sidecar") for n in sz.files)
        if sz.has("vendor-index.xml") and not is_metadata:
            return self.vendor_index(c, "vendor-index.xml")
        if is_metadata:
            # a bare metadata.zip given as a source (its own vendor-index.xml is informational)
            data = sz.raw_bytes(MAX_METADATA_ZIP)
            vib_base = None
            if depth == 0 and not is_url(sz.ref) and os.path.isfile(sz.ref):
                vib_base = self._dir_vib_base(_DirContainer(os.path.dirname(sz.ref)), "")
            elif is_url(sz.ref):
                vib_base = _url_base(sz.ref.rsplit("/", 1)[0] + "/")
            self.metadata_zip_bytes(data, sz.label, vib_base, sidecar_base=sz.member_ref)
            return
        inner = [n for n in sz.files if n.lower().endswith(".zip")]
        if inner:
            if depth >= 1:
                raise DepotFormatError("zip wraps a zip that wraps another zip (%s); only one level of wrapping is "
                                       "unpacked: extract the inner bundle first" % " > ".join(inner),
                                       source=sz.label)
            for name in inner:
                spooled = sz.spool(name)
                self._temp.append(spooled)
                inner_sz = SafeZip(spooled, sz.member_label(name), ref=sz.member_ref(name))
                self.load_zip(inner_sz, depth + 1)
            return
        raise DepotFormatError("zip is not a depot: no index.xml, vendor-index.xml, metadata (bulletins/, vibs/) "
                               "or wrapped bundle zip", source=sz.label)

    def load_url(self, url: str) -> None:
        path = urlsplit(url).path.lower()
        http = self.http_client()
        if path.endswith(".vib"):
            data = http.get_bytes(url, expect="vib")
            return self.load_vib(io.BytesIO(data), label=redact_url(url), ref=url)
        if path.endswith(".zip"):
            data = http.get_bytes(url, expect="zip")
            sz = SafeZip(io.BytesIO(data), redact_url(url) or url, ref=url)
            try:
                return self.load_zip(sz, 0)
            finally:
                sz.close()
        data = http.get_bytes(url, expect="xml")
        c = _HttpContainer(self, url)
        tag = parse_xml(data, redact_url(url)).tag
        if tag == "vendorList":
            return self.index_chain(c, url, data)
        if tag == "metaList":
            return self.vendor_index(c, url, data)
        raise DepotFormatError("XML with root <%s> is not a depot index (expected <vendorList> of index.xml or "
                               "<metaList> of vendor-index.xml)" % tag, source=redact_url(url))

    # ---- the index chain ---------------------------------------------------------------------------
    def _read(self, c: Any, rel: str, limit: int = MAX_XML_MEMBER, expect: str = "xml") -> bytes:
        if c.kind == "http":
            return c.read(rel, limit, expect=expect)
        if not c.exists(rel):
            raise DepotFormatError("depot file %r is missing" % rel, source=c.label)
        return c.read(rel, limit)

    def index_chain(self, c: Any, rel: str, data: Optional[bytes] = None) -> None:
        if data is None:
            data = self._read(c, rel)
        label = c.member_label(rel)
        vendors = _p.parse_index(data, label)
        if not vendors:
            raise DepotFormatError("index lists no vendor", source=label)
        base = c.dirname(rel)
        for v in vendors:
            rp = v["relative_path"].replace("\\", "/")
            if rp and not rp.endswith("/"):
                rp += "/"
            vdir = c.resolve(base, rp) if rp else base
            if c.kind != "http":
                vdir = vdir.rstrip("/")
            self.vendor_index(c, c.resolve(vdir, v["indexfile"]))

    def _fits(self, ref: MetadataRef) -> bool:
        if self.product_line and ref.product_line and ref.product_line.lower() != self.product_line.lower():
            return False
        if self.version and not platform_version_matches(ref.version, self.version):
            return False
        return True

    def vendor_index(self, c: Any, rel: str, data: Optional[bytes] = None) -> None:
        if data is None:
            data = self._read(c, rel)
        label = c.member_label(rel)
        refs = _p.parse_vendor_index(data, label)
        if not refs:
            raise DepotFormatError("vendor index lists no <metadata>", source=label)
        base = c.dirname(rel)
        chosen = [r for r in refs if self._fits(r)]
        if not chosen:
            self.depot.warnings.append(
                "%s: no <metadata> entry fits product_line=%s version=%s (entries: %s)" % (
                    label, self.product_line or "any", self.version or "any",
                    ", ".join("%s %s" % (r.product_line, r.version or "*") for r in refs)))
            return
        loaded = set()
        for r in chosen:
            target = self._resolve_ref(c, base, r.url, label)
            abs_ref = target if isinstance(target, str) and is_url(target) else None
            if abs_ref is None:
                abs_ref = c.ref(target)
            self.depot.metadata.append(dataclasses.replace(r, url=abs_ref if not is_url(abs_ref) else abs_ref))
            if abs_ref in loaded:
                continue
            loaded.add(abs_ref)
            if is_url(target) and c.kind != "http":
                data = self.http_client().get_bytes(target, expect="zip", max_bytes=MAX_METADATA_ZIP)
                mdir = target.rsplit("/", 1)[0] + "/"
                self.metadata_zip_bytes(data, redact_url(target), lambda rp, b=mdir: urljoin(b, rp))
                continue
            data = self._read(c, target, MAX_METADATA_ZIP, expect="zip")
            mlabel = c.member_label(target)
            if c.kind == "http":
                mdir = c.dirname(target)
                self.metadata_zip_bytes(data, mlabel, lambda rp, b=mdir: urljoin(b, rp))
            else:
                self.metadata_zip_bytes(data, mlabel, self._dir_vib_base(c, c.dirname(target)))

    def _resolve_ref(self, c: Any, base: str, url: str, label: str) -> str:
        if is_url(url):
            return url
        if c.kind == "http":
            return c.resolve(base, url)
        scheme = urlsplit(url).scheme.lower()
        if scheme and len(scheme) > 1:
            raise DepotSecurityError("metadata URL %r has an unsupported scheme" % redact_url(url), source=label)
        return c.resolve(base, url)


def _url_base(base: str) -> Callable:
    """``relative_path -> absolute URL`` against the folder URL ``base``."""
    def locate(relpath: str) -> Optional[str]:
        return urljoin(base, relpath)
    return locate


def _relabel(content: Depot, old: Optional[str], new: str) -> Depot:
    """A shallow copy of cached unit content with ``source`` fields moved from label ``old`` to ``new``."""
    def fix(s: Optional[str]) -> Optional[str]:
        if s and old and s.startswith(old):
            return new + s[len(old):]
        return s
    out = Depot(digest=content.digest, sources=[new])
    out.vibs = {k: dataclasses.replace(v, source=fix(v.source)) for k, v in content.vibs.items()}
    out.bulletins = {k: dataclasses.replace(b, source=fix(b.source)) for k, b in content.bulletins.items()}
    out.profiles = {k: dataclasses.replace(p, source=fix(p.source)) for k, p in content.profiles.items()}
    out.base_images = content.base_images
    out.addons = content.addons
    out.descriptor_signatures = content.descriptor_signatures
    out.warnings = [w.replace(old, new, 1) if old else w for w in content.warnings]
    return out


def load_depot(sources: Union[str, List[str]], product_line: Optional[str] = None, version: Optional[str] = None,
               validate_certs: bool = True, proxy: Optional[str] = None, cache_dir: Optional[str] = None,
               timeout: Union[float, int] = 30,
               retries: int = 2, http: Any = None) -> Depot:
    """Load and merge every source (a path/URL or a list of them) into one ``Depot``.

    Later sources win on equal ids. ``Depot.digest`` is the sha256 over the digests of the metadata units read
    (each the sha256 of a metadata.zip or of a metadata folder's files). Raises ``DepotError`` subclasses.
    """
    if isinstance(sources, str):
        sources = [sources]
    if not sources:
        raise DepotFormatError("no depot source given")
    loader = _Loader(product_line, version, validate_certs, proxy, cache_dir, timeout, retries, http)
    try:
        for src in sources:
            loader.load(src)
    finally:
        loader.close()
    depot = loader.depot
    h = hashlib.sha256()
    for d in loader.unit_digests:
        h.update(d.encode("ascii"))
        h.update(b"\n")
    depot.digest = h.hexdigest()
    depot.cache_stats = dict(loader.cache.hits)
    return depot
