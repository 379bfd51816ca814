# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: validate an image profile (or a VIB set) against a depot, as Image Builder does.
Breaking changes at any time.

``validate_profile(depot, ...)`` builds the VIB set (a profile of the depot, or ``vibs``; then ``remove_vibs``,
then ``add_vibs`` with Image Builder's replace semantics), checks it with ``_resolve.validate_set`` and, on
request, checks signatures (``_signature``), payload checksums and file paths (``_vib_checks``) of every VIB
whose ``.vib`` (or signed host record) the depot knows. It returns a JSON-safe dict (see ``validate_profile``).

Finding types and severities
----------------------------
=====================  ==================  ==========================================================
type                   severity            when
=====================  ==================  ==========================================================
``missing_vib``        error               the profile lists a VIB id that no depot source holds
``missing_dependency`` error               a ``depends`` nothing in the image provides
``conflict``           error               a ``conflicts`` constraint matches another VIB of the image
``duplicate_name``     error               two VIBs of one name in the image
``acceptance_level``   error               a VIB is below the minimum acceptance level
``platform_mismatch``  error / warning     wrong product line / ESXi version outside the VIB's patterns
``replaced``           warning / info      a VIB of the image is retired by another one's ``replaces`` /
                                           ``add_vibs`` took the place of a VIB (upgrade, downgrade, replace)
``signature_invalid``  error               the signature does not verify, or its chain does not reach the
                                           trust store, or a certificate was not valid at signing time
``unsigned``           warning / error     no signature: warning for a community VIB (community VIBs are
                                           unsigned by design), error for any other level
``expired_signer``     info                the signature verified at signing time, but a certificate of the
                                           chain has expired since (VMware's 2008 and 2019 certificates)
``checksum_mismatch``  error               a payload (named) or the whole ``.vib`` differs from its checksum
``file_path``          error               a partner/community VIB installs a file outside the paths of
                                           VMware's extensibility rules (esxcli refuses it without ``-f``)
=====================  ==================  ==========================================================

``valid`` is true when there is no ``error`` finding.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Dict, Union, Any, Callable, Iterable, List, Optional, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder import resolve as R
from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder import signature as S
from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder import vib_checks as C
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (  # noqa: F401 (re-export)
    InputError, ProfileInvalidError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import normalize_acceptance
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.parse import parse_vib
from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder.resolve import Finding

if TYPE_CHECKING:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Depot, ImageProfile, Vib
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder.signature import (
        SignatureResult, TrustStore)
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder.vib_checks import (
        ChecksumCheck, SchemaFile)
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder.vibindex import VibIndex

MISSING_VIB = "missing_vib"
UNSIGNED = "unsigned"
SIGNATURE_INVALID = "signature_invalid"
EXPIRED_SIGNER = "expired_signer"
CHECKSUM_MISMATCH = "checksum_mismatch"
FILE_PATH = "file_path"

FINDING_TYPES = (R.MISSING_DEPENDENCY, R.CONFLICT, R.DUPLICATE_NAME, R.REPLACED, R.ACCEPTANCE_LEVEL,
                 R.PLATFORM_MISMATCH, MISSING_VIB, UNSIGNED, SIGNATURE_INVALID, EXPIRED_SIGNER, CHECKSUM_MISMATCH,
                 FILE_PATH)
FAIL_ON = ("error", "warning", "never")
VibOpener = Callable[[str], Any]
RecordReader = Callable[[str], Tuple[Optional[bytes], Optional[bytes]]]
_MAX_FILE_FINDINGS = 50


def _no_opener(ref: str) -> Any:
    raise InputError("this validation needs the .vib files, and no VIB opener was given (internal error): %s" % ref)


def _no_record_reader(path: str) -> Tuple[Optional[bytes], Optional[bytes]]:
    raise InputError("this validation needs host records, and no record reader was given (internal error): %s"
                     % path)


# ---- selecting VIBs ------------------------------------------------------------------------------------------
def _lookup(depot: Depot, catalog: VibIndex, ref: str) -> Optional[Vib]:
    """A Vib of the depot for an id, a name (newest version) or ``name:version``; None if unknown."""
    ref = (ref or "").strip()
    if ref in depot.vibs:
        return depot.vibs[ref]
    if ":" in ref:
        name, version = ref.split(":", 1)
        for v in catalog.by_name.get(name, ()):
            if v.version == version:
                return v
        return None
    return catalog.newest(ref)


def resolve_refs(depot: Depot, catalog: VibIndex, refs: Optional[Iterable[str]], what: str) -> List[Any]:
    """Vibs for ``refs`` (ids, names or ``name:version``). ``InputError`` names every ref no depot holds."""
    out = []
    unknown = []
    for ref in refs or ():
        v = _lookup(depot, catalog, ref)
        if v is None:
            unknown.append(ref)
        else:
            out.append(v)
    if unknown:
        raise InputError("%s: VIB(s) not found in any depot source: %s" % (what, ", ".join(unknown)),
                         unknown_vibs=unknown)
    return out


def _profile(depot: Depot, name: str, what: str) -> ImageProfile:
    prof = depot.profiles.get(name)
    if prof is None:
        for p in depot.profiles.values():
            if p.profile_id and p.profile_id == name:
                return p
        names = sorted(depot.profiles)
        if names:
            listed = "profiles: %s" % ", ".join(names[:20])
            if len(names) > 20:
                listed += " and %d more" % (len(names) - 20)
        else:
            listed = "it holds no image profile"
        raise InputError("%s: image profile %r is not in the depot (%s)" % (what, name, listed),
                         available_profiles=names[:100])
    return prof


def _remove(current: List[Vib], refs: Union[Tuple[()], List[str]]) -> List[Any]:
    by_id = {v.id: v for v in current}
    out = []
    unknown = []
    for ref in refs or ():
        ref = ref.strip()
        if ref in by_id:
            out.append(by_id[ref])
            continue
        name, _sep, version = ref.partition(":")
        hits = [v for v in current if v.name == name and (not version or v.version == version)]
        if hits:
            out.extend(hits)
        else:
            unknown.append(ref)
    if unknown:
        raise InputError("remove_vibs: not in the image: %s" % ", ".join(unknown), unknown_vibs=unknown)
    return out


# ---- per-VIB content checks ----------------------------------------------------------------------------------
class _Counters(object):
    def __init__(self) -> None:
        self.sig: Dict[str, Any] = {"verified": 0, "unsigned": 0, "invalid": 0, "expired_signer": 0, "not_checked": []}
        self.ck: Dict[str, Any] = {"verified": 0, "mismatched": 0, "not_verifiable": [], "not_checked": []}
        self.fp: Dict[str, Any] = {"checked": 0, "violations": 0}


def _signature_findings(vib: Vib, result: Optional[SignatureResult], counters: Any, source: str) -> List[Any]:
    if result is None:
        counters.sig["not_checked"].append(vib.id)
        return []
    if result.status == S.UNSIGNED:
        counters.sig["unsigned"] += 1
        sev = "warning" if vib.acceptance_level == "community" else "error"
        detail = "%s (%s) is not signed (%s)" % (vib.id, vib.acceptance_level, source)
        return [Finding(UNSIGNED, sev, vib.id, detail)]
    if result.status == S.INVALID:
        counters.sig["invalid"] += 1
        return [Finding(SIGNATURE_INVALID, "error", vib.id, "%s: signature invalid: %s (%s)"
                        % (vib.id, result.reason, source))]
    counters.sig["verified"] += 1
    if result.expired:
        counters.sig["expired_signer"] += 1
        return [Finding(EXPIRED_SIGNER, "info", vib.id,
                        "%s: signature verified at its signing time %s; since expired: %s"
                        % (vib.id, result.signing_time or "(none)", "; ".join(result.expired_certificates)))]
    return []


def _checksum_findings(checks: List[ChecksumCheck], counters: Any) -> List[Any]:
    out = []
    for c in checks:
        if c.status == C.OK:
            counters.ck["verified"] += 1
        elif c.status == C.NOT_VERIFIABLE:
            counters.ck["not_verifiable"].append({"vib": c.vib, "payload": c.payload, "checksum": c.checksum_type,
                                                  "verify_process": c.verify_process, "reason": c.reason})
        else:
            counters.ck["mismatched"] += 1
            detail = "%s: %s mismatch: %s" % (c.vib, c.label(), c.reason)
            if c.actual:
                detail += " (expected %s, got %s)" % (c.expected, c.actual)
            out.append(Finding(CHECKSUM_MISMATCH, "error", c.vib, detail))
    return out


def _file_path_findings(vib: Any, rules: Optional[C.ExtensibilityRules], schema: Optional[C.SchemaFile],
                        descriptor: Optional[bytes], counters: "_Counters") -> List[Finding]:
    if vib.acceptance_level not in ("partner", "community"):
        return []
    counters.fp["checked"] += 1
    problems = C.check_file_paths(vib, rules=rules, schema=schema, descriptor_bytes=descriptor)
    if not problems:
        return []
    counters.fp["violations"] += 1
    out = [Finding(FILE_PATH, "error", vib.id, detail) for _f, detail in problems[:_MAX_FILE_FINDINGS]]
    if len(problems) > _MAX_FILE_FINDINGS:
        out.append(Finding(FILE_PATH, "error", vib.id, "%s: and %d more files outside the allowed paths"
                           % (vib.id, len(problems) - _MAX_FILE_FINDINGS)))
    return out


def _content_checks(depot: Any, vibs: Iterable[Any], verify_signatures: bool, trust: Optional[S.TrustStore],
                    expiry: str, verify_checksums: bool, check_file_paths: bool, schema: Optional[C.SchemaFile],
                    open_vib: VibOpener, read_host_record: RecordReader, counters: "_Counters") -> List[Finding]:
    findings = []
    rules = None
    if check_file_paths:
        rules = C.ExtensibilityRules.from_rng(schema) if schema else C.ExtensibilityRules.builtin()
    record_sigs = getattr(depot, "descriptor_signatures", None) or {}
    for vib in sorted(vibs, key=lambda v: v.id):
        ref = depot.vib_files.get(vib.id)
        archive = None
        if ref and (verify_signatures or verify_checksums or (check_file_paths and schema)):
            archive = open_vib(ref)
        if verify_signatures and trust is not None:
            result: Optional[SignatureResult] = None
            where = ""
            if archive is not None:
                result = S.verify_vib_archive(archive, trust, expiry)
                where = "sig.pkcs7 of %s" % archive.source
            elif vib.id in record_sigs and record_sigs[vib.id].get("sig"):
                rec = record_sigs[vib.id]
                sig, orig = read_host_record(rec["descriptor"])
                result = S.verify_host_record(posixpath.basename(rec["descriptor"]), sig, orig, trust, expiry)
                where = "%s" % rec["sig"]
            findings.extend(_signature_findings(vib, result, counters, where))
        if verify_checksums:
            if archive is None:
                counters.ck["not_checked"].append(vib.id)
            else:
                checks = []
                if vib.checksum is not None and vib.checksum.value:
                    checks.append(C.verify_archive_file(archive, vib.checksum, vib.id))
                inner = parse_vib(archive.descriptor_bytes, source="%s:descriptor.xml" % archive.source)
                checks.extend(C.verify_payloads(archive, inner.payloads, vib.id))
                findings.extend(_checksum_findings(checks, counters))
        if check_file_paths:
            descriptor = archive.descriptor_bytes if archive is not None else None
            findings.extend(_file_path_findings(vib, rules, schema, descriptor, counters))
    return findings


# ---- the validation ------------------------------------------------------------------------------------------
def validate_profile(depot: Depot, profile: Optional[str] = None, vibs: Optional[List[str]] = None,
                     add_vibs: Union[Tuple[()], List[str]] = (), remove_vibs: Union[Tuple[()], List[str]] = (),
                     acceptance_level: Optional[str] = None,
                     verify_signatures: bool = False, trust_store: Optional[TrustStore] = None, verify_checksums: bool = False,
                     check_file_paths: bool = False,
                     base_profile: Optional[str] = None, signature_expiry: str = "signing_time",
                     extensibility_schema: Optional[SchemaFile] = None,
                     product_line: str = R.DEFAULT_PRODUCT_LINE, open_vib: Optional[Callable] = None,
                     read_host_record: Optional[Callable] = None) -> Dict[str, Any]:
    """Validate an image profile of ``depot`` (``profile``: its name) or a VIB set (``vibs``: ids, names or
    ``name:version``), after ``remove_vibs`` and ``add_vibs``. Returns::

        {"valid": bool, "findings": [{type, severity, vib, detail, related}], "counts": {error, warning, info},
         "profile": {name, acceptance_level, vib_ids, esx_version},
         "checks": {signatures: {...}, checksums: {...}, file_paths: {...}},
         "diff": {added, removed, upgraded, downgraded, unchanged}   # with base_profile only
        }

    ``acceptance_level``: the minimum (any spelling); default the profile's own level (none for ``vibs``).
    ``trust_store``: a ``TrustStore`` (``_depot.validation.read_trust_store`` reads PEM files), required with
    ``verify_signatures``. ``extensibility_schema``: a ``SchemaFile`` (its bytes). ``open_vib(ref)`` opens a
    ``.vib`` of the depot and ``read_host_record(xml_path)`` returns the ``(.sig, .orig)`` bytes of an installed-VIB
    record: this module does no I/O, ``_depot.validation.validate_profile`` passes the real ones.
    ``signature_expiry``: ``signing_time`` (default), ``now`` or ``ignore`` (see ``_signature``).
    Raises ``InputError`` for bad input (unknown profile/VIB, unreadable trust store) and ``DepotError`` for an
    unreadable ``.vib``.
    """
    if (profile is None) == (vibs is None):
        raise InputError("give exactly one of profile (an image profile name) or vibs (VIB ids or names)")
    if signature_expiry not in S.EXPIRY_MODES:
        raise InputError("signature_expiry must be one of %s" % ", ".join(S.EXPIRY_MODES))
    minimum = None
    if acceptance_level:
        try:
            minimum = normalize_acceptance(acceptance_level)
        except ValueError as e:
            raise InputError("acceptance_level: %s" % e)
    trust = None
    if verify_signatures:
        if not trust_store:
            raise InputError("verify_signatures needs trust_store: the PEM files of the certificates to trust "
                             "(VMware's are /usr/share/certs/vmware.cert and vmpartner.cert on an ESXi host)")
        trust = trust_store
    open_vib = open_vib or _no_opener
    read_host_record = read_host_record or _no_record_reader
    catalog = R.VibIndex(list(depot.vibs.values()))
    findings = []

    prof = None
    if profile is not None:
        prof = _profile(depot, profile, "profile")
        base = []
        for vid in prof.vib_ids:
            v = depot.vibs.get(vid)
            if v is None:
                findings.append(Finding(MISSING_VIB, "error", vid, "image profile %s lists %s, which no depot "
                                        "source holds" % (prof.name, vid)))
            else:
                base.append(v)
        if minimum is None:
            minimum = normalize_acceptance(prof.acceptance_level) if prof.acceptance_level else None
    else:
        base = resolve_refs(depot, catalog, vibs, "vibs")

    removed = _remove(base, remove_vibs)
    added = resolve_refs(depot, catalog, add_vibs, "add_vibs")
    comp = R.compose(base, added, removed)
    final = comp.vibs
    findings.extend(comp.findings)

    index = R.VibIndex(final)
    esx_version = index.esx_version()
    findings.extend(R.validate_set(index, minimum, product_line, esx_version, catalog))

    counters = _Counters()
    if verify_signatures or verify_checksums or check_file_paths:
        if verify_signatures:
            S.require_libraries()
        findings.extend(_content_checks(depot, index.vibs, verify_signatures, trust, signature_expiry,
                                        verify_checksums, check_file_paths, extensibility_schema, open_vib,
                                        read_host_record, counters))

    findings = R.sort_findings(findings)
    counts = {"error": 0, "warning": 0, "info": 0}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    result = {
        "valid": counts["error"] == 0,
        "findings": [f.to_dict() for f in findings],
        "counts": counts,
        "profile": {
            "name": prof.name if prof is not None else None,
            "acceptance_level": minimum or R.lowest_acceptance(final),
            "vib_ids": sorted(index.by_id),
            "esx_version": esx_version,
        },
        "checks": {
            "signatures": counters.sig if verify_signatures else None,
            "checksums": counters.ck if verify_checksums else None,
            "file_paths": counters.fp if check_file_paths else None,
        },
    }
    if base_profile:
        bprof = _profile(depot, base_profile, "base_profile")
        bvibs = [depot.vibs[i] for i in bprof.vib_ids if i in depot.vibs]
        d = R.diff(bvibs, final)
        d["base_profile"] = bprof.name
        d["unresolved"] = sorted(i for i in bprof.vib_ids if i not in depot.vibs)
        result["diff"] = d
    return result


def should_fail(result: Dict[str, Any], fail_on: str) -> bool:
    """True if ``result`` has a finding at or above ``fail_on`` (``error``, ``warning``; ``never`` = False)."""
    if fail_on not in FAIL_ON:
        raise InputError("fail_on must be one of %s" % ", ".join(FAIL_ON))
    if fail_on == "never":
        return False
    c = result["counts"]
    return c.get("error", 0) > 0 or (fail_on == "warning" and c.get("warning", 0) > 0)


def check_fail_on(result: Dict[str, Any], fail_on: str) -> Dict[str, Any]:
    """Raise ``ProfileInvalidError`` (carrying ``result`` as the partial result) if ``should_fail``."""
    if should_fail(result, fail_on):
        c = result["counts"]
        name = result["profile"]["name"] or "the VIB set"
        first = next((f for f in result["findings"] if f["severity"] in ("error", "warning")), None)
        raise ProfileInvalidError(
            "%s fails validation: %d error(s), %d warning(s)%s" % (
                name, c.get("error", 0), c.get("warning", 0),
                ("; first: %s: %s" % (first["type"], first["detail"])) if first else ""),
            partial=result)
    return result
