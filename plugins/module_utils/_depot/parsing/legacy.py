# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the legacy ``vmware.xml``, ``index.xml``/``vendor-index.xml`` and generic (base image / add-on)
readers of the depot parser. Pure; no I/O. Imported by ``parse`` (its names are re-exported there)."""

from __future__ import annotations

import json

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotFormatError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.safexml import element_to_dict, parse_xml
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Checksum, MetadataRef, Vib
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.parsing.core import (
    _as_root, _bool, _bulletin_from, _children, _constraints, _int, _intern, _opt_text, _provides, _required,
    _text, platform,
)


# ---- legacy vmware.xml ----------------------------------------------------------------------------------
def _legacy_vib(v, source):
    d = _children(v)
    name = _required(d, "name", source, "vmware.xml VIB")
    version = _required(d, "version", source, "vmware.xml VIB %s" % name)
    vendor = _intern(_required(d, "vendor", source, "vmware.xml VIB %s" % name))
    vtype = _intern(_required(d, "vibType", source, "vmware.xml VIB %s" % name))
    maint = True
    plats = []
    sr = d.get("systemReqs")
    if sr is not None:
        for r in sr:
            if r.tag in ("maintenanceMode", "maintenance-mode"):
                maint = _bool(r, True, r.tag, source)
            elif r.tag in ("swPlatform", "softwarePlatform"):
                a = r.attrib
                plats.append(platform(a.get("productLineID", ""), a.get("version", ""), a.get("locale", "")))
    depends = conflicts = replaces = provides = ()
    rels = d.get("relationships")
    if rels is not None:
        for r in rels:
            if r.tag == "depends":
                depends = _constraints(r, source)
            elif r.tag == "conflicts":
                conflicts = _constraints(r, source)
            elif r.tag == "replaces":
                replaces = _constraints(r, source)
            elif r.tag == "provides":
                provides = _provides(r, source)
    pv = d.get("provides")
    if pv is not None and len(pv) and not provides:
        provides = _provides(pv, source)
    tags_el = d.get("softwareTags")
    tags = tuple(_intern(t.text.strip()) for t in tags_el if t.text and t.text.strip()) \
        if tags_el is not None else ()
    rel_path = packed = checksum = None
    vf = d.get("vibFile")
    if vf is not None:
        f = _children(vf)
        rel_path = _opt_text(f.get("relativePath"))
        packed = _int(_text(f.get("packedSize")), "packedSize", source)
        ck = f.get("checksum")
        if ck is not None:
            c = _children(ck)
            if _text(c.get("checksum")):
                checksum = Checksum(_text(c.get("checksumType")), _text(c.get("checksum")))
    vid = Vib.make_id(vendor, vtype, name, version)
    return Vib(vid, name, version, vendor, vtype, "community", _text(d.get("summary")), "", None,
               depends, conflicts, replaces, provides, maint, platforms=tuple(plats), relative_path=rel_path,
               packed_size=packed, checksum=checksum, tags=tags, source=source)


def parse_vmware_xml(data, source=None):
    """``(bulletins, vibs)`` from a legacy ``vmware.xml`` (root ``metadataResponse``)."""
    root = _as_root(data, source, "metadataResponse")
    bulletins = []
    vibs = []
    for b in root:
        if b.tag != "bulletin":
            continue
        d = _children(b)
        ids = []
        vl = d.get("vibList")
        if vl is not None:
            for v in vl:
                if v.tag == "vib":
                    vib = _legacy_vib(v, source)
                    vibs.append(vib)
                    ids.append(vib.id)
                elif v.tag == "vibID" and _text(v):
                    ids.append(_text(v))
        bulletins.append(_bulletin_from(d, source, tuple(ids)))
    return bulletins, vibs


# ---- index.xml / vendor-index.xml -----------------------------------------------------------------------
def parse_index(data, source=None):
    """The vendors of an ``index.xml`` (root ``vendorList``) as dicts."""
    root = _as_root(data, source, "vendorList")
    out = []
    for v in root:
        if v.tag != "vendor":
            continue
        d = _children(v)
        content = d.get("content")
        cd = _children(content) if content is not None else {}
        out.append({"name": _text(d.get("name")), "code": _text(d.get("code")),
                    "indexfile": _text(d.get("indexfile")), "patch_url": _text(d.get("patchUrl")),
                    "relative_path": _text(d.get("relativePath")),
                    "content_name": _text(cd.get("name")), "content_type": _text(cd.get("type"))})
    for v in out:
        if not v["indexfile"]:
            raise DepotFormatError("vendor %r has no <indexfile>" % v["name"], source=source)
    return out


def parse_vendor_index(data, source=None):
    """The ``<metadata>`` entries of a ``vendor-index.xml`` (root ``metaList``); ``url`` as written."""
    root = _as_root(data, source, "metaList")
    out = []
    for m in root:
        if m.tag != "metadata":
            continue
        d = {}
        channels = []
        for c in m:
            if c.tag == "channelName":
                if _text(c):
                    channels.append(_text(c))
            else:
                d[c.tag] = c
        url = _text(d.get("url"))
        if not url:
            raise DepotFormatError("<metadata> entry without <url>", source=source)
        out.append(MetadataRef(url, _text(d.get("productId")), _text(d.get("version")), _text(d.get("locale")),
                               tuple(channels), _opt_text(d.get("patchUrl"))))
    return out


# ---- ESXi 7+ base images / add-ons (no real sample exists: parsed generically) ---------------------------
def parse_generic(data, source=None):
    """A JSON-safe dict from a ``baseimages/``/``addons/`` file (JSON or XML). ASSUMED format: no real sample
    was available, so the content is kept as written (``assumed_format: True``)."""
    stripped = data.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise DepotFormatError("malformed JSON: %s" % e, source=source)
    else:
        root = parse_xml(data, source)
        value = {root.tag: element_to_dict(root)}
    if not isinstance(value, dict):
        value = {"value": value}
    value = dict(value)
    value["assumed_format"] = True
    return value


def generic_name(value, fallback):
    """Best-effort key of a base image / add-on dict."""
    for key in ("name", "displayName", "display_name", "id", "releaseID", "release_id"):
        v = value.get(key)
        if isinstance(v, str) and v:
            return v
    for v in value.values():
        if isinstance(v, dict):
            for key in ("name", "releaseID", "id"):
                x = v.get(key)
                if isinstance(x, str) and x:
                    return x
    return fallback
