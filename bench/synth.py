# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A synthetic ESXi depot built from the SHAPES of the real records in tests/fixtures/real.

Shape sources (see /work/shared/docs/reference/depot-data-and-scale.md):
* VIB records: the 136 real installed-host records of ESXi 6.7.0 GA (ljvblfz__ESXi/var/db/esximg/vibs), turned into
  the depot form (``relative-path``, ``packed-size``, top-level ``checksum`` added, as in the real vibs/*.xml).
  The real esx-base record (172 KB, ~4,900 files) is the largest record, and esx-base changes in every release.
* bulletins: the real 7.0+ component bulletin shape (``componentNameSpec``/``componentVersionSpec``).
* image profiles: the real 6.7 profile shape (``imageprofile``/``viblist``/``vib-id``).
* scale: ~60 releases; per release a standard and a second profile of 130 VIBs each (the second one models the
  8.0 ``-esxio`` twins: its own VIB records); 40 % of the VIBs change per release; every release also has a
  security-only ``s`` variant (2 more profiles) in which ~10 % of the VIBs change. About 8,000 distinct VIBs.
"""

from __future__ import annotations

import copy
import glob
import hashlib
import io
import os
import random
import zipfile

from lxml import etree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_VIBS = os.path.join(ROOT, "tests", "fixtures", "real", "ljvblfz__ESXi", "var", "db", "esximg", "vibs")


def _templates():
    paths = sorted(p for p in glob.glob(os.path.join(REAL_VIBS, "*.xml")))
    out = []
    for p in paths:
        with open(p, "rb") as f:
            root = etree.fromstring(f.read())
        out.append(root)
    # esx-base first: it is in every release
    out.sort(key=lambda r: (r.findtext("name") != "esx-base", r.findtext("name")))
    return out


def _set(root, tag, text):
    el = root.find(tag)
    if el is None:
        el = etree.SubElement(root, tag)
    el.text = text


def _vib_record(tmpl, name, version, vendor, rng):
    root = copy.deepcopy(tmpl)
    _set(root, "name", name)
    _set(root, "version", version)
    _set(root, "vendor", vendor)
    vid = "%s_%s_%s_%s" % (vendor, root.findtext("type"), name, version)
    # depot-only fields, as in metadata.zip/vibs/*.xml
    rp = etree.SubElement(root, "relative-path")
    rp.text = "vib20/%s/%s.vib" % (name, vid)
    ps = etree.SubElement(root, "packed-size")
    ps.text = str(rng.randint(2000, 50000000))
    ck = etree.SubElement(root, "checksum")
    ck.set("checksum-type", "sha-256")
    ck.text = hashlib.sha256(vid.encode()).hexdigest()
    for c in root.iter("checksum"):
        if c is not ck:
            c.text = hashlib.sha256((vid + c.get("checksum-type", "")).encode()).hexdigest()[:len(c.text or "x" * 64)]
    return vid, etree.tostring(root)


def _bulletin(bid, comp, version, vib_ids, date, rng):
    b = etree.Element("bulletin")
    for tag, text in (("id", bid), ("vendor", "VMware, Inc."), ("summary", "Updates the %s component" % comp),
                      ("severity", rng.choice(["critical", "important", "moderate", "low"])),
                      ("category", rng.choice(["bugfix", "security", "enhancement"])),
                      ("urgency", rng.choice(["critical", "important", "moderate", "low"])),
                      ("releaseType", "patch"), ("description", "Fixes and enhancements for %s" % comp),
                      ("kbUrl", "https://kb.vmware.com/s/article/%d" % rng.randint(2000000, 99999999)),
                      ("contact", "support@vmware.com")):
        etree.SubElement(b, tag).text = text
    etree.SubElement(b, "componentNameSpec", name=comp, uiString=comp.replace("-", " "))
    etree.SubElement(b, "componentVersionSpec", version=version, uiString=version.split("-")[0])
    etree.SubElement(b, "releaseDate").text = date
    pl = etree.SubElement(b, "platforms")
    etree.SubElement(pl, "softwarePlatform", version="8.0", locale="", productLineID="embeddedEsx")
    vl = etree.SubElement(b, "vibList")
    for v in vib_ids:
        etree.SubElement(vl, "vibID").text = v
    return etree.tostring(b)


def _profile(name, vib_ids, date):
    p = etree.Element("imageprofile")
    etree.SubElement(p, "name").text = name
    etree.SubElement(p, "creator").text = "VMware, Inc."
    etree.SubElement(p, "profileID").text = hashlib.md5(name.encode()).hexdigest()
    etree.SubElement(p, "creationtime").text = date
    etree.SubElement(p, "modifiedtime").text = date
    etree.SubElement(p, "serialno").text = str(len(vib_ids))
    etree.SubElement(p, "description").text = "(Updated) %s" % name
    etree.SubElement(p, "readonly").text = "true"
    vl = etree.SubElement(p, "viblist")
    for v in vib_ids:
        e = etree.SubElement(vl, "vib")
        etree.SubElement(e, "vib-id").text = v
    etree.SubElement(p, "acceptancelevel").text = "partner"
    return etree.tostring(p)


def generate(releases=60, vibs_per_profile=130, change=0.40, s_change=0.10, seed=42):
    """``[(relpath, bytes), ...]`` of a metadata tree (bulletins/, vibs/, profiles/) plus a stats dict."""
    rng = random.Random(seed)
    tmpls = _templates()
    files = []
    stats = {"releases": releases, "vibs": 0, "bulletins": 0, "profiles": 0, "xml_bytes": 0}
    # two VIB sets: standard (x86) and the "-esxio" twins
    sets = []
    for twin in (False, True):
        members = []
        for i in range(vibs_per_profile):
            t = tmpls[i % len(tmpls)]
            name = t.findtext("name") + ("-esxio" if twin else "") + ("" if i < len(tmpls) else "-%d" % i)
            members.append({"tmpl": t, "name": name, "vendor": t.findtext("vendor"), "rev": 0})
        sets.append(members)
    counter = [0]

    def emit_vib(m, build, patch):
        m["rev"] += 1
        version = "8.0.3-0.%d.%d" % (patch, build) if m["name"].startswith("esx-") else \
            "%d.%d-%dvmw.803.0.%d.%d" % (1 + m["rev"] // 10, m["rev"] % 10, m["rev"], patch, build)
        vid, data = _vib_record(m["tmpl"], m["name"], version, m["vendor"], rng)
        counter[0] += 1
        files.append(("vibs/%s-%d.xml" % (m["name"], counter[0]), data))
        m["id"] = vid
        m["version"] = version
        return vid

    build = 24000000
    for r in range(releases):
        for variant, frac in (("", change), ("s", s_change)):
            build += rng.randint(1000, 50000)
            patch = r * 5 + (1 if variant else 0)
            date = "20%02d-%02d-%02dT00:00:00+00:00" % (20 + r // 12, r % 12 + 1, 1 + rng.randint(0, 27))
            ids_per_set = []
            for members in sets:
                for i, m in enumerate(members):
                    first = "id" not in m
                    if first or i == 0 or rng.random() < frac:   # esx-base (index 0) changes every release
                        vid = emit_vib(m, build, patch)
                        comp = m["name"]
                        bid = "%s_%s" % (comp, m["version"])
                        files.append(("bulletins/%s.xml" % bid,
                                      _bulletin(bid, comp, m["version"], [vid], date, rng)))
                        stats["bulletins"] += 1
                ids_per_set.append([m["id"] for m in members])
            rel = "8.0U3%s%s" % (chr(ord("a") + r % 26) * (1 + r // 26), variant)
            for suffix, ids in (("standard", ids_per_set[0]), ("esxio", ids_per_set[1])):
                name = "ESXi-%s-%d-%s" % (rel, build, suffix)
                files.append(("profiles/%s.xml" % name, _profile(name, ids, date)))
                stats["profiles"] += 1
    stats["vibs"] = counter[0]
    stats["xml_bytes"] = sum(len(d) for _, d in files)
    stats["largest_vib_record_bytes"] = max(len(d) for n, d in files if n.startswith("vibs/"))
    return files, stats


def metadata_zip(files, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in files:
            z.writestr(name, data)
    return buf.getvalue()
