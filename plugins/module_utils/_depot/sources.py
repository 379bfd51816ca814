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
zip inside a zip) or an absolute URL (which may hold a download token: redact before showing it). ``open_vib()``
opens any of them.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import io
import os
import posixpath
import stat
import tempfile
import zipfile
import zlib
from urllib.parse import urljoin, urlsplit

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import parse as _p
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.cache import DepotCache
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotFormatError, DepotSecurityError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Depot
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact_url
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vib_archive import VibArchive
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vibversion import platform_version_matches
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.safexml import parse_xml

# ---- limits --------------------------------------------------------------------------------------------
MAX_ZIP_MEMBERS = 200000
MAX_ZIP_TOTAL = 32 * 1024 ** 3          # sum of declared uncompressed sizes of one archive
MAX_RATIO = 200                          # uncompressed/compressed, for members above RATIO_MIN_SIZE
RATIO_MIN_SIZE = 1024 * 1024
MAX_XML_MEMBER = 64 * 1024 * 1024       # one XML file
MAX_METADATA_ZIP = 1024 ** 3            # one metadata.zip (read into memory)
MAX_NESTED_ZIP = 4 * 1024 ** 3          # a wrapped bundle zip (spooled to a temp file)
MAX_DIR_FILES = 200000
WARM_HASH_MAX = 256 * 1024 * 1024       # zips up to this size are digested first (cache lookup without unzip)
_SPOOL = 64 * 1024 * 1024

_METADATA_DIRS = ("bulletins", "vibs", "profiles", "baseimages", "addons")
_SIDECARS = (".orig", ".sig")
_METADATA_SET = frozenset(_METADATA_DIRS)


def is_url(source):
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def _label(source):
    return redact_url(source) if is_url(source) else source


# ---- safe zip ------------------------------------------------------------------------------------------
def _hostile_name(name):
    if not name or "\x00" in name:
        return "empty or NUL in name"
    n = name.replace("\\", "/")
    if n.startswith("/") or (len(n) > 1 and n[1] == ":"):
        return "absolute path"
    if ".." in n.split("/"):
        return "path traversal (..)"
    return None


class SafeZip(object):
    """A zip archive whose member names, count, sizes and compression ratios were checked up front."""

    def __init__(self, fileobj_or_path, label, ref=None):
        self.label = label
        self.ref = ref if ref is not None else label
        self._src = fileobj_or_path
        try:
            self.zf = zipfile.ZipFile(fileobj_or_path)
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as e:
            raise DepotFormatError("not a readable zip archive (truncated or corrupt?): %s" % e, source=label)
        except OSError as e:
            raise DepotFormatError("cannot read zip archive: %s" % (e.strerror or e), source=label)
        if len(infos) > MAX_ZIP_MEMBERS:
            raise DepotSecurityError("zip has %d members, more than the %d allowed" % (len(infos), MAX_ZIP_MEMBERS),
                                     source=label)
        total = 0
        self.infos = {}
        for info in infos:
            name = info.filename
            bad = _hostile_name(name)
            if bad:
                raise DepotSecurityError("member %r refused: %s" % (name, bad), source=label, member=name)
            if name in self.infos:
                raise DepotSecurityError("duplicate member %r refused" % name, source=label, member=name)
            if info.flag_bits & 0x1:
                raise DepotFormatError("member %r is encrypted" % name, source=label, member=name)
            total += info.file_size
            if info.file_size > RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise DepotSecurityError(
                    "member %r refused: compression ratio %d:1 exceeds %d:1 (zip bomb?)"
                    % (name, info.file_size // max(info.compress_size, 1), MAX_RATIO), source=label, member=name)
            if total > MAX_ZIP_TOTAL:
                raise DepotSecurityError("zip declares more than %d bytes uncompressed (zip bomb?)" % MAX_ZIP_TOTAL,
                                         source=label, member=name)
            self.infos[name] = info
        self.files = [n for n in self.infos if not n.endswith("/")]

    def has(self, name):
        return name in self.infos and not name.endswith("/")

    def raw_bytes(self, limit):
        """The bytes of the archive itself (to digest a bare metadata.zip)."""
        src = self._src
        if isinstance(src, (str, bytes, os.PathLike)):
            return _read_file(src, limit)
        src.seek(0, os.SEEK_END)
        size = src.tell()
        if size > limit:
            raise DepotSecurityError("archive is %d bytes, more than the %d allowed" % (size, limit),
                                     source=self.label)
        src.seek(0)
        return src.read()

    def member_label(self, name):
        return "%s#%s" % (self.label, name)

    def member_ref(self, name):
        return "%s#%s" % (self.ref, name)

    def read(self, name, limit=MAX_XML_MEMBER):
        info = self.infos.get(name)
        if info is None:
            raise DepotFormatError("member %r not found" % name, source=self.label)
        if info.file_size > limit:
            raise DepotSecurityError("member %r is %d bytes, more than the %d allowed"
                                     % (name, info.file_size, limit), source=self.label, member=name)
        try:
            with self.zf.open(info) as f:
                data = f.read(limit + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as e:
            raise DepotFormatError("member %r is corrupt: %s" % (name, e), source=self.label, member=name)
        except OSError as e:
            raise DepotFormatError("member %r is unreadable: %s" % (name, e), source=self.label, member=name)
        if len(data) > limit:
            raise DepotSecurityError("member %r inflates beyond %d bytes" % (name, limit), source=self.label,
                                     member=name)
        return data

    def spool(self, name, limit=MAX_NESTED_ZIP):
        """Member ``name`` copied into a seekable temporary file (memory up to 64 MiB)."""
        info = self.infos[name]
        if info.file_size > limit:
            raise DepotSecurityError("member %r is %d bytes, more than the %d allowed"
                                     % (name, info.file_size, limit), source=self.label, member=name)
        out = tempfile.SpooledTemporaryFile(max_size=_SPOOL)
        total = 0
        try:
            with self.zf.open(info) as f:
                while True:
                    chunk = f.read(1024 * 1024)
                    if not chunk:
                        break
                    total += len(chunk)
                    if total > limit:
                        raise DepotSecurityError("member %r inflates beyond %d bytes" % (name, limit),
                                                 source=self.label, member=name)
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as e:
            out.close()
            raise DepotFormatError("member %r is corrupt: %s" % (name, e), source=self.label, member=name)
        except BaseException:
            out.close()
            raise
        out.seek(0)
        return out

    def close(self):
        self.zf.close()


# ---- containers: a tree of files we can read by relative path -------------------------------------------
def _join_rel(base_dir, rel, label):
    """Join a relative reference found in an index file; refuse escapes from the container."""
    rel = rel.replace("\\", "/")
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        raise DepotSecurityError("absolute path %r in depot index refused" % rel, source=label)
    joined = posixpath.normpath(posixpath.join(base_dir or "", rel))
    if joined == ".." or joined.startswith("../") or joined.startswith("/"):
        raise DepotSecurityError("path %r escapes the depot (path traversal) and was refused" % rel, source=label)
    return "" if joined == "." else joined


class _ZipContainer(object):
    kind = "zip"

    def __init__(self, sz):
        self.sz = sz
        self.label = sz.label

    def exists(self, rel):
        return self.sz.has(rel)

    def read(self, rel, limit=MAX_XML_MEMBER):
        if not self.sz.has(rel):
            raise DepotFormatError("depot file %r is missing" % rel, source=self.label)
        return self.sz.read(rel, limit)

    def member_label(self, rel):
        return self.sz.member_label(rel)

    def ref(self, rel):
        return self.sz.member_ref(rel)

    def resolve(self, base_dir, rel):
        return _join_rel(base_dir, rel, self.label)

    def dirname(self, rel):
        return posixpath.dirname(rel)


class _DirContainer(object):
    kind = "dir"

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.real_root = os.path.realpath(self.root)
        self.label = self.root

    def _path(self, rel):
        p = os.path.join(self.root, *rel.split("/"))
        real = os.path.realpath(p)
        if real != self.real_root and not real.startswith(self.real_root + os.sep):
            raise DepotSecurityError("path %r leaves the depot folder (symlink or traversal) and was refused" % rel,
                                     source=self.label)
        return p

    def exists(self, rel):
        try:
            return os.path.isfile(self._path(rel))
        except DepotSecurityError:
            return False

    def read(self, rel, limit=MAX_XML_MEMBER):
        p = self._path(rel)
        return _read_file(p, limit)

    def member_label(self, rel):
        return os.path.join(self.root, *rel.split("/"))

    def ref(self, rel):
        return self.member_label(rel)

    def resolve(self, base_dir, rel):
        return _join_rel(base_dir, rel, self.label)

    def dirname(self, rel):
        return posixpath.dirname(rel)


class _HttpContainer(object):
    """Relative references resolve against URLs (absolute URLs allowed, as in VMware's online depots)."""
    kind = "http"

    def __init__(self, ctx, base_url):
        self.ctx = ctx
        self.base = base_url
        self.label = redact_url(base_url)

    def exists(self, rel):
        return True

    def read(self, url, limit=MAX_XML_MEMBER, expect=None):
        return self.ctx.http_client().get_bytes(url, expect=expect, max_bytes=limit)

    def member_label(self, url):
        return redact_url(url)

    def ref(self, url):
        return url

    def resolve(self, base_url, rel):
        target = urljoin(base_url or self.base, rel)
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            raise DepotSecurityError("reference %r resolves to a non-HTTP URL and was refused" % rel,
                                     source=redact_url(base_url or self.base))
        return target

    def dirname(self, url):
        return url.rsplit("/", 1)[0] + "/" if "/" in url else url


def _read_file(path, limit):
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise DepotFormatError("not a regular file", source=path)
        if st.st_size > limit:
            raise DepotSecurityError("file is %d bytes, more than the %d allowed" % (st.st_size, limit), source=path)
        with open(path, "rb") as f:
            return f.read(limit + 1)
    except OSError as e:
        raise DepotFormatError("cannot read: %s" % (e.strerror or e), source=path)


# ---- parsing one metadata unit (cacheable: depends on bytes only) -----------------------------------------
def _classify(rel):
    """(kind, name) of a file inside a metadata tree, or (None, None) to ignore it."""
    top, sep, base = rel.partition("/")
    if not sep:
        return ("vmware", rel) if rel == "vmware.xml" else (None, None)
    if top not in _METADATA_SET or not base or "/" in base or base[0] == ".":
        return None, None
    if base.endswith(_SIDECARS):
        return "sidecar", base
    return top, base


def parse_metadata_files(files, label, folder=False):
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


def _parse_metadata_files(files, label, folder):
    depot = Depot()
    groups = {k: [] for k in _METADATA_DIRS}
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


def parse_metadata_zip(data, label):
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
    def __init__(self, product_line, version, validate_certs, proxy, cache_dir, timeout, retries, http):
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
        self.unit_digests = []
        self._temp = []

    def http_client(self):
        if self._http is None:
            from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.http import HttpClient
            self._http = HttpClient(validate_certs=self.validate_certs, proxy=self.proxy, timeout=self.timeout,
                                    retries=self.retries, cache_dir=self.cache_dir)
        return self._http

    def close(self):
        for t in self._temp:
            try:
                t.close()
            except Exception:  # pragma: no cover
                pass

    # ---- units -------------------------------------------------------------------------------------
    def _content(self, digest, label, parse):
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

    def _add_unit(self, content, digest, vib_base=None, sidecar_base=None):
        """Merge one unit's content; ``vib_base(relative_path) -> ref or None`` locates .vib files."""
        d = self.depot
        d.vibs.update(content.vibs)
        d.bulletins.update(content.bulletins)
        d.profiles.update(content.profiles)
        d.base_images.update(content.base_images)
        d.addons.update(content.addons)
        d.warnings.extend(content.warnings)
        self.unit_digests.append(digest)
        if vib_base is not None:   # vib id -> vib_base(relative_path), resolved on lookup (no pass over every VIB)
            d.vib_files.add_located(content.vibs, vib_base)
        if sidecar_base is not None:
            for vid, rec in content.descriptor_signatures.items():
                d.descriptor_signatures[vid] = {k: (sidecar_base(p) if p else None) for k, p in rec.items()}

    def metadata_zip_bytes(self, data, label, vib_base, sidecar_base=None):
        digest = hashlib.sha256(data).hexdigest()
        content = self._content(digest, label, lambda: parse_metadata_zip(data, label))
        self._add_unit(content, digest, vib_base, sidecar_base)

    # ---- source kinds ------------------------------------------------------------------------------
    def load(self, source):
        if not isinstance(source, str) or not source.strip():
            raise DepotFormatError("empty depot source", source=repr(source))
        source = source.strip()
        if is_url(source):
            self.depot.sources.append(redact_url(source))
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
            src = path
            known = self.cache.path_digest(path)   # recorded for this unchanged file: no read (cache.py)
            if known is not None or os.path.getsize(path) <= WARM_HASH_MAX:
                # a metadata.zip parsed before is found by its digest without opening the archive
                data = None if known is not None else _read_file(path, WARM_HASH_MAX)
                digest = known or self.cache.remember_path(path, hashlib.sha256(data).hexdigest())
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

    def load_vib(self, path_or_fileobj, label=None, ref=None):
        va = VibArchive(path_or_fileobj, source=label)
        data = va.descriptor_bytes
        digest = hashlib.sha256(data).hexdigest()
        label = va.source
        v = _p.parse_vib_bytes(data, "%s#descriptor.xml" % label)
        content = Depot(vibs={v.id: v}, digest=digest, sources=[label])
        self._add_unit(content, digest)
        self.depot.vib_files[v.id] = ref or (path_or_fileobj if isinstance(path_or_fileobj, str) else label)

    def load_xml_file(self, path):
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

    def load_dir(self, path):
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

    def metadata_dir(self, path):
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

    def _dir_vib_base(self, c, base_dir):
        """``relative_path -> ref`` of the .vib if it exists in container ``c`` (None otherwise)."""
        listing = {}

        def names_in(d):
            names = listing.get(d)
            if names is None:
                try:
                    names = frozenset(os.listdir(os.path.join(c.root, *d.split("/")) if d else c.root))
                except OSError:
                    names = frozenset()
                listing[d] = names
            return names

        def locate(relpath):
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

    def load_zip(self, sz, depth):
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

    def load_url(self, url):
        path = urlsplit(url).path.lower()
        http = self.http_client()
        if path.endswith(".vib"):
            data = http.get_bytes(url, expect="vib")
            return self.load_vib(io.BytesIO(data), label=redact_url(url), ref=url)
        if path.endswith(".zip"):
            data = http.get_bytes(url, expect="zip")
            sz = SafeZip(io.BytesIO(data), redact_url(url), ref=url)
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
    def _read(self, c, rel, limit=MAX_XML_MEMBER, expect="xml"):
        if c.kind == "http":
            return c.read(rel, limit, expect=expect)
        if not c.exists(rel):
            raise DepotFormatError("depot file %r is missing" % rel, source=c.label)
        return c.read(rel, limit)

    def index_chain(self, c, rel, data=None):
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

    def _fits(self, ref):
        if self.product_line and ref.product_line and ref.product_line.lower() != self.product_line.lower():
            return False
        if self.version and not platform_version_matches(ref.version, self.version):
            return False
        return True

    def vendor_index(self, c, rel, data=None):
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

    def _resolve_ref(self, c, base, url, label):
        if is_url(url):
            return url
        if c.kind == "http":
            return c.resolve(base, url)
        scheme = urlsplit(url).scheme.lower()
        if scheme and len(scheme) > 1:
            raise DepotSecurityError("metadata URL %r has an unsupported scheme" % redact_url(url), source=label)
        return c.resolve(base, url)


def _url_base(base):
    """``relative_path -> absolute URL`` against the folder URL ``base``."""
    def locate(relpath):
        return urljoin(base, relpath)
    return locate


def _relabel(content, old, new):
    """A shallow copy of cached unit content with ``source`` fields moved from label ``old`` to ``new``."""
    def fix(s):
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


def load_depot(sources, product_line=None, version=None, validate_certs=True, proxy=None, cache_dir=None, timeout=30,
               retries=2, http=None):
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


# ---- opening a .vib from Depot.vib_files ---------------------------------------------------------------------
def open_vib(ref, http=None, validate_certs=True, proxy=None, timeout=30, retries=2, cache_dir=None):
    """A ``VibArchive`` for a ``Depot.vib_files`` value: local path, ``zip#member[#member]`` or URL."""
    if is_url(ref):
        if http is None:
            from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.http import HttpClient
            http = HttpClient(validate_certs=validate_certs, proxy=proxy, timeout=timeout, retries=retries,
                              cache_dir=cache_dir)
        if "#" not in ref:
            data = http.get_bytes(ref, expect="vib")
            return VibArchive(io.BytesIO(data), source=redact_url(ref))
        url, rest = ref.split("#", 1)
        members = rest.split("#")
        label = redact_url(url)
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)
        spool.write(http.get_bytes(url, expect="zip"))
        spool.seek(0)
        head, head_label = spool, label
    else:
        if os.path.isfile(ref):
            return VibArchive(ref)
        parts = ref.split("#")
        for i in range(len(parts) - 1, 0, -1):
            head = "#".join(parts[:i])
            if os.path.isfile(head):
                members = parts[i:]
                break
        else:
            raise DepotFormatError("VIB file not found", source=ref)
        head_label = head
    sz = SafeZip(head, head_label)
    opened = [sz]
    try:
        for m in members[:-1]:
            if not sz.has(m):
                raise DepotFormatError("member %r not found" % m, source=sz.label)
            sp = sz.spool(m)
            sz = SafeZip(sp, sz.member_label(m))
            opened.append(sz)
        last = members[-1]
        if not sz.has(last):
            raise DepotFormatError("member %r not found" % last, source=sz.label)
        fh = sz.spool(last)
        return VibArchive(fh, source=redact_url(ref) if is_url(ref) else ref)
    finally:
        for z in opened:
            z.close()
