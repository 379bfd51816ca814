# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: turn depot metadata bytes into models. No I/O. Breaking changes at any time.

Formats (see tests/fixtures/real/SOURCES.md for real samples):

* VIB XML (root ``vib``) in three forms: depot ``metadata.zip/vibs/*.xml`` (adds ``relative-path``,
  ``packed-size`` and a top-level ``checksum``), ``descriptor.xml`` inside a ``.vib``, and an installed host's
  ``/var/db/esximg/vibs/*`` record (may add ``installdate``; payloads gain ``boot-order``/``vfat-name``).
* bulletin XML (root ``bulletin``), including the 7.0+ ``componentNameSpec``/``componentVersionSpec``.
* image profile XML (root ``imageprofile``), installed-host form and depot form (``imageprofile.rng``).
* legacy ``vmware.xml`` (root ``metadataResponse``): bulletins with flattened VIBs; ``maintenanceMode`` or
  ``maintenance-mode``. It has no acceptance level, so such VIBs get the lowest one (``community``).
* ``index.xml`` (root ``vendorList``) and ``vendor-index.xml`` (root ``metaList``).

Dates are normalised to ISO 8601 with a UTC offset (``2019-03-15T03:12:51.263547`` becomes
``2019-03-15T03:12:51.263547+00:00``; VMware's esximage also reads a date without a zone as UTC). A value that
is not a date is kept as written. Relations are kept exactly as written (``<<``, ``<=``, ``=``, ``>=``, ``>>``
or ``None``).
"""

from __future__ import annotations

import datetime
import re
import sys
from typing import Any, Dict

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotFormatError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import (
    Bulletin, Checksum, Component, ImageProfile, Payload, Platform, Provide, Relation, Vib,
    normalize_acceptance,
)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.safexml import parse_xml

_intern = sys.intern
_RELATIONS = frozenset(("<<", "<=", "=", ">=", ">>"))

# Shared immutable value objects: the same platform/relation/provide appears in thousands of records.
_PLATFORMS: Dict[Any, Any] = {}
_RELATION_CACHE: Dict[Any, Any] = {}
_PROVIDE_CACHE: Dict[Any, Any] = {}
_DATE_CACHE: Dict[Any, Any] = {}
_ACCEPT_CACHE: Dict[Any, Any] = {}
_TAGS_CACHE: Dict[Any, Any] = {}      # raw texts of a <software-tags> list -> tags
_MAX_SHARED = 200000

_DATE_RE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
                      r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$")
_TRUE = frozenset(("true", "1", "yes"))
try:
    from lxml import etree as _etree
    _FILES = _etree.XPath("file/text()", smart_strings=False)
except ImportError:  # pragma: no cover - _xml reports the missing library
    _FILES = None
_FALSE = frozenset(("false", "0", "no", ""))


# ---- small helpers ---------------------------------------------------------------------------------------
def normalize_date(text):
    """ISO 8601 with offset, or the text as written if it is no date; None for empty."""
    if text is None:
        return None
    cached = _DATE_CACHE.get(text)
    if cached is not None:
        return cached
    raw = text.strip()
    if not raw:
        return None
    out = raw
    m = _DATE_RE.match(raw)
    if m:
        y, mo, d, hh, mi, ss, frac, tz = m.groups()
        try:
            micro = int((frac or "0")[:6].ljust(6, "0"))
            if tz in (None, "Z"):
                tzinfo = datetime.timezone.utc
            else:
                sign = -1 if tz[0] == "-" else 1
                digits = tz[1:].replace(":", "")
                tzinfo = datetime.timezone(sign * datetime.timedelta(hours=int(digits[:2]),
                                                                     minutes=int(digits[2:4] or 0)))
            dt = datetime.datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0), micro, tzinfo)
            out = dt.isoformat()
        except ValueError:
            out = raw
    if len(_DATE_CACHE) < _MAX_SHARED:
        _DATE_CACHE[text] = out
    return out


def _text(el):
    if el is None:
        return ""
    t = el.text
    return t.strip() if t else ""


def _opt_text(el):
    t = _text(el)
    return t or None


def _bool(el, default, what, source):
    if el is None:
        return default
    t = (el.text or "").strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return default if t == "" else False
    raise DepotFormatError("<%s> is %r, not a boolean" % (what, el.text), source=source)


def _int(value, what, source):
    if value is None:
        return None
    value = value.strip()
    if value == "":
        return None
    try:
        n = int(value)
    except ValueError:
        raise DepotFormatError("%s is %r, not an integer" % (what, value), source=source)
    if n < 0:
        raise DepotFormatError("%s is negative (%d)" % (what, n), source=source)
    return n


def _acceptance(value, source):
    if value is None or not value.strip():
        return None
    a = _ACCEPT_CACHE.get(value)
    if a is None:
        try:
            a = normalize_acceptance(value)
        except ValueError as e:
            raise DepotFormatError(str(e), source=source)
        _ACCEPT_CACHE[value] = a
    return a


def platform(product_line, version, locale):
    key = (product_line or "", version or "", locale or "")
    p = _PLATFORMS.get(key)
    if p is None:
        p = Platform(_intern(key[0]), _intern(key[1]), _intern(key[2]))
        if len(_PLATFORMS) < _MAX_SHARED:
            _PLATFORMS[key] = p
    return p


def relation(name, rel, version, source=None):
    key = (name, rel, version)
    r = _RELATION_CACHE.get(key)
    if r is None:
        if not name:
            raise DepotFormatError("constraint without a name", source=source)
        if rel is not None and rel not in _RELATIONS:
            raise DepotFormatError("constraint %r has unknown relation %r" % (name, rel), source=source)
        r = Relation(_intern(name), rel, version)
        if len(_RELATION_CACHE) < _MAX_SHARED:
            _RELATION_CACHE[key] = r
    return r


def provide(name, version, source=None):
    key = (name, version)
    p = _PROVIDE_CACHE.get(key)
    if p is None:
        if not name:
            raise DepotFormatError("provide without a name", source=source)
        p = Provide(_intern(name), version)
        if len(_PROVIDE_CACHE) < _MAX_SHARED:
            _PROVIDE_CACHE[key] = p
    return p


def _platforms(els):
    out = []
    for p in els:
        a = p.attrib
        out.append(platform(a.get("productLineID", ""), a.get("version", ""), a.get("locale", "")))
    return tuple(out)


def _constraints(el, source):
    if el is None:
        return ()
    # bytes attribute names: lxml uses them as they are (a str is encoded on every call)
    keys = [(c.get(b"name"), c.get(b"relation") or None, c.get(b"version") or None) for c in el]
    out = tuple(map(_RELATION_CACHE.get, keys))
    if not all(out):    # a first sighting (None; a Relation is always true): build them in order, checked
        out = tuple([relation(k[0], k[1], k[2], source) for k in keys])
    return out


def _provides(el, source):
    if el is None:
        return ()
    keys = [(c.get(b"name"), c.get(b"version") or None) for c in el]
    out = tuple(map(_PROVIDE_CACHE.get, keys))
    if not all(out):    # a first sighting
        out = tuple([provide(k[0], k[1], source) for k in keys])
    return out


def _checksum(el):
    get = el.get
    ctype = get("checksum-type")
    t = el.text
    return Checksum(_intern(ctype) if ctype else "", t.strip() if t else "", get("verify-process"))


def _payloads(el, source):
    if el is None:
        return ()
    out = []
    for p in el:
        get = p.get
        name = get("name")
        if not name:
            raise DepotFormatError("payload without a name", source=source)
        size = get("size")
        usize = get("uncompressed-size")
        out.append(Payload(
            name, _intern(get("type") or ""),
            int(size) if size and size.isdigit() else _int(size, "payload %s size" % name, source),
            int(usize) if usize and usize.isdigit() else _int(usize, "payload %s uncompressed-size" % name, source),
            get("compression-option"),
            tuple([_checksum(c) for c in p if c.tag == "checksum"])))
    return tuple(out)


def _children(root):
    return {c.tag: c for c in root}


def _as_root(data, source, expect):
    if isinstance(data, (bytes, str)):
        return parse_xml(data, source, expect=expect)
    if data.tag not in ((expect,) if isinstance(expect, str) else expect):
        raise DepotFormatError("unexpected root element <%s> (expected <%s>)" % (data.tag, expect), source=source)
    return data


def _required(d, tag, source, what):
    el = d.get(tag)
    t = _text(el)
    if not t:
        raise DepotFormatError("%s has no <%s>" % (what, tag), source=source)
    return t


# ---- VIB -----------------------------------------------------------------------------------------------
_SMALL: Dict[Any, Any] = {}   # shared copies of short repeated values (checksum and payload types)
_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "True": True, "False": False}
_tnew = tuple.__new__     # named-tuple models without their keyword-handling __new__ (hot path)


def _fast_checksum(el):
    """``Checksum`` without the named tuple's keyword handling (hot path: ~6 per VIB)."""
    ctype = el.get(b"checksum-type")
    t = el.text
    return _tnew(Checksum, (_intern(ctype) if ctype else "", t.strip() if t else "", el.get(b"verify-process")))


def _flag(el, default, what, source):
    if el is None:
        return default
    v = _BOOL_TEXT.get(el.text)
    if v is None:
        return _bool(el, default, what, source)
    return v


def parse_vib_bytes(data, source=None):
    """``parse_vib`` for raw bytes, with the fast path for big file lists."""
    split = split_file_list(data) if len(data) > FAST_FILE_LIST_MIN else None
    if split is None:
        return _vib(parse_xml(data, source, expect="vib"), source, None)
    return _vib(parse_xml(split[0], source, expect="vib"), source, split[1])


def parse_vib(data, source=None, files=None):
    """A ``Vib`` from VIB XML (depot ``vibs/*.xml``, ``descriptor.xml`` or an installed-host record).

    ``files`` (internal) is the file list already taken out by ``split_file_list``.
    """
    return _vib(_as_root(data, source, "vib"), source, files)


_NO_RELATIONS = ((), (), (), ())
_NO_SYSTEM = (True, (), ())


def _relationships(el, source):
    """``(depends, conflicts, replaces, provides)`` of a ``<relationships>`` element."""
    depends = conflicts = replaces = provides = ()
    for r in el:
        if not len(r):
            continue
        t = r.tag
        if t == "depends":
            depends = _constraints(r, source)
        elif t == "conflicts":
            conflicts = _constraints(r, source)
        elif t == "replaces":
            replaces = _constraints(r, source)
        elif t == "provides":
            provides = _provides(r, source)
    return depends, conflicts, replaces, provides


def _system_requires(el, source):
    """``(maintenance_mode_required, platforms, hw_platforms)`` of a ``<system-requires>`` element."""
    maint = True
    hw = ()
    plats = None
    for r in el:
        t = r.tag
        if t == "maintenance-mode":
            maint = _BOOL_TEXT.get(r.text)
            if maint is None:
                maint = _bool(r, True, "maintenance-mode", source)
            if not maint:
                # newer descriptors may say install="true"/remove="true" instead of the text
                maint = (r.get(b"install", "").lower() == "true")
        elif t == "softwarePlatform":
            if plats is None:
                plats = []
            plats.append(platform(r.get(b"productLineID", ""), r.get(b"version", ""), r.get(b"locale", "")))
        elif t == "hwplatform":
            hw = hw + (dict(r.attrib),)
    return maint, tuple(plats) if plats else (), hw


def _payloads_of(el, source):
    """The ``Payload`` tuple of a non-empty ``<payloads>`` element (hot path: named tuples built directly)."""
    out = []
    for p in el:
        pname = p.get(b"name")
        if not pname:
            raise DepotFormatError("payload without a name", source=source)
        size = p.get(b"size")
        usize = p.get(b"uncompressed-size")
        ptype = p.get(b"type") or ""
        cks = []
        for c in p:
            if c.tag != "checksum":
                continue
            ctype = c.get(b"checksum-type")
            ct = c.text
            cks.append(_tnew(Checksum, (_SMALL.setdefault(ctype, ctype) if ctype else "",
                                        ct.strip() if ct else "", c.get(b"verify-process"))))
        out.append(_tnew(Payload, (
            _intern(pname), _SMALL.setdefault(ptype, ptype),
            int(size) if size and size.isdigit() else _int(size, "payload %s size" % pname, source),
            None if usize is None else (
                int(usize) if usize.isdigit() else _int(usize, "payload %s uncompressed-size" % pname, source)),
            p.get(b"compression-option"), tuple(cks))))
    return tuple(out)


def _vib(root, source, files):
    """``parse_vib`` of a ``<vib>`` root element."""
    d = {c.tag: c for c in root}
    get = d.get
    el = get("name")
    name = el.text if el is not None else None
    if name:
        name = name.strip()
    if not name:
        raise DepotFormatError("VIB has no <name>", source=source)
    req = []
    for tag in ("version", "vendor", "type"):
        el = get(tag)
        t = el.text.strip() if el is not None and el.text else ""
        if not t:
            raise DepotFormatError("VIB %s has no <%s>" % (name, tag), source=source)
        req.append(t)
    version, vendor, vtype = req
    vendor = _intern(vendor)
    vtype = _intern(vtype)

    el = get("relationships")
    depends, conflicts, replaces, provides = _relationships(el, source) if el is not None else _NO_RELATIONS
    el = get("system-requires")
    maint, platforms, hw = _system_requires(el, source) if el is not None else _NO_SYSTEM

    el = get("acceptance-level")
    acceptance = _ACCEPT_CACHE.get(el.text) if el is not None else None
    if acceptance is None:
        acceptance = _acceptance(el.text if el is not None else None, source)
        if acceptance is None:
            raise DepotFormatError("VIB %s has no <acceptance-level>" % name, source=source)

    el = get("checksum")
    checksum = _fast_checksum(el) if el is not None else None
    el = get("urls")
    urls = tuple([(u.get(b"key", ""), _text(u)) for u in el]) if el is not None and len(el) else ()
    el = get("software-tags")
    if el is not None and len(el):
        raw = tuple([t.text for t in el])
        tags = _TAGS_CACHE.get(raw)
        if tags is None:
            tags = _tags(raw)
    else:
        tags = ()
    el = get("file-list")
    if files is not None:
        if el is None or len(el) or (el.text or "").strip():
            raise DepotFormatError("VIB %s: <file-list> is not a direct child of <vib>" % name, source=source)
    else:
        n = len(el) if el is not None else 0
        if not n:
            files = ()
        elif n < 32:
            files = file_list([f.text for f in el])
        else:
            files = file_list(_FILES(el))

    el = get("payloads")
    payloads = _payloads_of(el, source) if el is not None and len(el) else ()

    packed = None
    el = get("packed-size")
    if el is not None:
        t = el.text
        if t:
            packed = int(t) if t.isdigit() else _int(t, "packed-size", source)
    summary, description, rdate, relpath, idate = [
        (el.text.strip() if el.text else "") if el is not None else "" for el in map(get, _VIB_TEXT)]
    if not idate:
        el = get("install-date")
        idate = el.text.strip() if el is not None and el.text else ""
    idate = normalize_date(idate) if idate else None
    rdate = normalize_date(rdate) if rdate else None
    relpath = relpath or None

    flags = [False if el is None else _BOOL_TEXT.get(el.text) for el in map(get, _FLAG_NAMES)]
    if None in flags:
        flags = [False if el is None else _bool(el, False, tag, source)
                 for el, tag in zip(map(get, _FLAG_NAMES), _FLAG_NAMES)]

    return Vib(
        _intern("%s_%s_%s_%s" % (vendor, vtype, name, version)), _intern(name), version, vendor, vtype, acceptance,
        _intern(summary), _intern(description), rdate, depends, conflicts, replaces, provides, maint,
        flags[0], flags[1], flags[2], flags[3], flags[4],
        platforms, hw, relpath, packed, checksum, payloads, tags, files, idate, source, urls,
    )


_VIB_TEXT = ("summary", "description", "release-date", "relative-path", "installdate")
_FLAG_NAMES = ("live-install-allowed", "live-remove-allowed", "stateless-ready", "overlay", "cimom-restart")


def _tags(raw):
    """The software tags of a VIB from the texts of its ``<tag>`` elements (shared per distinct list)."""
    tags = []
    for x in raw:
        if x:
            y = x.strip()
            if y:
                tags.append(_intern(y))
    tags = tuple(tags)
    if len(_TAGS_CACHE) < _MAX_SHARED:
        _TAGS_CACHE[raw] = tags
    return tags


# ---- bulletin -------------------------------------------------------------------------------------------
_BULLETIN_TEXT = ("id", "vendor", "summary", "severity", "category", "urgency", "releaseType", "releaseDate",
                  "kbUrl", "description", "contact")


def _bulletin_from(d, source, vib_ids):
    bid, vendor, summary, severity, category, urgency, rtype, rdate, kb, desc, contact = [
        (el.text.strip() if el.text else "") if el is not None else "" for el in map(d.get, _BULLETIN_TEXT)]
    if not bid:
        raise DepotFormatError("bulletin has no <id>", source=source)
    comp = None
    ns = d.get("componentNameSpec")
    vs = d.get("componentVersionSpec")
    if ns is not None or vs is not None:
        cname = ns.get(b"name") if ns is not None else None
        cver = vs.get(b"version") if vs is not None else None
        if not cname or not cver:
            raise DepotFormatError("bulletin %s has an incomplete component spec (name %r, version %r)"
                                   % (bid, cname, cver), source=source)
        comp = _tnew(Component, (_intern(cname), cver, ns.get(b"uiString"), vs.get(b"uiString")))
    plats = d.get("platforms")
    if plats is not None and len(plats):
        plats = tuple([platform(p.get(b"productLineID", ""), p.get(b"version", ""), p.get(b"locale", ""))
                       for p in plats])
    else:
        plats = ()
    return Bulletin(bid, _intern(vendor), _intern(summary), _intern(severity), _intern(category), _intern(urgency),
                    _intern(rtype), normalize_date(rdate) if rdate else None, kb or None, _intern(desc),
                    _intern(contact) if contact else None,
                    plats, vib_ids, comp, source)


def parse_bulletin(data, source=None):
    """A ``Bulletin`` from ``bulletins/*.xml``."""
    root = _as_root(data, source, "bulletin")
    d = {c.tag: c for c in root}
    vl = d.get("vibList")
    if vl is not None and len(vl):
        vib_ids = tuple([_intern(x) for x in [v.text.strip() for v in vl if v.tag == "vibID" and v.text] if x])
    else:
        vib_ids = ()
    return _bulletin_from(d, source, vib_ids)


# ---- image profile --------------------------------------------------------------------------------------
def parse_profile(data, source=None):
    """An ``ImageProfile`` (installed-host form or the depot form of imageprofile.rng)."""
    root = _as_root(data, source, "imageprofile")
    d = _children(root)
    name = _required(d, "name", source, "image profile")
    vl = d.get("viblist")
    ids = []
    if vl is not None:
        for v in vl:
            vid = None
            # <vib-id> is the first (usually the only) child: look at that one before iterating
            c = v[0] if len(v) else None
            if c is not None and c.tag != "vib-id":
                c = None
                for x in v:
                    if x.tag == "vib-id":
                        c = x
                        break
            if c is not None:
                vid = c.text
                vid = vid.strip() if vid else ""
            if not vid:
                raise DepotFormatError("image profile %s lists a <vib> without <vib-id>" % name, source=source)
            ids.append(_intern(vid))
    acc = d.get("acceptancelevel")
    acceptance = _acceptance(acc.text if acc is not None else None, source) or "partner"
    return ImageProfile(name, _text(d.get("creator")), acceptance, tuple(ids), _text(d.get("description")),
                        _opt_text(d.get("profileID")), normalize_date(_text(d.get("creationtime"))),
                        normalize_date(_text(d.get("modifiedtime"))),
                        _bool(d.get("readonly"), False, "readonly", source), source)


# the fast file-list path lives in a submodule (the legacy/index readers too: _depot/parsing/legacy.py)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.parsing.filelist import (  # noqa: E402
    FAST_FILE_LIST_MIN, file_list, split_file_list,
)
