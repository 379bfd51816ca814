# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the containers a depot is read from, and ``open_vib``. Breaking changes at any time.

A container is a tree of files read by relative path: a checked zip (``SafeZip``: member names, count, sizes and
compression ratios checked up front), a local folder (paths contained in its root) or an HTTP(S) base URL (read
through the client layer's ``HttpClient``). ``_depot.sources`` walks them to load a depot.

``open_vib(ref)`` opens a ``Depot.vib_files`` value: a local path, ``<zip>#<member>`` (``#`` again for a zip
inside a zip) or an absolute URL (fetched with an ``HttpClient``; pass ``http=`` to reuse one).
"""

from __future__ import annotations

import io
import os
import posixpath
import stat
import tempfile
import zipfile
import zlib
from urllib.parse import urljoin, urlsplit

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.http import HttpClient
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotFormatError, DepotSecurityError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact_url
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vib_archive import VibArchive
from typing import Dict, Any, IO, Optional

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


def is_url(source: str) -> bool:
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def _label(source: str) -> Optional[str]:
    return redact_url(source) if is_url(source) else source


# ---- safe zip ------------------------------------------------------------------------------------------
def _hostile_name(name: str) -> Optional[str]:
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

    def __init__(self, fileobj_or_path: Any, label: str, ref: Optional[str] = None) -> None:
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
        self.infos: Dict[Any, Any] = {}
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

    def has(self, name: str) -> bool:
        return name in self.infos and not name.endswith("/")

    def raw_bytes(self, limit: int) -> bytes:
        """The bytes of the archive itself (to digest a bare metadata.zip)."""
        src = self._src
        if isinstance(src, (str, bytes, os.PathLike)):
            return _read_file(os.fsdecode(src), limit)
        src.seek(0, os.SEEK_END)
        size = src.tell()
        if size > limit:
            raise DepotSecurityError("archive is %d bytes, more than the %d allowed" % (size, limit),
                                     source=self.label)
        src.seek(0)
        return src.read()

    def member_label(self, name: str) -> str:
        return "%s#%s" % (self.label, name)

    def member_ref(self, name: str) -> str:
        return "%s#%s" % (self.ref, name)

    def read(self, name: str, limit: int = MAX_XML_MEMBER) -> bytes:
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

    def spool(self, name: str, limit: int = MAX_NESTED_ZIP) -> IO[bytes]:
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

    def close(self) -> None:
        self.zf.close()


# ---- containers: a tree of files we can read by relative path -------------------------------------------
def _join_rel(base_dir: str, rel: str, label: str) -> str:
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

    def __init__(self, sz: SafeZip) -> None:
        self.sz = sz
        self.label = sz.label

    def exists(self, rel: str) -> bool:
        return self.sz.has(rel)

    def read(self, rel: str, limit: int = MAX_XML_MEMBER) -> bytes:
        if not self.sz.has(rel):
            raise DepotFormatError("depot file %r is missing" % rel, source=self.label)
        return self.sz.read(rel, limit)

    def member_label(self, rel: str) -> str:
        return self.sz.member_label(rel)

    def ref(self, rel: str) -> str:
        return self.sz.member_ref(rel)

    def resolve(self, base_dir: str, rel: str) -> str:
        return _join_rel(base_dir, rel, self.label)

    def dirname(self, rel: str) -> str:
        return posixpath.dirname(rel)


class _DirContainer(object):
    kind = "dir"

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.real_root = os.path.realpath(self.root)
        self.label = self.root

    def _path(self, rel: str) -> str:
        p = os.path.join(self.root, *rel.split("/"))
        real = os.path.realpath(p)
        if real != self.real_root and not real.startswith(self.real_root + os.sep):
            raise DepotSecurityError("path %r leaves the depot folder (symlink or traversal) and was refused" % rel,
                                     source=self.label)
        return p

    def exists(self, rel: str) -> bool:
        try:
            return os.path.isfile(self._path(rel))
        except DepotSecurityError:
            return False

    def read(self, rel: str, limit: int = MAX_XML_MEMBER) -> bytes:
        p = self._path(rel)
        return _read_file(p, limit)

    def member_label(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/"))

    def ref(self, rel: str) -> str:
        return self.member_label(rel)

    def resolve(self, base_dir: str, rel: str) -> str:
        return _join_rel(base_dir, rel, self.label)

    def dirname(self, rel: str) -> str:
        return posixpath.dirname(rel)


class _HttpContainer(object):
    """Relative references resolve against URLs (absolute URLs allowed, as in VMware's online depots)."""
    kind = "http"

    def __init__(self, ctx: Any, base_url: str) -> None:
        self.ctx = ctx
        self.base = base_url
        self.label = redact_url(base_url)

    def exists(self, rel: str) -> bool:
        return True

    def read(self, url: str, limit: int = MAX_XML_MEMBER, expect: Optional[str] = None) -> bytes:
        return self.ctx.http_client().get_bytes(url, expect=expect, max_bytes=limit)

    def member_label(self, url: str) -> Optional[str]:
        return redact_url(url)

    def ref(self, url: str) -> str:
        return url

    def resolve(self, base_url: str, rel: str) -> str:
        target = urljoin(base_url or self.base, rel)
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            raise DepotSecurityError("reference %r resolves to a non-HTTP URL and was refused" % rel,
                                     source=redact_url(base_url or self.base))
        return target

    def dirname(self, url: str) -> str:
        return url.rsplit("/", 1)[0] + "/" if "/" in url else url


def _read_file(path: str, limit: int) -> bytes:
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


# ---- opening a .vib from Depot.vib_files ---------------------------------------------------------------------
def open_vib(ref: str, http: Optional[Any] = None, validate_certs: bool = True, proxy: Optional[Any] = None, timeout: int = 30, retries: int = 2,
             cache_dir: Optional[Any] = None) -> VibArchive:
    """A ``VibArchive`` for a ``Depot.vib_files`` value: local path, ``zip#member[#member]`` or URL."""
    head: Any
    head_label: Optional[str]
    if is_url(ref):
        if http is None:
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
    sz = SafeZip(head, head_label or ref)
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
