# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: read what ESXi's own update engine (``esxupdate --HA``, esx5update) answers. Breaking changes at any time.

HostPatchManager runs ``esxupdate`` and hands its XML document back as ``Result.xmlResult``. The rules below
come from ``docs/reference/esxi-software-stack-facts.md`` ("xmlResult" and "Flows"), read from VMware's
esx5update of ESXi 6.5/6.7:

- The document is ``<esxupdate-response><version>1.50</version> ... </esxupdate-response>``.
- ``update``/``stage`` write only the exit state: NOTHING for a plain success (NormalExit, 0), else one
  ``<error errorClass="Class"><errorCode>N</errorCode><errorDesc>...</errorDesc>`` + one element per attribute
  (``<msg>``, ``<url>``, ``<id>``...) or ``<problemset><problem>...`` (DependencyError). The successful classes
  NeedsRebootResult (80), HostdRestartResult (81), HostNotChanged (82) and LiveInstallOnlyResult (83) are written
  the same way: an ``<error>`` element is not always a failure.
- ``scan`` (ScanHostPatchV2) writes ``<vib-scan-data>`` records (``pkgstate``, ``systemReqs/maintenanceMode``,
  ``postInstall/rebootRequired``, Python booleans ``True``/``False``), ``<host-scan-data>`` (``imagePending``,
  ``vibStaged`` as booleans) and, with metadata, ``<metadata-scan-data>``. ``check`` first writes
  ``<cache>...</cache>``.

How hostd turns this into ``Result.status[]`` and faults is C++ and UNKNOWN. So this reader accepts both the raw
esxupdate form above and the OLDER form our simulator wrote before (``<message>``, a top-level
``<installOperation>`` with added/removed/skipped VIB lists, ``<state>`` in scan records, ``<vibStaged>`` holding
``<vibID>`` ids, lower-case ``true``/``false``), and the fault texts hostd is seen to give
(``/usr/sbin/esxupdate returned with exit status: 7``, ESXi 8.0U3, w2c/letsencrypt-esxi#46) or our simulator gave
(``DependencyError: ...``). Elements may come in any order; optional elements may be missing; unknown elements are
ignored. Nothing here raises on a bad document: ``parse_error`` says what was wrong and ``changed`` is None.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import FleetpatchError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.safexml import parse_xml

#: exit states that are successes although written as ``<error>`` (facts: "xmlResult", "Results")
SUCCESS_CLASSES: Dict[int, str] = {0: "NormalExit", 80: "NeedsRebootResult", 81: "HostdRestartResult",
                                   82: "HostNotChanged", 83: "LiveInstallOnlyResult"}

#: esx5update errno per error class (facts: "xmlResult", errno list; 6.7 values)
ERRNO: Dict[str, int] = {
    "NotRootError": 1, "LockingError": 3, "MetadataDownloadError": 4, "MetadataFormatError": 5,
    "VibDownloadError": 7, "VibFormatError": 8, "VibValidationError": 8, "VibIOError": 9, "FileIOError": 10,
    "DatabaseFormatError": 11, "DatabaseIOError": 12, "NoMatchError": 13, "DependencyError": 14,
    "InstallationError": 15, "ConfigError": 16, "MaintenanceModeError": 18, "UnsatisfiedDependencies": 25,
    "LiveInstallationError": 29, "StatelessError": 30, "HardwareError": 31, "AcceptanceConfigError": 33,
    "InvalidArgument": 99,
    "NeedsRebootResult": 80, "HostdRestartResult": 81, "HostNotChanged": 82, "LiveInstallOnlyResult": 83,
}
#: the class of an errno (first class listed for it)
CLASS_OF_ERRNO: Dict[int, str] = {}
for _cls, _no in ERRNO.items():
    CLASS_OF_ERRNO.setdefault(_no, _cls)

#: errors raised while validating or downloading, before the transaction touches the host: the host is unchanged.
#: Installation (15), LiveInstallation (29) and unknown errors (99) may come after a partial change: unknown.
UNCHANGED_ON_ERROR = frozenset((1, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 16, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28,
                                30, 31, 33))

#: texts of the exit states (facts: "Results"); NormalExit's own text is not in the facts (ASSUMED wording)
NOT_CHANGED_DESC = "Host was not updated, no changes required."
REBOOT_PENDING_MSG = "Host is not changed. Reboot is pending from previous transaction."
NORMAL_EXIT_MSG = "Operation finished successfully."

_MESSAGE_TAGS = ("msg", "problem", "errorDesc")
_SCAN_TAGS = ("vib-scan-data", "host-scan-data", "metadata-scan-data", "cache")
_EXIT_STATUS = re.compile(r"esxupdate returned with exit status:?\s*(\d+)")
_CLASS_PREFIX = re.compile(r"^\s*\[?([A-Z][A-Za-z]*(?:Error|Result|Exit|Changed))\]?\s*[:\n]\s*(.*)$", re.S)
_RESPONSE = re.compile(r"<esxupdate-response\b.*?</esxupdate-response>", re.S)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(el: Any) -> str:
    return (el.text or "").strip() if el is not None else ""


def _child(el: Any, name: str) -> Any:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _children(el: Any, name: str) -> List[Any]:
    return [c for c in el if _local(c.tag) == name]


def _child_text(el: Any, name: str) -> Optional[str]:
    c = _child(el, name)
    return _text(c) if c is not None else None


def to_bool(value: Optional[str]) -> Optional[bool]:
    """``True``/``true``/``1`` -> True, ``False``/``false``/``0`` -> False, anything else (or None) -> None."""
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("true", "1", "yes"):
        return True
    if v in ("false", "0", "no"):
        return False
    return None


def _ids(el: Any) -> List[str]:
    """Texts of the leaf children of ``el`` (``<vibID>``/``<vibId>`` lists), in order."""
    if el is None:
        return []
    return [_text(c) for c in el if isinstance(c.tag, str) and not len(c) and _text(c)]


def _bool_child(el: Any, name: str) -> Optional[bool]:
    return to_bool(_child_text(el, name))


# ---- errors -----------------------------------------------------------------------------------------------------
def _error(el: Any) -> Dict[str, Any]:
    cls = el.get("errorClass") or _child_text(el, "errorClass") or "UnknownError"
    code_text = _child_text(el, "errorCode")
    code: Optional[int] = None
    if code_text is not None:
        try:
            code = int(code_text)
        except ValueError:
            code = None
    if code is None:
        code = ERRNO.get(cls, 99)
    messages = [_text(c) for c in el.iter() if c is not el and _local(c.tag) in _MESSAGE_TAGS and _text(c)]
    fields: Dict[str, Any] = {}
    for c in el:
        name = _local(c.tag)
        if name in ("errorCode", "errorDesc", "errorClass", "msg", "problemset"):
            continue
        fields[name] = _ids(c) if len(c) else _text(c)
    return {"class": cls, "code": code, "description": _child_text(el, "errorDesc"),
            "msgs": [_text(c) for c in _children(el, "msg") if _text(c)],
            "problems": [_text(c) for c in el.iter() if _local(c.tag) == "problem" and _text(c)],
            "messages": messages, "fields": fields}


def error_for_code(code: int, cls: Optional[str] = None, messages: Iterable[str] = ()) -> Dict[str, Any]:
    """The ``error`` dict for an exit code known only from elsewhere (a fault text)."""
    return {"class": cls or CLASS_OF_ERRNO.get(code, "UnknownError"), "code": code,
            "messages": [m for m in messages if m]}


def fault_error(text: Optional[str]) -> Optional[Dict[str, Any]]:
    """The esxupdate error behind a PlatformConfigFault text, or None when the text names none.

    Understands a whole xmlResult document inside the text (the API reference says the details come "within the
    payload of the exception as xml string"), hostd's ``/usr/sbin/esxupdate returned with exit status: N`` (seen on
    ESXi 8.0U3) and our simulator's older ``Class: message`` form. Returns {class, code, messages}."""
    if not text:
        return None
    doc = _RESPONSE.search(text)
    code: Optional[int] = None
    m = _EXIT_STATUS.search(text)
    if m:
        code = int(m.group(1))
    if doc:
        res = esxupdate_result(doc.group(0))
        if res["error"] and res["parse_error"] is None:
            return res["error"]
    if code is not None:
        return error_for_code(code) if code not in SUCCESS_CLASSES else None
    m = _CLASS_PREFIX.match(text)
    if m:
        cls = m.group(1)
        lines = [ln.strip() for ln in m.group(2).splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("Please refer to the log file")]
        return error_for_code(ERRNO.get(cls, 99), cls, lines)
    return None


# ---- scan records -----------------------------------------------------------------------------------------------
_LEGACY_STATES = {"notInstalled": "uninstalled"}


def _requires(el: Any) -> Dict[str, Any]:
    hp = _child(el, "hostProvides")
    return {
        "requirement": _child_text(el, "requirement") or _text(el),
        "provided_by": _ids(_child(el, "providedBy")),
        "provided_by_host": _bool_child(el, "providedByHost"),
        "host_provides": [{"name": p.get("name"), "version": p.get("version")}
                          for p in (hp if hp is not None else ()) if _local(p.tag) == "package"],
        "installer_depends": _child_text(el, "installer-depends"),
    }


def _id_list(el: Any) -> List[str]:
    return [_text(c) for c in el if _local(c.tag) in ("vibID", "vibId") and _text(c)] if el is not None else []


def _conflicts(el: Any) -> Optional[Dict[str, Any]]:
    if el is None:
        return None
    return {"vibs": _id_list(el), "with_host": _bool_child(el, "conflictsWithHost"),
            "host": _ids(_child(el, "hostConflicts"))}


def _obsoletes(el: Any) -> Optional[Dict[str, Any]]:
    if el is None:
        return None
    return {"vibs": _id_list(el), "obsoletes_host": _bool_child(el, "obsoletesHost"),
            "host_obsoleted": _ids(_child(el, "hostObsoleted")),
            "obsoleted_by_host": _bool_child(el, "obsoletedByHost")}


def _vib(el: Any) -> Dict[str, Any]:
    reqs = _child(el, "systemReqs")
    post = _child(el, "postInstall")
    post_un = _child(el, "postUninstall")
    state = _child_text(el, "pkgstate")
    if state is None:  # simulator's older form
        state = _child_text(el, "state")
        state = _LEGACY_STATES.get(state or "", state)
    mm = _bool_child(reqs, "maintenanceMode") if reqs is not None else None
    if mm is None:
        mm = _bool_child(el, "maintenanceMode")  # simulator's older form
    sw = _child(reqs, "swPlatform") if reqs is not None else None
    return {
        "id": _child_text(el, "id"), "name": _child_text(el, "name"), "version": _child_text(el, "version"),
        "vendor": _child_text(el, "vendor"), "state": state, "install_date": _child_text(el, "installdate"),
        "meets_system_requirements": _bool_child(el, "meetsSystemReq"),
        "system_requirement_failure": _child_text(el, "systemReqFailure"),
        "dependencies_met_by_host": _bool_child(el, "pkgDepsMetByHost"),
        "maintenance_mode": mm,
        "maintenance_mode_uninstall": _bool_child(reqs, "maintenanceModeUninstall") if reqs is not None else None,
        "software_platform": ({"product_line": sw.get("productLineID"), "version": sw.get("version")}
                              if sw is not None else None),
        "reboot_required": _bool_child(post, "rebootRequired") if post is not None else None,
        "hostd_restart": _bool_child(post, "hostdRestart") if post is not None else None,
        "reboot_required_uninstall": _bool_child(post_un, "rebootRequired") if post_un is not None else None,
        "requires": [_requires(r) for r in _children(el, "requires")],
        "conflicts": _conflicts(_child(el, "conflicts")),
        "obsoletes": _obsoletes(_child(el, "obsoletes")),
        # simulator's older form only
        "bulletin_id": _child_text(el, "bulletinId"), "acceptance_level": _child_text(el, "acceptanceLevel"),
        "reasons": [_text(c) for c in _children(el, "reason") if _text(c)],
        "notes": [_text(c) for c in _children(el, "note") if _text(c)],
    }


def _operation(el: Any) -> Optional[Dict[str, Any]]:
    if el is None:
        return None
    return {"allowed": _bool_child(el, "allowed"), "added": _ids(_child(el, "addedVibs")),
            "removed": _ids(_child(el, "removedVibs")), "skipped": _ids(_child(el, "skippedVibs")),
            "errno": _child_text(el, "errno"), "errmsg": _child_text(el, "errmsg"),
            "related": _ids(_child(el, "relatedVibs")),
            "maintenance_mode": _bool_child(el, "maintenanceMode"),
            "reboot_required": _bool_child(el, "rebootRequired")}


def _metadata_scan(el: Any) -> Dict[str, Any]:
    return {
        "metadata": [{"url": _child_text(m, "url"), "vibs": _id_list(m)} for m in _children(el, "metadata")],
        "install_operation": _operation(_child(el, "installOperation")),
        "uninstall_operation": _operation(_child(el, "uninstallOperation")),
        "maintenance_mode": _bool_child(el, "maintenanceMode"),
        "reboot_required": _bool_child(el, "rebootRequired"),
    }


# ---- the whole document -----------------------------------------------------------------------------------------
def _empty(parse_error: Optional[str] = None) -> Dict[str, Any]:
    return {"changed": None, "reboot_required": None, "live": None, "outcome": None, "code": None, "error": None,
            "errors": [], "messages": [], "vibs": [], "image_pending": None, "vib_staged": None, "staged_vibs": [],
            "metadata": [], "install_operation": None, "uninstall_operation": None, "cache": False,
            "scan": False, "form": None, "version": None, "parse_error": parse_error}


def _exit_state(out: Dict[str, Any], errors: List[Dict[str, Any]]) -> None:
    """outcome, code, error, changed, reboot_required, live from the exit state (facts: "Results")."""
    failures = [e for e in errors if e["code"] not in SUCCESS_CLASSES]
    successes = [e for e in errors if e["code"] in SUCCESS_CLASSES]
    if failures:
        e = failures[0]
        out.update(outcome=e["class"], code=e["code"], live=False, reboot_required=False,
                   error={"class": e["class"], "code": e["code"], "messages": list(e["messages"])},
                   changed=False if e["code"] in UNCHANGED_ON_ERROR else None)
        return
    if successes:
        e = successes[0]
        code = e["code"]
        out.update(outcome=e["class"], code=code, error=None)
        texts = e["msgs"] + ([e["description"]] if e["description"] else [])
        if code == 80:
            pending_only = any(REBOOT_PENDING_MSG.split(".", maxsplit=1)[0] in t for t in texts)
            out.update(changed=not pending_only, reboot_required=True, live=False)
        elif code == 81:
            out.update(changed=True, reboot_required=False, live=True)
        elif code == 82:
            out.update(changed=False, reboot_required=False, live=False)
        elif code == 83:
            out.update(changed=True, reboot_required=False, live=True)
        else:  # an explicit NormalExit element (not written by esx5update, tolerated)
            out.update(changed=True, reboot_required=False, live=True)
        return
    out.update(outcome="NormalExit", code=0, error=None)
    if out["scan"]:
        out.update(changed=False, reboot_required=False, live=False)
    else:
        # plain success writes nothing: live and boot images were changed (facts: "Results")
        out.update(changed=True, reboot_required=False, live=True)


def _legacy_install(out: Dict[str, Any], op: Optional[Dict[str, Any]]) -> None:
    """Our simulator's older install form: a top-level <installOperation> and <message> (no exit state)."""
    if any("not updated" in m or "not changed" in m for m in out["messages"]):
        out.update(changed=False, reboot_required=False, live=False, outcome="HostNotChanged", code=82)
        return
    if op is None:
        return
    changed = bool(op["added"] or op["removed"])
    reboot = bool(op["reboot_required"]) and changed
    out.update(changed=changed, reboot_required=reboot, live=changed and not reboot,
               outcome=("NeedsRebootResult" if reboot else "NormalExit") if changed else "HostNotChanged",
               code=(80 if reboot else 0) if changed else 82)


def esxupdate_result(xml_text: Optional[str]) -> Dict[str, Any]:
    """Read one ``xmlResult`` (any operation). Returns a dict:

    ``changed`` (bool, None when unknown), ``reboot_required``, ``live`` (applied to the running system without a
    reboot), ``outcome`` (exit class or ``"NormalExit"``), ``code`` (int), ``error`` (None on the success classes
    0/80/81/82/83, else ``{class, code, messages}``: every msg/problem/errorDesc text in order), ``errors`` (every
    ``<error>`` element: class, code, description, msgs, problems, messages, fields), ``vibs`` (scan records),
    ``image_pending``/``vib_staged`` (bool or None), ``staged_vibs`` (ids), ``metadata``,
    ``install_operation``/``uninstall_operation``, ``cache`` (the ``check`` form), ``scan``, ``messages``
    (older form), ``form`` (``esxupdate``, ``legacy`` or ``empty``), ``version`` and ``parse_error``."""
    if xml_text is None or not str(xml_text).strip():
        out = _empty()
        out["form"] = "empty"
        return out
    try:
        root = parse_xml(str(xml_text).encode("utf-8"), "xmlResult")
    except FleetpatchError as exc:
        out = _empty(exc.msg)
        out["error"] = {"class": "UnreadableResult", "code": 99, "messages": [exc.msg]}
        return out
    out = _empty()
    out["version"] = _child_text(root, "version")
    errors = [_error(el) for el in root.iter() if _local(el.tag) == "error"]
    out["errors"] = errors
    out["scan"] = any(_local(el.tag) in _SCAN_TAGS for el in root.iter())
    out["cache"] = _child(root, "cache") is not None
    out["vibs"] = [_vib(el) for el in root.iter() if _local(el.tag) == "vib-scan-data"]
    host = None
    for el in root.iter():
        if _local(el.tag) == "host-scan-data":
            host = el
    staged: List[str] = [v["id"] for v in out["vibs"] if v["state"] == "staged" and v["id"]]
    if host is not None:
        out["image_pending"] = _bool_child(host, "imagePending")
        vs = _child(host, "vibStaged")
        if vs is not None:
            ids = _ids(vs)
            # raw esxupdate: a boolean; our simulator's older form: the staged ids
            out["vib_staged"] = to_bool(_text(vs)) if not ids else True
            if _text(vs) == "" and not ids:
                out["vib_staged"] = False
            staged.extend(i for i in ids if i not in staged)
    out["staged_vibs"] = staged
    meta = _child(root, "metadata-scan-data")
    if meta is not None:
        ms = _metadata_scan(meta)
        out.update(metadata=ms["metadata"], install_operation=ms["install_operation"],
                   uninstall_operation=ms["uninstall_operation"])
    legacy_op = _operation(_child(root, "installOperation"))
    out["messages"] = [_text(c) for c in root if _local(c.tag) in ("message", "msg") and _text(c)]
    legacy = legacy_op is not None or bool(out["messages"]) or any(v["bulletin_id"] or v["reasons"]
                                                                   for v in out["vibs"])
    out["form"] = "legacy" if legacy else "esxupdate"
    _exit_state(out, errors)
    if legacy and not errors:
        if legacy_op is not None:
            out["install_operation"] = legacy_op
        _legacy_install(out, legacy_op)
    return out


def install_summary(client_result: Dict[str, Any]) -> Dict[str, Any]:
    """Summary of an install or stage answer, from the dict the client's ``patch_install``/``patch_stage`` returns
    (its ``esxupdate`` entry, else its ``xml_result``). Also accepts an esxcli ``InstallationResult`` dict
    (``vibs_installed``, ``reboot_required``, ``message``).

    Keys: ``changed``, ``reboot_required``, ``live``, ``outcome``, ``code``, ``error``, ``installed``, ``removed``,
    ``skipped`` (VIB ids; a real esxupdate answer lists none, so they stay empty), ``message``."""
    res = client_result or {}
    if "vibs_installed" in res or "vibs_removed" in res:  # esxcli InstallationResult
        installed = list(res.get("vibs_installed") or ())
        removed = list(res.get("vibs_removed") or ())
        reboot = bool(res.get("reboot_required"))
        changed = bool(res.get("changed")) if "changed" in res else bool(installed or removed)
        return {"changed": changed, "reboot_required": reboot, "live": changed and not reboot,
                "outcome": ("NeedsRebootResult" if reboot else "NormalExit") if changed else "HostNotChanged",
                "code": (80 if reboot else 0) if changed else 82, "error": None,
                "installed": installed, "removed": removed, "skipped": list(res.get("vibs_skipped") or ()),
                "message": res.get("message")}
    r = res.get("esxupdate")
    if not isinstance(r, dict):
        r = esxupdate_result(res.get("xml_result"))
    op = r.get("install_operation") if r.get("form") == "legacy" else None
    message: Optional[str]
    if r.get("error"):
        message = "; ".join(r["error"]["messages"]) or r["error"]["class"]
    elif r.get("form") == "legacy":
        message = "; ".join(r.get("messages") or ()) or None
    else:
        texts: List[str] = []
        for e in r.get("errors") or ():
            texts.extend(e["msgs"] or ([e["description"]] if e["description"] else []))
        message = "; ".join(texts) or (NORMAL_EXIT_MSG if r.get("outcome") == "NormalExit" else None)
    return {"changed": r.get("changed"), "reboot_required": bool(r.get("reboot_required")),
            "live": bool(r.get("live")), "outcome": r.get("outcome"), "code": r.get("code"),
            "error": r.get("error"),
            "installed": list(op["added"]) if op else [], "removed": list(op["removed"]) if op else [],
            "skipped": list(op["skipped"]) if op else [], "message": message}
