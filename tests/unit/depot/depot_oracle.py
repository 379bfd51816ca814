# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the depot tests (imported as ``depot_oracle``): the real fixtures and an INDEPENDENT oracle.

The expected values are read from the fixture files with the standard library only (``zipfile``,
``xml.etree.ElementTree`` and a 15-line ar reader), never with the code under test, so a parser bug cannot make
its own expectations.
"""

from __future__ import annotations

import datetime
import io
import os
import zipfile
import xml.etree.ElementTree as ET


REAL = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "real"))
HOST_DB = os.path.join(REAL, "ljvblfz__ESXi", "var", "db", "esximg")


def _walk(ext):
    out = []
    for dp, _dn, fns in os.walk(REAL):
        for fn in fns:
            if fn.endswith(ext):
                out.append(os.path.join(dp, fn))
    return sorted(out)


BUNDLES = _walk(".zip")
VIBS = _walk(".vib")


def rel(path):
    return os.path.relpath(path, REAL)


# ---- stdlib oracle ------------------------------------------------------------------------------------
def ar_members(data):
    """{name: bytes} of an ar archive (independent of _vib_archive)."""
    assert data[:8] == b"!<arch>\n"
    off, out = 8, {}
    while off + 60 <= len(data):
        h = data[off:off + 60]
        name = h[:16].decode().strip().rstrip("/")
        size = int(h[48:58])
        out[name] = data[off + 60:off + 60 + size]
        off += 60 + size + (size & 1)
    return out


def zip_tree(data_or_path, prefix=""):
    """{member path: bytes} of a zip, descending into inner zips as ``outer#inner#member``."""
    z = zipfile.ZipFile(data_or_path if isinstance(data_or_path, str) else io.BytesIO(data_or_path))
    out = {}
    for n in z.namelist():
        b = z.read(n)
        out[prefix + n] = b
        if n.endswith(".zip"):
            out.update(zip_tree(b, prefix + n + "#"))
    return out


def metadata_members(tree):
    """[(metadata zip key, {member: bytes})] of every metadata zip inside a bundle tree."""
    out = []
    for key, b in sorted(tree.items()):
        if key.endswith(".zip"):
            inner = zipfile.ZipFile(io.BytesIO(b))
            names = inner.namelist()
            if any(n.startswith(("vibs/", "bulletins/")) for n in names):
                out.append((key, {n: inner.read(n) for n in names}))
    return out


def iso(text):
    """Datetime of an ISO 8601 text, UTC when it has no zone (what the parser promises)."""
    dt = datetime.datetime.fromisoformat(text.strip())
    return dt if dt.tzinfo else dt.replace(tzinfo=datetime.timezone.utc)


def _t(el, tag):
    x = el.find(tag)
    return (x.text or "").strip() if x is not None else ""


def _bool(el, tag, default):
    x = el.find(tag)
    if x is None:
        return default
    return (x.text or "").strip().lower() == "true"


def expect_vib(xml_bytes):
    """The fields of a VIB XML as plain data, read with ElementTree."""
    r = ET.fromstring(xml_bytes)
    assert r.tag == "vib"

    def rels(tag):
        x = r.find("relationships/" + tag)
        return [(c.get("name"), c.get("relation"), c.get("version")) for c in (x if x is not None else [])]

    sysreq = r.find("system-requires")
    payloads = []
    for p in r.findall("payloads/payload"):
        payloads.append((p.get("name"), p.get("type"), int(p.get("size")) if p.get("size") else None,
                         int(p.get("uncompressed-size")) if p.get("uncompressed-size") else None,
                         p.get("compression-option"),
                         [(c.get("checksum-type"), (c.text or "").strip(), c.get("verify-process"))
                          for c in p.findall("checksum")]))
    ck = r.find("checksum")
    vendor, vtype, name, version = _t(r, "vendor"), _t(r, "type"), _t(r, "name"), _t(r, "version")
    return {
        "id": "%s_%s_%s_%s" % (vendor, vtype, name, version), "name": name, "version": version, "vendor": vendor,
        "type": vtype, "acceptance_level": _t(r, "acceptance-level"), "summary": _t(r, "summary"),
        "description": _t(r, "description"), "release_date": _t(r, "release-date") or None,
        "depends": rels("depends"), "conflicts": rels("conflicts"), "replaces": rels("replaces"),
        "provides": [(c.get("name"), c.get("version")) for c in r.findall("relationships/provides/provide")],
        "maintenance_mode_required": _bool(sysreq, "maintenance-mode", True) if sysreq is not None else True,
        "platforms": [(p.get("productLineID"), p.get("version"), p.get("locale"))
                      for p in r.findall("system-requires/softwarePlatform")],
        "live_install_allowed": _bool(r, "live-install-allowed", False),
        "live_remove_allowed": _bool(r, "live-remove-allowed", False),
        "stateless_ready": _bool(r, "stateless-ready", False), "overlay": _bool(r, "overlay", False),
        "relative_path": _t(r, "relative-path") or None,
        "packed_size": int(_t(r, "packed-size")) if _t(r, "packed-size") else None,
        "checksum": (ck.get("checksum-type"), (ck.text or "").strip()) if ck is not None else None,
        "payloads": payloads,
        "tags": [t.text.strip() for t in r.findall("software-tags/tag") if t.text and t.text.strip()],
        "files": [f.text for f in r.findall("file-list/file") if f.text],
        "install_date": _t(r, "installdate") or None,
        "urls": [(u.get("key"), (u.text or "").strip()) for u in r.findall("urls/url")],
    }


def expect_bulletin(xml_bytes):
    r = ET.fromstring(xml_bytes)
    assert r.tag == "bulletin"
    ns, vs = r.find("componentNameSpec"), r.find("componentVersionSpec")
    return {
        "id": _t(r, "id"), "vendor": _t(r, "vendor"), "summary": _t(r, "summary"), "severity": _t(r, "severity"),
        "category": _t(r, "category"), "urgency": _t(r, "urgency"), "release_type": _t(r, "releaseType"),
        "release_date": _t(r, "releaseDate") or None, "kb_url": _t(r, "kbUrl") or None,
        "description": _t(r, "description"), "contact": _t(r, "contact") or None,
        "platforms": [(p.get("productLineID"), p.get("version"), p.get("locale"))
                      for p in r.findall("platforms/softwarePlatform")],
        "vib_ids": [(v.text or "").strip() for v in r.findall("vibList/vibID")],
        "component": None if ns is None else (ns.get("name"), vs.get("version"), ns.get("uiString"),
                                             vs.get("uiString")),
    }


def assert_vib_matches(vib, exp):
    """Every field of a parsed ``Vib`` equals what the XML says."""
    assert vib.id == exp["id"]
    for f in ("name", "version", "vendor", "type", "acceptance_level", "summary", "description", "relative_path",
              "packed_size", "maintenance_mode_required", "live_install_allowed", "live_remove_allowed",
              "stateless_ready", "overlay"):
        assert getattr(vib, f) == exp[f], f
    if exp["release_date"]:
        assert iso(vib.release_date) == iso(exp["release_date"])
    else:
        assert vib.release_date is None
    if exp["install_date"]:
        assert iso(vib.install_date) == iso(exp["install_date"])
    for f in ("depends", "conflicts", "replaces"):
        assert [(r.name, r.relation, r.version) for r in getattr(vib, f)] == exp[f], f
    assert [(p.name, p.version) for p in vib.provides] == exp["provides"]
    assert [(p.product_line, p.version, p.locale) for p in vib.platforms] == exp["platforms"]
    assert [(p.name, p.type, p.size, p.uncompressed_size, p.compression_option,
             [(c.type, c.value, c.verify_process) for c in p.checksums]) for p in vib.payloads] == exp["payloads"]
    assert (None if vib.checksum is None else (vib.checksum.type, vib.checksum.value)) == exp["checksum"]
    assert list(vib.tags) == exp["tags"]
    assert list(vib.files) == exp["files"]
    assert list(vib.urls) == exp["urls"]


def assert_bulletin_matches(b, exp):
    for f in ("id", "vendor", "summary", "severity", "category", "urgency", "release_type", "kb_url", "description",
              "contact"):
        assert getattr(b, f) == exp[f], f
    assert iso(b.release_date) == iso(exp["release_date"])
    assert [(p.product_line, p.version, p.locale) for p in b.platforms] == exp["platforms"]
    assert list(b.vib_ids) == exp["vib_ids"]
    if exp["component"] is None:
        assert b.component is None
    else:
        c = b.component
        assert (c.name, c.version, c.display_name, c.display_version) == exp["component"]
