# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: a fast reader of the four ImageConfigManager answers a fleet scan needs (issue 14). Breaking changes at
any time.

pyVmomi builds a typed object for every XML element of an answer and checks every field under one process-wide
lock; for ``FetchSoftwarePackages`` (about 3,400 elements for a 136-VIB host) that was most of a fleet scan's CPU.
``call(stub, mo, method)`` makes the SAME SOAP call over the session's own stub (pyVmomi serialises the request;
its connection pool, cookie and headers are used as ``SoapStubAdapter.InvokeMethod`` uses them) and reads the
answer of ``HostImageConfigGetAcceptance``, ``HostImageConfigGetProfile``, ``InstallDate`` and
``FetchSoftwarePackages`` with lxml (``_common.safexml``) straight into the plain values the client returns.

Anything the reader does not know exactly (a SOAP fault, an element or ``xsi:type`` it does not expect, an enum
value pyVmomi lacks, a date it cannot read) is handed to pyVmomi's own deserialiser, on the same bytes: a fault is
raised exactly as pyVmomi raises it, and an unusual answer is converted from pyVmomi's objects. The unit tests
compare both readings on the simulator's answers for every image, so they cannot drift apart.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import socket
import zlib
from http.client import HTTPException
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import FleetpatchError, VSphereError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.safexml import parse_untrusted

try:
    from pyVmomi import SoapAdapter as _soap, Iso8601 as _iso8601, vim as _vim
except ImportError:  # pragma: no cover - the client reports the missing pyVmomi on connect
    _soap = _iso8601 = _vim = None  # type: ignore[assignment]

_SOAPENV = "{http://schemas.xmlsoap.org/soap/envelope/}"
_VIM = "{urn:vim25}"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

# SoftwarePackage fields (WSDL names) by kind
_STR = ("name", "version", "vendor", "acceptanceLevel", "summary", "description")
_STR_LIST = ("referenceURL", "provides", "hardwarePlatformsRequired", "tag", "payload")
_REL_LIST = ("depends", "conflicts", "replaces")
_CAPABILITY = ("liveInstallAllowed", "liveRemoveAllowed", "statelessReady", "overlay")


class Unreadable(Exception):
    """The fast reader does not read this answer exactly; pyVmomi reads it instead."""


# ---- the call --------------------------------------------------------------------------------------------
def _user_agent() -> str:
    try:
        return "pyvmomi %s fleetpatch Python/%s (%s; %s; %s)" % (
            _soap.version_info_str, _soap.PYTHON_VERSION, _soap.OS_NAME, _soap.OS_VERSION, _soap.OS_ARCH)
    except AttributeError:  # pragma: no cover - another pyVmomi layout
        return "pyvmomi fleetpatch"


def post(stub: Any, mo: Any, method: str, args: Any = ()) -> Tuple[int, bytes, Any]:
    """POST the SOAP request of ``mo.<method>(*args)`` over ``stub`` (a pyVmomi ``SoapStubAdapter``) as
    ``SoapStubAdapter.InvokeMethod`` does: same serialiser, headers, cookie handling and connection pool.
    Returns ``(HTTP status, body, method info)``; the body of a 200 or 500 answer, HTTPException otherwise."""
    info = mo._GetMethodInfo(method)
    req = stub.SerializeRequest(mo, info, list(args))
    for modifier in getattr(stub, "requestModifierList", ()):
        req = modifier(req)
    headers = {"Cookie": stub.cookie, "SOAPAction": stub.versionId,
               "Content-Type": "text/xml; charset=%s" % _soap.XML_ENCODING, "User-Agent": _user_agent()}
    if getattr(stub, "_customHeaders", None):
        headers.update(stub._customHeaders)
    conn = stub.GetConnection()
    try:
        conn.request("POST", stub.path, req, headers)
        resp = conn.getresponse()
        body = resp.read()
    except (socket.error, HTTPException):
        conn.close()
        stub.DropConnections()      # the server is probably sick: as pyVmomi, drop the cached connections
        raise
    cookie = resp.getheader("Set-Cookie") or resp.getheader("set-cookie")
    if cookie:
        stub.cookie = cookie
        session = _soap.SimpleCookie(cookie).get(_soap.COOKIE_NAME)
        if session:
            _soap.StubAdapterBase.SetSessionId(stub, session.value)
    if resp.status not in (200, 500):
        conn.close()
        raise HTTPException("%s %s" % (resp.status, resp.reason))
    stub.ReturnConnection(conn)
    encoding = (resp.getheader("Content-Encoding") or "identity").lower()
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "deflate":
        body = zlib.decompress(body)
    return resp.status, body, info


def pyvmomi_read(stub: Any, info: Any, body: bytes) -> Any:
    """pyVmomi's own reading of an answer body (the fallback, and the reference of the tests)."""
    return _soap.SoapResponseDeserializer(stub).Deserialize(io.BytesIO(body), info.result)


def call(stub: Any, mo: Any, method: str, read: Callable[[bytes], Any], convert: Callable[[Any], Any],
         args: Any = ()) -> Any:
    """``convert(mo.<method>())`` (``method``: pyVmomi's name, ``QueryHostImageProfile``), read by ``read(body)``
    when it can (see the module docstring). A SOAP fault is raised as pyVmomi raises it. A stub that is not a
    plain ``SoapStubAdapter`` is simply called."""
    if _soap is None or not isinstance(stub, _soap.SoapStubAdapter):
        return convert(getattr(mo, method)(*args))
    status, body, info = post(stub, mo, method, args)
    if status == 200:
        try:
            return read(body)
        except Unreadable:
            pass
    obj = pyvmomi_read(stub, info, body)
    if status == 200:
        return convert(obj)
    if isinstance(obj, BaseException):
        raise obj
    raise HTTPException("500 %s" % type(obj).__name__)  # pragma: no cover - a fault body that is no fault


# ---- readers ----------------------------------------------------------------------------------------------
def _returnvals(body: bytes) -> List[Any]:
    """The ``returnval`` elements of the one ``urn:vim25`` ``...Response`` in the SOAP body (Unreadable for
    anything else). The method is not checked by name: the answer is that of the request it came back to (vCenter
    names it after the WSDL method, ``fetchSoftwarePackagesResponse``; govmomi capitalises it)."""
    try:
        root = parse_untrusted(body, "a SOAP answer", VSphereError)
    except FleetpatchError:
        raise Unreadable("not well-formed")
    if root.tag != _SOAPENV + "Envelope":
        raise Unreadable(root.tag)
    found = [child for part in root if part.tag == _SOAPENV + "Body" for child in part]
    if len(found) != 1 or not found[0].tag.startswith(_VIM) or not found[0].tag.endswith("Response"):
        raise Unreadable("not one ...Response in the SOAP body")
    resp = found[0]
    out = []
    for rv in resp:
        if rv.tag != _VIM + "returnval":
            raise Unreadable(rv.tag)
        out.append(rv)
    return out


def _type_ok(el: Any, wsdl: str) -> None:
    t = el.get(_XSI_TYPE)
    if t is not None and t.rsplit(":", 1)[-1] != wsdl:
        raise Unreadable("xsi:type %s" % t)


def _leaf(el: Any) -> str:
    if len(el):
        raise Unreadable("children in %s" % el.tag)
    return el.text or ""


def _bool(text: str) -> bool:
    if text == "0" or text.lower() == "false":
        return False
    if text == "1" or text.lower() == "true":
        return True
    raise Unreadable("boolean %r" % text)


_DATES: Dict[str, Optional[str]] = {}


def iso_date(text: str) -> str:
    """xsd:dateTime text -> the ISO string the client reports (pyVmomi's parse, ``isoformat()``)."""
    out = _DATES.get(text)
    if out is None:
        dt = _iso8601.ParseISO8601(text)
        if not dt:
            raise Unreadable("dateTime %r" % text)
        out = dt.isoformat()
        if len(_DATES) < 4096:
            _DATES[text] = out
    return out


def _one_leaf(body: bytes, xsd: str) -> Optional[str]:
    rvs = _returnvals(body)
    if len(rvs) > 1:
        raise Unreadable("several returnval")
    if not rvs:
        return None
    _type_ok(rvs[0], xsd)
    return _leaf(rvs[0])


def read_string(body: bytes) -> Optional[str]:
    """An answer of one ``xsd:string`` (``HostImageConfigGetAcceptance``)."""
    return _one_leaf(body, "string")


def read_date(body: bytes) -> Optional[str]:
    """An answer of one ``xsd:dateTime`` (``InstallDate``), as the ISO string the client reports."""
    text = _one_leaf(body, "dateTime")
    return iso_date(text) if text is not None else None


def read_profile(body: bytes) -> Dict[str, Optional[str]]:
    """``HostImageConfigGetProfile`` -> ``{"name", "vendor"}``."""
    rvs = _returnvals(body)
    if len(rvs) > 1:
        raise Unreadable("several returnval")
    if not rvs:
        return {"name": None, "vendor": None}
    _type_ok(rvs[0], "HostImageProfileSummary")
    return _fields(rvs[0], _defaults("HostImageProfileSummary"), "HostImageProfileSummary", _leaf)


# the value pyVmomi gives a field the answer leaves out (a required string is "", an optional one None), taken
# from pyVmomi's own types so that both readings agree
_TYPES = {"SoftwarePackage": ("SoftwarePackage", ("name", "version", "type", "vendor", "acceptanceLevel", "summary",
                                                  "description", "creationDate", "maintenanceModeRequired")),
          "Relation": ("SoftwarePackage.Relation", ("constraint", "name", "version")),
          "SoftwarePackageCapability": ("SoftwarePackage.Capability", _CAPABILITY),
          "HostImageProfileSummary": ("ImageConfigManager.ImageProfileSummary", ("name", "vendor"))}
_DEFAULTS: Dict[str, Dict[str, Any]] = {}


def _defaults(wsdl: str) -> Dict[str, Any]:
    out = _DEFAULTS.get(wsdl)
    if out is None:
        path, fields = _TYPES[wsdl]
        t: Any = _vim.host
        for part in path.split("."):
            t = getattr(t, part)
        obj = t()
        out = _DEFAULTS[wsdl] = {f: getattr(obj, f, None) for f in fields}
    return dict(out)


def _fields(el: Any, out: Dict[str, Any], wsdl: str, value: Callable[[Any], Any]) -> Dict[str, Any]:
    """The leaf children of ``el`` into ``out`` (its defaults), each once, through ``value``."""
    seen = set()
    for c in el:
        key = c.tag[len(_VIM):] if c.tag.startswith(_VIM) else c.tag
        if key not in out or key in seen:
            raise Unreadable("%s.%s" % (wsdl, key))
        seen.add(key)
        out[key] = value(c)
    return out


def _constraint(el: Any) -> str:
    text = _leaf(el)
    if el.tag == _VIM + "constraint" and text not in _enum_values("Constraint"):
        raise Unreadable("Constraint %r" % text)
    return text


def _relation(el: Any) -> Dict[str, Optional[str]]:
    _type_ok(el, "Relation")
    return _fields(el, _defaults("Relation"), "Relation", _constraint)


def _capability(el: Any) -> Dict[str, Optional[bool]]:
    _type_ok(el, "SoftwarePackageCapability")
    return _fields(el, _defaults("SoftwarePackageCapability"), "SoftwarePackageCapability",
                   lambda c: _bool(_leaf(c)))


_KIND = {}
for _k in _STR:
    _KIND[_VIM + _k] = (0, _k)
for _k in _STR_LIST:
    _KIND[_VIM + _k] = (1, _k)
for _k in _REL_LIST:
    _KIND[_VIM + _k] = (2, _k)
_KIND.update({_VIM + "type": (3, "type"), _VIM + "creationDate": (4, "creationDate"),
              _VIM + "maintenanceModeRequired": (5, "maintenanceModeRequired"), _VIM + "capability": (6, "capability")})
_ENUMS: Dict[str, frozenset] = {}


def _enum_values(name: str) -> frozenset:
    values = _ENUMS.get(name)
    if values is None:
        values = _ENUMS[name] = frozenset(getattr(getattr(_vim.host.SoftwarePackage, name), "values", ()))
    return values


def _package(rv: Any) -> Dict[str, Any]:
    """One ``SoftwarePackage`` element -> ``ImageConfigMixin.package_record`` of it (creation date as ISO)."""
    if rv.get(_XSI_TYPE) is not None:
        _type_ok(rv, "SoftwarePackage")
    rec = _defaults("SoftwarePackage")
    rec.update(referenceURL=[], depends=[], conflicts=[], replaces=[], provides=[], hardwarePlatformsRequired=[],
               capability={}, tag=[], payload=[])
    seen = set()
    for el in rv:
        kind, key = _KIND.get(el.tag, (-1, el.tag))
        if kind == 1:
            if len(el):
                raise Unreadable(key)
            rec[key].append(el.text or "")
            continue
        if kind == 2:
            rec[key].append(_relation(el))
            continue
        if key in seen:
            raise Unreadable("SoftwarePackage.%s twice" % key)
        seen.add(key)
        if kind == 0:
            if len(el):
                raise Unreadable(key)
            rec[key] = el.text or ""
        elif kind == 3:
            text = _leaf(el)
            if text not in _enum_values("VibType"):
                raise Unreadable("VibType %r" % text)
            rec[key] = text
        elif kind == 4:
            rec[key] = iso_date(_leaf(el))
        elif kind == 5:
            rec[key] = _bool(_leaf(el))
        elif kind == 6:
            rec[key] = _capability(el)
        else:
            raise Unreadable("SoftwarePackage.%s" % key)
    return rec


def read_packages(body: bytes) -> List[Dict[str, Any]]:
    """``FetchSoftwarePackages`` -> package records (``ImageConfigMixin.package_record`` of each, with the
    creation date as an ISO string)."""
    return [_package(rv) for rv in _returnvals(body)]


def digest(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


# ---- property collector: the host facts of a fleet scan ------------------------------------------------------
class MoRef(object):
    """A managed object reference as the client code uses pyVmomi's (``_moId``, ``_wsdlName``)."""

    __slots__ = ("_wsdlName", "_moId")

    def __init__(self, wsdl: str, moid: str) -> None:
        self._wsdlName = wsdl
        self._moId = moid

    def __repr__(self) -> str:
        return "'vim.%s:%s'" % (self._wsdlName, self._moId)


class Data(object):
    """A data object read from an answer: its fields as attributes (pyVmomi's defaults for those left out)."""

    def __init__(self, wsdl: str, fields: Dict[str, Any]) -> None:
        self._wsdlName = wsdl
        self.__dict__.update(fields)


_ENUM_TYPES = {"HostSystemConnectionState": ("HostSystem", "ConnectionState"),
               "HostSystemPowerState": ("HostSystem", "PowerState")}
_DATA_TYPES = {"AboutInfo": "AboutInfo"}        # WSDL name -> pyVmomi name under vim
_XSD_INT = ("int", "long", "short", "byte")


def _value(el: Any) -> Any:
    """A ``propSet/val`` by its ``xsi:type`` (the types of ``inventory.HOST_FACT_PATHS``); Unreadable otherwise."""
    t = (el.get(_XSI_TYPE) or "").rsplit(":", 1)[-1]
    if t == "string":
        return _leaf(el)
    if t == "boolean":
        return _bool(_leaf(el))
    if t == "dateTime":
        return iso_date(_leaf(el))
    if t in _XSD_INT:
        try:
            return int(_leaf(el))
        except ValueError:
            raise Unreadable("%s %r" % (t, el.text))
    if t == "ManagedObjectReference":
        return MoRef(el.get("type") or "", _leaf(el))
    if t in _ENUM_TYPES:
        owner, name = _ENUM_TYPES[t]
        text = _leaf(el)
        if text not in getattr(getattr(getattr(_vim, owner), name), "values", ()):
            raise Unreadable("%s %r" % (t, text))
        return text
    if t in _DATA_TYPES:
        defaults = _DEFAULTS.get(t)
        if defaults is None:
            obj = getattr(_vim, _DATA_TYPES[t])()
            defaults = _DEFAULTS[t] = {i.name: getattr(obj, i.name) for i in obj._GetPropertyList()
                                       if i.name not in ("dynamicType", "dynamicProperty")}
        return Data(t, _fields(el, dict(defaults), t, _leaf))
    raise Unreadable("xsi:type %r" % t)


def read_properties(body: bytes) -> List[Tuple[MoRef, Dict[str, Any]]]:
    """``RetrievePropertiesEx`` -> ``[(object, {path: value})]`` as ``InventoryMixin._retrieve`` returns it, for an
    answer in one page (a ``token``, i.e. more pages, is left to pyVmomi) of the value types above."""
    rvs = _returnvals(body)
    out: List[Tuple[MoRef, Dict[str, Any]]] = []
    for rv in rvs:
        for oc in rv:
            if oc.tag != _VIM + "objects":
                raise Unreadable(oc.tag)          # token (more pages) or anything else: pyVmomi's job
            obj = None
            props: Dict[str, Any] = {}
            for part in oc:
                if part.tag == _VIM + "obj" and obj is None:
                    obj = MoRef(part.get("type") or "", _leaf(part))
                elif part.tag == _VIM + "propSet":
                    name = val = None
                    for c in part:
                        if c.tag == _VIM + "name" and name is None:
                            name = _leaf(c)
                        elif c.tag == _VIM + "val" and val is None:
                            val = c
                        else:
                            raise Unreadable("propSet.%s" % c.tag)
                    if name is None or val is None or name in props:
                        raise Unreadable("propSet")
                    props[name] = _value(val)
                else:
                    raise Unreadable("ObjectContent.%s" % part.tag)    # missingSet and the like
            if obj is None:
                raise Unreadable("ObjectContent without obj")
            out.append((obj, props))
    return out
