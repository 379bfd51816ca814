# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: a safe reader for ``.vib`` files. Breaking changes at any time.

A VIB is a Unix ``ar`` archive: the magic ``!<arch>\\n``, then per member a 60-byte header (name 16, mtime 12,
uid 6, gid 6, mode 8, size 10, terminator ``\\x60\\n``) followed by the data, padded to an even offset.
Members are ``descriptor.xml``, ``sig.pkcs7`` (empty when unsigned) and the payloads.

Only the headers are read up front; member data is read on demand, bounded to the member's declared size.
Nothing is ever written to disk. Hostile member names (``/``, ``..``, absolute, NUL, duplicates) and sizes
that point beyond the end of the file are refused with ``DepotSecurityError``; a bad magic, a truncated or
garbled header or a missing ``descriptor.xml`` raise ``DepotFormatError``.
"""

from __future__ import annotations

import io
import os

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotFormatError, DepotSecurityError
from typing import Any, IO, List, Optional, Tuple

AR_MAGIC = b"!<arch>\n"
_HEADER_LEN = 60
_FMAG = b"`\n"
MAX_MEMBERS = 4096
DESCRIPTOR = "descriptor.xml"
SIGNATURE = "sig.pkcs7"
DEFAULT_MAX_READ = 64 * 1024 * 1024
_MAX_DESCRIPTOR = 32 * 1024 * 1024
_MAX_SIGNATURE = 1024 * 1024
_MAX_IN_MEMORY = 256 * 1024 * 1024   # a non-seekable stream is buffered up to this size


class _MemberReader(io.RawIOBase):
    """Streaming, read-only view of ``size`` bytes at ``offset`` of ``fh``."""

    def __init__(self, fh: IO[bytes], offset: int, size: int, owns: bool, name: str, source: str) -> None:
        super().__init__()
        self._fh: Any = fh
        self._start = offset
        self._size = size
        self._pos = 0
        self._owns = owns
        self.name = name
        self._source = source

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError("invalid whence")
        self._pos = max(0, min(pos, self._size))
        return self._pos

    def readinto(self, buf: Any) -> int:
        if self._fh is None:
            raise ValueError("I/O operation on closed member reader")
        remaining = self._size - self._pos
        if remaining <= 0:
            return 0
        want = min(len(buf), remaining)
        self._fh.seek(self._start + self._pos)
        data = self._fh.read(want)
        if len(data) < want and not data:
            raise DepotFormatError("member %r is truncated (ends at byte %d of %d)"
                                   % (self.name, self._pos, self._size), source=self._source)
        n = len(data)
        buf[:n] = data
        self._pos += n
        return n

    def close(self) -> None:
        if self._fh is not None and self._owns:
            try:
                self._fh.close()
            except Exception:  # pragma: no cover  pylint: disable=broad-except
                pass
        self._fh = None
        super().close()


def _check_name(raw: bytes, source: str) -> str:
    """Decode and validate one ar member name; raise on hostile or undecodable names."""
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:
        raise DepotSecurityError("member name %r is not ASCII" % (raw,), source=source)
    name = name.rstrip(" ")
    if name.endswith("/") and name not in ("/", "//"):
        name = name[:-1]          # GNU ar terminates names with "/"
    if not name:
        raise DepotFormatError("member with an empty name", source=source)
    if name in ("/", "//") or name.startswith("#1/"):
        # symbol tables / long-name tables / BSD long names never occur in VIBs
        raise DepotFormatError("unsupported ar extension member %r (not a VIB)" % name, source=source)
    if "\x00" in name or "/" in name or "\\" in name or name in (".", "..") or name.startswith(".."):
        raise DepotSecurityError("hostile member name %r refused" % name, source=source)
    return name


class VibArchive(object):
    """Read-only access to the members of one ``.vib`` (ar archive).

    ``path_or_fileobj`` is a filesystem path or a binary file object (seekable preferred; a non-seekable stream
    is buffered in memory up to 256 MiB). ``source`` names the file in error messages (default: the path or the
    file object's ``name``); pass an already-redacted URL when the VIB came from HTTP.
    """

    def __init__(self, path_or_fileobj: Any, source: Optional[str] = None) -> None:
        self._path: Any = None
        self._fh: Any = None
        if isinstance(path_or_fileobj, (str, bytes, os.PathLike)):
            self._path = os.fspath(path_or_fileobj)
            if isinstance(self._path, bytes):
                self._path = self._path.decode("utf-8", "replace")
            self.source = source or self._path
            try:
                fh = open(self._path, "rb")
            except OSError as e:
                raise DepotFormatError("cannot open VIB: %s" % (e.strerror or e), source=self.source)
            try:
                self._scan(fh)
            finally:
                fh.close()
        else:
            stream: Any = path_or_fileobj
            self.source = source or getattr(stream, "name", None) or "<vib>"
            if not (hasattr(stream, "seekable") and stream.seekable()):
                data = stream.read(_MAX_IN_MEMORY + 1)
                if len(data) > _MAX_IN_MEMORY:
                    raise DepotSecurityError("VIB stream larger than %d bytes refused" % _MAX_IN_MEMORY,
                                             source=self.source)
                stream = io.BytesIO(data)
            self._fh = stream
            self._scan(stream)
        self._descriptor: Optional[bytes] = None
        self._signature: Optional[bytes] = None

    # ---- parsing ------------------------------------------------------------------------------------
    def _scan(self, fh: IO[bytes]) -> None:
        source = self.source
        try:
            fh.seek(0, io.SEEK_END)
            file_size = fh.tell()
            fh.seek(0)
        except (OSError, ValueError) as e:
            raise DepotFormatError("cannot seek in VIB: %s" % e, source=source)
        magic = fh.read(len(AR_MAGIC))
        if magic != AR_MAGIC:
            if not magic:
                raise DepotFormatError("empty file, not a VIB (ar archive)", source=source)
            raise DepotFormatError("not a VIB: bad ar magic %r (expected '!<arch>\\n')" % (magic[:8],),
                                   source=source)
        members: List[Any] = []
        index = {}
        offset = len(AR_MAGIC)
        while offset < file_size:
            if file_size - offset == 1:
                break   # trailing pad byte
            header = fh.read(_HEADER_LEN)
            if len(header) < _HEADER_LEN:
                raise DepotFormatError("truncated ar header at byte %d (%d of %d bytes)"
                                       % (offset, len(header), _HEADER_LEN), source=source)
            if header[58:60] != _FMAG:
                raise DepotFormatError("corrupt ar header at byte %d (bad terminator)" % offset, source=source)
            name = _check_name(header[:16], source)
            size_field = header[48:58].strip()
            if not size_field.isdigit():
                raise DepotFormatError("member %r has an invalid size field %r" % (name, size_field),
                                       source=source)
            size = int(size_field)
            data_off = offset + _HEADER_LEN
            if data_off + size > file_size:
                raise DepotSecurityError(
                    "member %r declares %d bytes but only %d remain in the file (truncated or hostile archive)"
                    % (name, size, file_size - data_off), source=source)
            if name in index:
                raise DepotSecurityError("duplicate member %r refused" % name, source=source)
            if len(members) >= MAX_MEMBERS:
                raise DepotSecurityError("more than %d members refused" % MAX_MEMBERS, source=source)
            index[name] = (data_off, size)
            members.append((name, size))
            offset = data_off + size + (size & 1)
            fh.seek(offset)
        if DESCRIPTOR not in index:
            raise DepotFormatError("no %s member (not a VIB)" % DESCRIPTOR, source=source)
        self._members = members
        self._index = index
        self.size = file_size

    # ---- access -------------------------------------------------------------------------------------
    def members(self) -> List[Tuple[str, int]]:
        """``[(name, size), ...]`` in archive order."""
        return list(self._members)

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def _locate(self, name: str) -> Tuple[int, int]:
        try:
            return self._index[name]
        except KeyError:
            raise DepotFormatError("no member %r in VIB" % (name,), source=self.source)

    def _handle(self) -> Tuple[Any, bool]:
        if self._path is not None:
            try:
                return open(self._path, "rb"), True
            except OSError as e:
                raise DepotFormatError("cannot open VIB: %s" % (e.strerror or e), source=self.source)
        return self._fh, False

    def read(self, name: str, max_bytes: int = DEFAULT_MAX_READ) -> bytes:
        """The whole content of member ``name``; ``DepotSecurityError`` if it is larger than ``max_bytes``."""
        offset, size = self._locate(name)
        if max_bytes is not None and size > max_bytes:
            raise DepotSecurityError("member %r is %d bytes, more than the %d allowed" % (name, size, max_bytes),
                                     source=self.source)
        fh, owns = self._handle()
        try:
            fh.seek(offset)
            data = fh.read(size)
        except OSError as e:
            raise DepotFormatError("cannot read member %r: %s" % (name, e), source=self.source)
        finally:
            if owns:
                fh.close()
        if len(data) != size:
            raise DepotFormatError("member %r is truncated (%d of %d bytes)" % (name, len(data), size),
                                   source=self.source)
        return data

    def open(self, name: str) -> IO[bytes]:
        """A read-only binary file object over member ``name`` (bounded to its size). Close it when done."""
        offset, size = self._locate(name)
        fh, owns = self._handle()
        return io.BufferedReader(_MemberReader(fh, offset, size, owns, name, self.source), 1024 * 1024)

    def open_raw(self) -> IO[bytes]:
        """A read-only binary file object over the whole ``.vib`` (to digest it). Close it when done; closing it
        never closes a file object the archive was given."""
        fh, owns = self._handle()
        return io.BufferedReader(_MemberReader(fh, 0, self.size, owns, "<whole archive>", self.source), 1024 * 1024)

    @property
    def descriptor_bytes(self) -> bytes:
        data = self._descriptor
        if data is None:
            data = self._descriptor = self.read(DESCRIPTOR, _MAX_DESCRIPTOR)
        return data

    @property
    def signature_bytes(self) -> bytes:
        data = self._signature
        if data is None:
            data = self._signature = self.read(SIGNATURE, _MAX_SIGNATURE) if SIGNATURE in self._index else b""
        return data

    @property
    def payload_names(self) -> List[str]:
        """Member names other than the descriptor and the signature, in archive order."""
        return [m[0] for m in self._members if m[0] not in (DESCRIPTOR, SIGNATURE)]

    def __repr__(self) -> str:
        return "VibArchive(%r)" % (self.source,)
