# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: pure adapters between pyVmomi/SOAP data and the collection's models (no network calls). Breaking changes at any time."""

from __future__ import annotations

import datetime
import os
import re
import ssl
import xml.etree.ElementTree as ET
from typing import Any, Dict, List, Set, Union, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    InputError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.safexml import parse_untrusted
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vibversion import normalize_relation
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import (
    ACCEPTANCE_API_NAMES, Payload, Provide, Relation, Vib, normalize_acceptance)


DEFAULT_TIMEOUT = 60          # seconds: TCP connect, TLS, login and each ordinary SOAP request
DEFAULT_LONG_TIMEOUT = 1800   # seconds: synchronous long calls (esxcli software vib install ...)
VSAN_MODES = ("noAction", "ensureObjectAccessibility", "evacuateAllData")
_API_ACCEPTANCE = {v: k for k, v in ACCEPTANCE_API_NAMES.items()}
API_VIB_TYPES = {"tools": "locker"}     # SoftwarePackage.type enum (bootbank|tools|meta) -> VIB type
EVENTS_MAX = 1000             # host_events: most events returned (EventFilterSpec.maxCount limit)
EVENTS_MAX_DEFAULT = 100
EVENTS_PAGE = 100             # ReadNextEvents page size


def iso(value: Optional[datetime.datetime]) -> Optional[str]:
    """datetime -> ISO 8601 string (UTC offset kept); anything else unchanged; None stays None."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def map_relation(constraint: Optional[str]) -> Optional[str]:
    """API enum (``equals``/``lessThan``/...) -> VIB relation (``=``/``<<``/...): the one spelling table,
    ``_depot.vibversion.normalize_relation``; ValueError for an unknown one."""
    return normalize_relation(constraint)


def normalize_api_acceptance(level: Optional[str]) -> Optional[str]:
    """``vmware_certified`` -> ``certified`` (also esxcli spellings); unknown values are returned unchanged."""
    if level is None:
        return None
    try:
        return normalize_acceptance(level)
    except ValueError:
        return str(level)


def api_acceptance_name(level: str) -> str:
    """Our name or any alias -> the ImageConfigManager spelling (``vmware_certified`` ...). InputError if unknown."""
    try:
        return ACCEPTANCE_API_NAMES[normalize_acceptance(level)]
    except ValueError as exc:
        raise InputError(str(exc))


def _relations(items: Optional[Union[List[Dict[str, str]], List[Dict[str, Any]]]]) -> Any:
    out = []
    for r in items or ():
        name = r.get("name") if isinstance(r, dict) else r
        if not name:
            continue
        rel = map_relation(r.get("constraint")) if isinstance(r, dict) else None
        ver = (r.get("version") or None) if isinstance(r, dict) else None
        out.append(Relation(name, rel if ver else None, ver))
    return tuple(out)


def _provide(text: str) -> Provide:
    text = (text or "").strip()
    m = re.match(r"^(\S+)\s*=\s*(\S+)$", text)
    return Provide(m.group(1), m.group(2)) if m else Provide(text)


def package_record_to_vib(rec: Dict[str, Any]) -> Vib:
    """A ``SoftwarePackage`` as a plain dict (API field names, see ``package_record``) -> ``_models.Vib``.

    ``id`` is ``vendor_type_name_version`` (API type ``tools`` is the VIB type ``locker``); the acceptance level
    is normalized; relation constraints map
    from the API enum to ``=``/``<<``/``<=``/``>=``/``>>``; ``release_date`` is the package creation date."""
    cap = rec.get("capability") or {}
    # the API's VibType enum says "tools" where the VIB itself (and its id) says "locker"
    vib_type = API_VIB_TYPES.get(rec.get("type") or "", rec.get("type")) or "bootbank"
    name, version, vendor = rec.get("name") or "", rec.get("version") or "", rec.get("vendor") or ""
    return Vib(
        id=Vib.make_id(vendor, vib_type, name, version), name=name, version=version, vendor=vendor, type=vib_type,
        acceptance_level=normalize_api_acceptance(rec.get("acceptanceLevel")) or "community",
        summary=rec.get("summary") or "", description=rec.get("description") or "",
        release_date=iso(rec.get("creationDate")),
        depends=_relations(rec.get("depends")), conflicts=_relations(rec.get("conflicts")),
        replaces=_relations(rec.get("replaces")),
        provides=tuple(_provide(p) for p in rec.get("provides") or () if p),
        maintenance_mode_required=bool(rec.get("maintenanceModeRequired"))
        if rec.get("maintenanceModeRequired") is not None else True,
        live_install_allowed=bool(cap.get("liveInstallAllowed")),
        live_remove_allowed=bool(cap.get("liveRemoveAllowed")),
        stateless_ready=bool(cap.get("statelessReady")), overlay=bool(cap.get("overlay")),
        hw_platforms=tuple({"vendor": x} for x in rec.get("hardwarePlatformsRequired") or () if x),
        payloads=tuple(Payload(name=p, type="") for p in rec.get("payload") or () if p),
        tags=tuple(rec.get("tag") or ()),
    )


def package_record_dict(rec: Dict[str, Any]) -> Dict[str, Any]:
    """``Vib.to_dict()`` of the package plus ``creation_date`` and ``reference_urls``."""
    d = package_record_to_vib(rec).to_dict()
    d["creation_date"] = iso(rec.get("creationDate"))
    d["reference_urls"] = list(rec.get("referenceURL") or ())
    d["hw_platforms"] = list(rec.get("hardwarePlatformsRequired") or ())
    return d


def patch_status_dict(st: Dict[str, Any]) -> Dict[str, Any]:
    """A ``HostPatchManager.Status`` (object or dict with API names) -> our snake_case dict."""
    g = (lambda k, d=None: st.get(k, d)) if isinstance(st, dict) else (lambda k, d=None: getattr(st, k, d))
    prereq = []
    for p in g("prerequisitePatch") or ():
        pg = (lambda k, d=None: p.get(k, d)) if isinstance(p, dict) else (lambda k, d=None: getattr(p, k, d))
        prereq.append({"id": pg("id"), "install_state": list(pg("installState") or ())})
    return {
        "id": g("id"), "applicable": bool(g("applicable")), "installed": bool(g("installed")),
        "reason": list(g("reason") or ()), "integrity": g("integrity"),
        "install_state": list(g("installState") or ()),
        "restart_required": bool(g("restartRequired")), "reconnect_required": bool(g("reconnectRequired")),
        "vm_off_required": bool(g("vmOffRequired")),
        "superseded_patch_ids": list(g("supersededPatchIds") or ()), "prerequisite_patch": prereq,
    }


def _xlocal(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _xml_children_dict(el: Any) -> Dict[str, Any]:
    out: Dict[Any, Any] = {}
    for c in el:
        key = _xlocal(c.tag)
        val = _xml_children_dict(c) if len(c) else (c.text or "").strip()
        if key in out:
            if not isinstance(out[key], list):
                out[key] = [out[key]]
            out[key].append(val)
        else:
            out[key] = val
    return out


def _first_text(el: Any, names: Any) -> Optional[str]:
    for name in names:
        if el.get(name):
            return el.get(name)
    for c in el.iter():
        if c is not el and _xlocal(c.tag) in names and c.text and c.text.strip():
            return c.text.strip()
    return None


def _ids_under(el: Any) -> List[str]:
    return [(c.text or "").strip() for c in el.iter() if c is not el and not len(c) and (c.text or "").strip()]


def parse_xml_result(text: Optional[str]) -> Dict[str, Any]:
    """Summarize a PatchManager ``xmlResult`` without trusting a schema (the real one is UNVERIFIED).

    Returns ``{root, errors: [{error_class, message, url, fields}], messages: [...], vibs: [{...}],
    added_vibs, removed_vibs, skipped_vibs, reboot_required: bool|None, parse_error}``:

    - ``error`` elements anywhere (``errorClass`` as attribute or child; message from
      ``msg``/``errorMsg``/``errorDesc``/``message``/``description``);
    - ``message``/``msg`` elements outside errors;
    - ``vib-scan-data`` records (rbvmomi reads ``//vib-scan-data//id``) as dicts of their children;
    - ids under ``addedVibs``/``removedVibs``/``skippedVibs`` (or ``vib-installed``/``vib-removed``...);
    - ``rebootRequired``/``reboot-required`` outside ``vib-scan-data`` (the operation's, not a VIB's).

    Unknown elements are ignored; DTDs, entities and malformed XML give ``parse_error`` and empty lists, never
    an exception."""
    out: Dict[Any, Any] = {"root": None, "errors": [], "messages": [], "vibs": [], "added_vibs": [], "removed_vibs": [],
                           "skipped_vibs": [], "reboot_required": None, "parse_error": None}
    if text is None or not str(text).strip():
        return out
    text = str(text)
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        out["parse_error"] = "refused: the document declares a DTD or entities"
        return out
    if len(text) > 64 * 1024 * 1024:
        out["parse_error"] = "refused: document too large"
        return out
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        out["parse_error"] = "not well-formed XML (%s)" % exc
        return out
    out["root"] = _xlocal(root.tag)
    in_error: Set[Any] = set()
    in_vib: Set[Any] = set()
    lists = {"addedvibs": "added_vibs", "vib-installed": "added_vibs", "vibs-installed": "added_vibs",
             "removedvibs": "removed_vibs", "vib-removed": "removed_vibs", "vibs-removed": "removed_vibs",
             "skippedvibs": "skipped_vibs", "vib-skipped": "skipped_vibs", "vibs-skipped": "skipped_vibs"}
    for el in root.iter():
        low = _xlocal(el.tag).lower()
        if low == "error":
            in_error.update(el.iter())
            out["errors"].append({
                "error_class": el.get("errorClass") or _first_text(el, ("errorClass", "class", "type")),
                "message": _first_text(el, ("msg", "errorMsg", "errorDesc", "message", "description")) or
                (el.text or "").strip() or None,
                "url": _first_text(el, ("url",)),
                "fields": _xml_children_dict(el),
            })
        elif low == "vib-scan-data":
            in_vib.update(el.iter())
            out["vibs"].append(_xml_children_dict(el))
        elif low in lists and el not in in_vib:
            ids = _ids_under(el) if len(el) else [(el.text or "").strip()]
            out[lists[low]].extend(i for i in ids if i and i not in out[lists[low]])
    for el in root.iter():
        if el in in_error or el in in_vib:
            continue
        low = _xlocal(el.tag).lower()
        txt = (el.text or "").strip()
        if low in ("message", "msg") and txt:
            out["messages"].append(txt)
        elif low in ("reboot-required", "rebootrequired", "reboot_required") and \
                txt.lower() in ("true", "1", "false", "0"):
            out["reboot_required"] = bool(out["reboot_required"]) or txt.lower() in ("true", "1")
    return out


def datastore_uuid(url: Optional[str]) -> Optional[str]:
    """``ds:///vmfs/volumes/<uuid>/`` -> ``<uuid>``; None when the URL has another form."""
    m = re.match(r"^ds:///vmfs/volumes/([^/]+)/?", url or "")
    return m.group(1) if m else None


def build_ssl_context(validate_certs: bool = True, ca_path: Optional[str] = None) -> Any:
    """TLS context: verifying (system CAs, or only ``ca_path`` / ``$REQUESTS_CA_BUNDLE`` when set; OpenSSL also
    honours ``$SSL_CERT_FILE``) or, with ``validate_certs=False``, not verifying at all."""
    if not validate_certs:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ca = ca_path or os.environ.get("REQUESTS_CA_BUNDLE") or None
    try:
        if ca and os.path.isdir(ca):
            return ssl.create_default_context(capath=ca)
        return ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise InputError("cannot load the CA bundle %s: %s" % (ca, exc))


def _parse_service_versions(data: bytes) -> Set[str]:
    """vimServiceVersions.xml -> set of supported version ids (``8.0.3.0``, prior versions too)."""
    try:
        root = parse_untrusted(data, "vimServiceVersions.xml", VSphereError, 1024 * 1024)
    except VSphereError:
        return set()
    ids = set()
    for ns in root.iter("namespace"):
        if (ns.findtext("name") or "urn:vim25") != "urn:vim25":
            continue
        if ns.findtext("version"):
            ids.add(ns.findtext("version").strip())
        for v in ns.iter("version"):
            if v.text:
                ids.add(v.text.strip())
    return ids


def _as_utc(value: Optional[Union[datetime.datetime, str]]) -> Optional[datetime.datetime]:
    """datetime (naive = UTC) or ISO 8601 string -> aware UTC datetime; None (also for bad input) otherwise."""
    if isinstance(value, str):
        value = _parse_iso(value)
    if not isinstance(value, datetime.datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def _parse_iso(text: str) -> Optional[datetime.datetime]:
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
