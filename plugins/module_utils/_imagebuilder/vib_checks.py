# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: content checks of a VIB: payload checksums and file-path (extensibility) rules.
Breaking changes at any time.

Payload checksums
-----------------
``descriptor.xml`` lists per payload (an ``ar`` member of the ``.vib`` named like the payload) checksums whose
meaning was worked out from real VIBs (ESXi 6.7 to 9.0, see tests/fixtures/real):

======================================  ===================================================================
checksum                                covers
======================================  ===================================================================
``sha-256`` (no verify-process)         the payload bytes as stored in the ``.vib``
``sha-256``/``sha-1`` + ``gunzip``      the fully decompressed payload: gunzip for ``vgz``/``tgz``/``boot``;
                                        gunzip *then* zstd for ``vzstd`` (ESXi 9, ``compression-option
                                        level=18``): a gzip wrapper around a zstd stream around the vtar
``sha-256-gunzip1``                     one gzip layer removed (for ``vzstd``: the zstd stream)
``sha-256`` + ``txt-mle``               an Intel TXT launch measurement computed by ESXi's boot loader;
                                        not reproducible here: reported ``not_verifiable``
======================================  ===================================================================

Everything is streamed in one pass per payload with bounded memory (1 MiB reads, decompression bounded per
read, a total cap on decompressed bytes against bombs). zstd needs the optional Python package ``zstandard``;
without it, the fully-decompressed checksums of ``vzstd`` payloads are ``not_verifiable`` (the raw and
``gunzip1`` ones are still checked). The VIB-level ``checksum`` of depot metadata (sha-256 of the whole ``.vib``)
is checked by ``verify_archive_file``.

File-path rules
---------------
VMware's ``vib20-extensibility.rng`` (ESXi's ``/usr/share/esximage/schemas``) states where partner and community
VIBs may install files; certified and accepted VIBs are not restricted. ``ExtensibilityRules.builtin()`` carries
those rules (the path patterns of the ESXi 6.7 schema); ``ExtensibilityRules.from_rng(schema)`` reads them from a
schema (a ``SchemaFile``: label and bytes, read by the caller), and ``check_file_paths(..., schema=...)``
additionally validates the VIB's descriptor with lxml's RelaxNG, as esximage does, then names the file entries that
break the rules. No function here opens a file.
"""

from __future__ import annotations

import hashlib
import re
import traceback
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, IO, Union, Any, Dict, List, Optional, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.safexml import parse_untrusted
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotFormatError, InputError

if TYPE_CHECKING:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Checksum, Payload, Vib

try:
    import zstandard as _zstd
    HAS_ZSTANDARD = True
    ZSTANDARD_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - optional
    _zstd = None  # type: ignore[assignment]
    HAS_ZSTANDARD = False
    ZSTANDARD_IMPORT_ERROR = traceback.format_exc()

try:
    from lxml import etree as _etree
    HAS_LXML = True
    LXML_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the controller
    _etree = None
    HAS_LXML = False
    LXML_IMPORT_ERROR = traceback.format_exc()

CHUNK = 1024 * 1024
MAX_DECOMPRESSED = 16 * 1024 * 1024 * 1024   # per payload; real ESXi payloads are < 1 GiB

OK = "ok"
MISMATCH = "mismatch"
NOT_VERIFIABLE = "not_verifiable"

_HASHES = {"sha-256": "sha256", "sha256": "sha256", "sha-1": "sha1", "sha1": "sha1", "sha-512": "sha512",
           "sha-384": "sha384", "md5": "md5"}


@dataclass
class ChecksumCheck:
    """One checksum's outcome. ``payload`` None = the whole ``.vib`` file."""
    vib: str
    payload: Optional[str]
    checksum_type: str
    verify_process: Optional[str]
    status: str
    expected: str = ""
    actual: str = ""
    reason: str = ""

    def label(self) -> str:
        what = "payload %s" % self.payload if self.payload else "the .vib file"
        proc = " (%s)" % self.verify_process if self.verify_process else ""
        return "%s %s%s" % (what, self.checksum_type, proc)

    def to_dict(self) -> Dict[str, Any]:
        return {"vib": self.vib, "payload": self.payload, "checksum_type": self.checksum_type,
                "verify_process": self.verify_process, "status": self.status, "expected": self.expected,
                "actual": self.actual, "reason": self.reason}


def _stage_of(ck: Checksum) -> Any:
    """'raw' | 'gunzip1' | 'full' | None (not verifiable) and the hashlib name for a ``Checksum``."""
    ctype = (ck.type or "").lower()
    proc = (ck.verify_process or "").lower() or None
    if ctype.endswith("-gunzip1"):
        base = ctype[:-len("-gunzip1")]
        return ("gunzip1" if proc in (None, "gunzip") else None), _HASHES.get(base)
    algo = _HASHES.get(ctype)
    if proc is None:
        return "raw", algo
    if proc == "gunzip":
        return "full", algo
    return None, algo


class _Tee(object):
    """Read-only file object that feeds what is read to hashers and counts bytes."""

    def __init__(self, fh: Any, hashers: List[Any], limit: Optional[int] = None, what: str = "") -> None:
        self._fh = fh
        self._hashers = hashers
        self.count = 0
        self._limit = limit
        self._what = what

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = CHUNK
        data = self._fh.read(n)
        if data:
            self.count += len(data)
            if self._limit is not None and self.count > self._limit:
                raise _TooBig(self._what)
            for h in self._hashers:
                h.update(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    def readable(self) -> bool:
        return True


class _TooBig(Exception):
    pass


class _GunzipReader(object):
    """Streaming gunzip (every gzip member; trailing NUL padding allowed) of a raw file object, with bounded
    output per read. zlib checks each member's CRC-32 and length; errors raise ``zlib.error``."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._d: Any = None
        self._buf = b""
        self._started = False

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = CHUNK
        while True:
            if self._d is None:
                if not self._buf:
                    self._buf = self._raw.read(CHUNK)
                    if not self._buf:
                        if not self._started:
                            raise zlib.error("empty payload, not gzip data")
                        return b""
                if self._started and not self._buf.strip(b"\x00"):
                    self._buf = b""
                    continue
                if self._buf[:2] != b"\x1f\x8b" and len(self._buf) >= 2:
                    raise zlib.error("not gzip data" if not self._started else "garbage after gzip data")
                self._started = True
                self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            if not self._buf:
                self._buf = self._raw.read(CHUNK)
                if not self._buf:
                    raise zlib.error("truncated gzip data")
            out = self._d.decompress(self._buf, n)
            self._buf = self._d.unconsumed_tail
            if self._d.eof:
                self._buf = self._d.unused_data + self._buf
                self._d = None
            if out:
                return out

    def readable(self) -> bool:
        return True


def verify_payloads(archive: Any, payloads: Union[List[Payload], Tuple[Payload]], vib_id: str,
                    max_decompressed: int = MAX_DECOMPRESSED) -> List[ChecksumCheck]:
    """Check every checksum of ``payloads`` (``Payload`` models, usually from the archive's own descriptor)
    against the members of ``archive`` (a ``VibArchive``). Returns ``[ChecksumCheck]``."""
    out = []
    for p in payloads:
        out.extend(_verify_payload(archive, p, vib_id, max_decompressed))
    return out


def _verify_payload(archive: Any, payload: Payload, vib_id: str, max_decompressed: int) -> List[ChecksumCheck]:
    checks = []
    plan = []   # (Checksum, stage, hasher)
    for ck in payload.checksums:
        stage, algo = _stage_of(ck)
        if stage is None or algo is None:
            reason = ("verify-process %s is a measurement ESXi computes at boot; it cannot be recomputed here"
                      % ck.verify_process) if ck.verify_process and ck.verify_process.lower() == "txt-mle" \
                else "unsupported checksum %s%s" % (ck.type, " (%s)" % ck.verify_process if ck.verify_process
                                                    else "")
            checks.append(ChecksumCheck(vib_id, payload.name, ck.type, ck.verify_process, NOT_VERIFIABLE,
                                        ck.value, "", reason))
            continue
        plan.append((ck, stage, hashlib.new(algo)))
    if not plan:
        return checks
    if payload.name not in archive:
        for ck, _s, _h in plan:
            checks.append(ChecksumCheck(vib_id, payload.name, ck.type, ck.verify_process, MISMATCH, ck.value, "",
                                        "payload %s is not in the .vib" % payload.name))
        return checks
    is_zstd = (payload.type or "").lower() == "vzstd"
    raw_h = [h for _c, s, h in plan if s == "raw"]
    g1_h = [h for _c, s, h in plan if s == "gunzip1"]
    full_h = [h for _c, s, h in plan if s == "full"]
    unverifiable = set()
    if is_zstd and full_h and not HAS_ZSTANDARD:
        unverifiable = {id(h) for h in full_h}
        full_h = []
    failure = None
    member = archive.open(payload.name)
    try:
        raw = _Tee(member, raw_h)
        try:
            if g1_h or full_h:
                gz = _GunzipReader(raw)
                if is_zstd:
                    g1 = _Tee(gz, g1_h, max_decompressed, "gunzip")
                    if full_h:
                        reader = _zstd.ZstdDecompressor().stream_reader(g1, read_size=CHUNK,  # type: ignore[arg-type]
                                                                        read_across_frames=True)
                        top = _Tee(reader, full_h, max_decompressed, "zstd")
                        top.drain()
                    g1.drain()
                else:
                    top = _Tee(gz, g1_h + full_h, max_decompressed, "gunzip")
                    top.drain()
            raw.drain()
        except _TooBig as e:
            failure = "payload decompresses to more than %d bytes (%s)" % (max_decompressed, e)
        except (zlib.error, EOFError) as e:
            failure = "payload is not valid gzip data: %s" % e
        except Exception as e:  # zstandard.ZstdError and friends
            if _zstd is not None and isinstance(e, getattr(_zstd, "ZstdError", ())):
                failure = "payload is not valid zstd data: %s" % e
            else:
                raise
    except DepotFormatError:
        raise
    finally:
        member.close()
    for ck, stage, h in plan:
        if id(h) in unverifiable:
            checks.append(ChecksumCheck(vib_id, payload.name, ck.type, ck.verify_process, NOT_VERIFIABLE,
                                        ck.value, "", "zstd payload: install the Python package zstandard to "
                                        "verify its decompressed checksum"))
            continue
        if failure and stage != "raw":
            checks.append(ChecksumCheck(vib_id, payload.name, ck.type, ck.verify_process, MISMATCH, ck.value, "",
                                        failure))
            continue
        actual = h.hexdigest()
        status = OK if actual.lower() == (ck.value or "").strip().lower() else MISMATCH
        checks.append(ChecksumCheck(vib_id, payload.name, ck.type, ck.verify_process, status, ck.value, actual,
                                    "" if status == OK else "digest differs"))
    return checks


def _raw_archive_stream(archive: Any) -> Tuple[IO[bytes], bool]:
    """``(file object over the whole .vib, owns)`` for a ``VibArchive``."""
    return archive.open_raw(), True


def verify_archive_file(archive: Any, checksum: Checksum, vib_id: str) -> ChecksumCheck:
    """The depot's VIB-level checksum (``Vib.checksum``, sha-256 of the whole ``.vib``) against an opened
    ``VibArchive`` (a local file or a member spooled from a bundle; the archive reads its own bytes)."""
    stage, algo = _stage_of(checksum)
    if stage != "raw" or algo is None:
        return ChecksumCheck(vib_id, None, checksum.type, checksum.verify_process, NOT_VERIFIABLE, checksum.value,
                             "", "unsupported VIB checksum %s" % checksum.type)
    h = hashlib.new(algo)
    fh, owns = _raw_archive_stream(archive)
    try:
        while True:
            data = fh.read(CHUNK)
            if not data:
                break
            h.update(data)
    finally:
        if owns:
            fh.close()
    actual = h.hexdigest()
    status = OK if actual.lower() == (checksum.value or "").strip().lower() else MISMATCH
    return ChecksumCheck(vib_id, None, checksum.type, checksum.verify_process, status, checksum.value, actual,
                         "" if status == OK else "the .vib file differs from the depot metadata")


# ---- file-path (extensibility) rules ----------------------------------------------------------------------
# The patterns of VMware's vib20-extensibility.rng (ESXi 6.7.0): <define name="CommunityFile"> and the extra
# values/patterns of <define name="PartnerFile">. XSD patterns match the whole string.
_COMMUNITY_PATTERNS = (
    r"etc/vmware/shutdown/shutdown\.d/.+", r"etc/vmware/pciid/.+", r"etc/vmware/vm-support/.+",
    r"etc/vmware/firewall/.+", r"etc/vmware/service/.+", r"etc/vmware/driver.map.d/.+",
    r"etc/vmware/fallback.map.d/.+", r"etc/vmware/default.map.d/.+", r"etc/vmware/ihv.map.d/.+",
    r"etc/vmware/oem.map.d/.+", r"etc/cim/.+", r"etc/config/.+", r"etc/init.d/.+", r"etc/shutdown.d/.+",
    r"opt/.+", r"usr/lib/cim/.+", r"usr/lib/pycim/.+", r"usr/lib/hostprofiles/plugins/.+",
    r"usr/lib/hostprofiles/locale/.+", r"usr/lib/vmware/.+", r"usr/lib/vmware-debug/.+",
    r"usr/libexec/jumpstart/plugins/.+", r"usr/lib64/vmware/plugin/.+", r"usr/share/hwdata/driver.pciids.d/.+",
    r"usr/share/hwdata/fallback.pciids.d/.+", r"usr/share/hwdata/default.pciids.d/.+",
    r"usr/share/hwdata/ihv.pciids.d/.+", r"usr/share/hwdata/oem.pciids.d/.+", r"var/lib/sfcb/registration/.+",
    r"usr/lib64/vmware/.+",
)
_PARTNER_VALUES = ("etc/vmware/vmware.lic", "etc/vmware/support", "etc/vmware/oem.xml", "etc/vmware/backup.conf",
                   "usr/lib/vmware/hostd/docroot/client/customLinks.xml")
_PARTNER_PATTERNS = (r"etc/init\.d/.+", r"etc/rc\.local\.d/.+")
RNG_NS = "http://relaxng.org/ns/structure/1.0"


@dataclass
class ExtensibilityRules:
    """Where partner and community VIBs may install files."""
    community_patterns: Tuple[str, ...]
    partner_values: Tuple[str, ...]
    partner_patterns: Tuple[str, ...]
    source: str = "builtin (vib20-extensibility.rng of ESXi 6.7.0)"

    def __post_init__(self) -> None:
        self._community = [re.compile(p + r"\Z", re.S) for p in self.community_patterns]
        self._partner = [re.compile(p + r"\Z", re.S) for p in self.partner_patterns]
        self._values = set(self.partner_values)

    @classmethod
    def builtin(cls) -> "ExtensibilityRules":
        return cls(_COMMUNITY_PATTERNS, _PARTNER_VALUES, _PARTNER_PATTERNS)

    @classmethod
    def from_rng(cls, schema: "SchemaFile") -> "ExtensibilityRules":
        """The rules of a ``vib20-extensibility.rng`` schema (its bytes, read by the caller; needs lxml)."""
        path = schema.label
        root = _parse_schema(schema).getroot()
        defines = {d.get("name"): d for d in root.iter("{%s}define" % RNG_NS)}
        if "CommunityFile" not in defines or "PartnerFile" not in defines:
            raise InputError("%s is not a VIB extensibility schema (no CommunityFile/PartnerFile)" % path,
                             source=path)

        def collect(define: Any) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
            values = tuple((v.text or "").strip() for v in define.iter("{%s}value" % RNG_NS))
            patterns = tuple((p.text or "").strip() for p in define.iter("{%s}param" % RNG_NS)
                             if p.get("name") == "pattern")
            return values, patterns

        _cv, community = collect(defines["CommunityFile"])
        pvalues, ppatterns = collect(defines["PartnerFile"])
        return cls(community, pvalues, ppatterns, source=str(path))

    def allowed(self, path: str, acceptance_level: str) -> bool:
        """True if a VIB of ``acceptance_level`` may install ``path`` (certified/accepted: always)."""
        if acceptance_level not in ("partner", "community"):
            return True
        if any(r.match(path) for r in self._community):
            return True
        if acceptance_level == "partner":
            return path in self._values or any(r.match(path) for r in self._partner)
        return False

    def violations(self, vib: Vib) -> Any:
        """``(bad_files, other_problems)`` of a Vib model under these rules."""
        level = vib.acceptance_level
        if level not in ("partner", "community"):
            return [], []
        bad = [f for f in vib.files if not self.allowed(f, level)]
        other = []
        if level == "community" and vib.overlay:
            other.append("community VIBs may not be overlay VIBs")
        return bad, other


@dataclass(frozen=True)
class SchemaFile:
    """An extensibility schema as read by the caller: a label (its path) and its bytes."""
    label: str
    data: bytes


def _parse_schema(schema: SchemaFile) -> Any:
    if not HAS_LXML:
        raise InputError("checking file paths against a RelaxNG schema needs the Python package lxml")
    # the collection's one safe XML parser (no DTD, no entities, no network)
    return _etree.ElementTree(parse_untrusted(schema.data, "extensibility schema %s" % schema.label, InputError))


_RNG_CACHE: Dict[Tuple[str, str], Any] = {}


def load_relaxng(schema: SchemaFile) -> Any:
    """A compiled lxml ``RelaxNG`` for ``schema`` (cached by label and content digest)."""
    key = (schema.label, hashlib.sha256(schema.data).hexdigest())
    if key not in _RNG_CACHE:
        doc = _parse_schema(schema)
        try:
            _RNG_CACHE[key] = _etree.RelaxNG(doc)
        except _etree.RelaxNGParseError as e:
            raise InputError("%s is not a valid RelaxNG schema: %s" % (schema.label, e), source=schema.label)
    return _RNG_CACHE[key]


def minimal_descriptor(vib: Vib) -> bytes:
    """The parts of a VIB descriptor the extensibility schema looks at, as XML bytes (for a VIB known only
    from depot metadata)."""
    root = _etree.Element("vib", version="5.0")
    _etree.SubElement(root, "name").text = vib.name
    fl = _etree.SubElement(root, "file-list")
    for f in vib.files:
        _etree.SubElement(fl, "file").text = f
    _etree.SubElement(root, "acceptance-level").text = vib.acceptance_level
    _etree.SubElement(root, "overlay").text = "true" if vib.overlay else "false"
    return _etree.tostring(root)


def schema_check(vib: Vib, rng: Any, descriptor_bytes: Optional[bytes] = None) -> Optional[str]:
    """Validate the VIB's descriptor (or a minimal one built from the model) with ``rng``.
    Returns ``None`` when valid, else the first schema error line."""
    data = descriptor_bytes if descriptor_bytes is not None else minimal_descriptor(vib)
    try:
        doc = parse_untrusted(data, "descriptor", DepotFormatError)
    except DepotFormatError as e:
        return e.msg
    if rng.validate(doc):
        return None
    err = rng.error_log.last_error
    return "%s (line %s)" % (err.message, err.line) if err is not None else "does not match the schema"


def check_file_paths(vib: Any, rules: Optional[ExtensibilityRules] = None, schema: Optional[SchemaFile] = None,
                     descriptor_bytes: Optional[bytes] = None) -> List[Tuple[Optional[str], str]]:
    """File-path problems of one VIB: ``[(file_or_None, detail)]``; empty when it complies.

    Certified and accepted VIBs are not restricted. With ``schema`` the verdict is lxml's RelaxNG
    validation of the descriptor (``descriptor_bytes`` or one built from the model) and the rules are read from
    that schema; otherwise the built-in rules decide."""
    level = vib.acceptance_level
    if level not in ("partner", "community"):
        return []
    if rules is None:
        rules = ExtensibilityRules.from_rng(schema) if schema else ExtensibilityRules.builtin()
    bad, other = rules.violations(vib)
    out = [(f, "%s (%s) installs %s, outside the paths VMware allows for %s VIBs"
            % (vib.id, level, f, level)) for f in bad]
    out.extend((None, "%s: %s" % (vib.id, o)) for o in other)
    if schema:
        msg = schema_check(vib, load_relaxng(schema), descriptor_bytes)
        if msg is None:
            return []
        if not out:
            out.append((None, "%s violates the extensibility rules of %s: %s" % (vib.id, schema.label, msg)))
    return out
