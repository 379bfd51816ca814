# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every real bundle, VIB and installed-host record in tests/fixtures/real parses to exactly what its XML says.

Expected values come from the files through the stdlib oracle in conftest.py; the quirk tests at the end also
pin the facts documented in tests/fixtures/real/SOURCES.md.
"""

from __future__ import annotations

import io
import os
import zipfile
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import parse as P
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import (
    load_depot, open_vib, parse_metadata_zip,
)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vib_archive import VibArchive

from depot_oracle import (
    BUNDLES, HOST_DB, REAL, VIBS, ar_members, assert_bulletin_matches, assert_vib_matches, expect_bulletin,
    expect_vib, iso, metadata_members, rel, zip_tree,
)


def test_fixture_inventory_is_complete():
    # SOURCES.md: 35 distinct archives (34 with a metadata.zip, one wrapper) and 14+ .vib files on disk
    assert len(BUNDLES) == 35
    assert len(VIBS) == 14


@pytest.mark.parametrize("bundle", BUNDLES, ids=rel)
def test_bundle_matches_its_xml(bundle):
    tree = zip_tree(bundle)
    metas = metadata_members(tree)
    assert metas, "fixture without metadata zip"
    depot = load_depot([bundle])
    exp_vibs = {}
    exp_buls = {}
    for _key, members in metas:
        for name, data in members.items():
            if name.startswith("vibs/"):
                e = expect_vib(data)
                exp_vibs[e["id"]] = e
            elif name.startswith("bulletins/"):
                e = expect_bulletin(data)
                exp_buls[e["id"]] = e
    assert sorted(depot.vibs) == sorted(exp_vibs)
    assert sorted(depot.bulletins) == sorted(exp_buls)
    for vid, e in exp_vibs.items():
        assert_vib_matches(depot.vibs[vid], e)
    for bid, e in exp_buls.items():
        assert_bulletin_matches(depot.bulletins[bid], e)
    # components are exactly the bulletins that carry componentNameSpec
    assert sorted(depot.components) == sorted("%s_%s" % (e["component"][0], e["component"][1])
                                              for e in exp_buls.values() if e["component"])
    # each VIB's file is located inside the bundle, and is the VIB the metadata describes
    for vid, e in exp_vibs.items():
        ref = depot.vib_files[vid]
        assert ref.startswith(bundle + "#") and ref.endswith(e["relative_path"])
        va = open_vib(ref)
        d = ET.fromstring(va.descriptor_bytes)
        assert (d.findtext("name"), d.findtext("version")) == (e["name"], e["version"])
    # the vendor-index entries that were read, with absolute references
    (index_key,) = [k for k in tree if k == "index.xml" or k.endswith("#index.xml")]
    top_vi = ET.fromstring(tree[index_key[:-len("index.xml")] + "vendor-index.xml"])
    assert [(m.product_line, m.version) for m in depot.metadata] == \
        [(m.findtext("productId"), m.findtext("version")) for m in top_vi.findall("metadata")]
    assert all(m.url.startswith(bundle + "#") for m in depot.metadata)
    assert depot.sources == [bundle]
    assert len(depot.digest) == 64


@pytest.mark.parametrize("vib_path", VIBS, ids=rel)
def test_standalone_vib_matches_its_descriptor(vib_path):
    with open(vib_path, "rb") as f:
        raw = f.read()
    members = ar_members(raw)
    depot = load_depot([vib_path])
    e = expect_vib(members["descriptor.xml"])
    assert list(depot.vibs) == [e["id"]]
    assert_vib_matches(depot.vibs[e["id"]], e)
    assert depot.vib_files == {e["id"]: vib_path}
    va = VibArchive(vib_path)
    assert [n for n, _ in va.members()] == list(members)
    assert va.signature_bytes == members.get("sig.pkcs7", b"")
    for name, data in members.items():
        assert va.read(name) == data
        with va.open(name) as f:
            assert f.read() == data


def test_vibs_inside_bundles_match_their_descriptors():
    """The descriptor.xml of every .vib inside every bundle (49 .vib files in all, SOURCES.md)."""
    count = 0
    for bundle in BUNDLES:
        for key, data in zip_tree(bundle).items():
            if key.endswith(".vib"):
                count += 1
                e = expect_vib(ar_members(data)["descriptor.xml"])
                va = VibArchive(io.BytesIO(data), source=key)
                v = P.parse_vib_bytes(va.descriptor_bytes, key)
                assert_vib_matches(v, e)
    assert count + len(VIBS) == 49


def test_vib_author_stage_descriptors():
    for p in ("fangli__esxi-hardware-watchdog-driver/stage/descriptor.xml",
              "JakDaniels__ghettoVCB_VIB_build/stage/descriptor.xml"):
        with open(os.path.join(REAL, p), "rb") as f:
            data = f.read()
        e = expect_vib(data)
        v = P.parse_vib_bytes(data, p)
        assert_vib_matches(v, e)
        assert v.checksum is None and v.packed_size is None


# ---- installed-host image database ---------------------------------------------------------------------
def _host_records():
    d = os.path.join(HOST_DB, "vibs")
    return sorted(os.path.join(d, n) for n in os.listdir(d) if not n.endswith((".orig", ".sig")))


def test_host_db_folder():
    depot = load_depot([HOST_DB])
    records = _host_records()
    assert len(records) == 136
    seen = set()
    for path in records:
        with open(path, "rb") as f:
            e = expect_vib(f.read())
        assert_vib_matches(depot.vibs[e["id"]], e)
        seen.add(e["id"])
        sig = depot.descriptor_signatures[e["id"]]
        assert sig["descriptor"] == path
        assert sig["orig"] == (path + ".orig" if os.path.exists(path + ".orig") else None)
        assert sig["sig"] == (path + ".sig" if os.path.exists(path + ".sig") else None)
    assert set(depot.vibs) == seen
    assert depot.vib_files == {}
    # the profile: every vib-id of the XML, in order
    prof_path = os.path.join(HOST_DB, "profiles", os.listdir(os.path.join(HOST_DB, "profiles"))[0])
    with open(prof_path, "rb") as f:
        pr = ET.fromstring(f.read())
    ids = [v.findtext("vib-id") for v in pr.findall("viblist/vib")]
    p = depot.profiles[pr.findtext("name")]
    assert list(p.vib_ids) == ids
    assert set(ids) == seen
    assert (p.creator, p.acceptance_level, p.profile_id, p.readonly, p.description) == (
        pr.findtext("creator"), pr.findtext("acceptancelevel"), pr.findtext("profileID"), True,
        pr.findtext("description"))
    assert iso(p.creation_time) == iso(pr.findtext("creationtime"))


def test_the_136_vib_67_profile():
    """SOURCES.md facts: ESXi-6.7.0-8169922-standard, 136 VIBs, 118 VMW + 18 VMware, 135 bootbank + 1 locker,
    all certified, profile acceptance partner."""
    depot = load_depot([HOST_DB])
    p = depot.profiles["ESXi-6.7.0-8169922-standard"]
    assert len(p.vib_ids) == 136 and p.acceptance_level == "partner" and p.creator == "VMware, Inc."
    vibs = [depot.vibs[i] for i in p.vib_ids]
    assert sum(v.vendor == "VMW" for v in vibs) == 118 and sum(v.vendor == "VMware" for v in vibs) == 18
    assert sum(v.type == "bootbank" for v in vibs) == 135
    assert [v.id for v in vibs if v.type == "locker"] == [i for i in p.vib_ids if "_locker_tools-light_" in i]
    assert {v.acceptance_level for v in vibs} == {"certified"}
    assert depot.counts()["profiles"] == 1 and depot.counts()["vibs"] == 136


def test_esx_base_relations_payloads_and_files():
    depot = load_depot([HOST_DB])
    base = depot.vibs["VMware_bootbank_esx-base_6.7.0-0.0.8169922"]
    assert [(r.name, r.relation, r.version) for r in base.depends] == [
        ("vsan", ">=", "6.7.0-0.0"), ("vsan", "<<", "6.7.0-0.1")]
    assert [(r.name, r.relation, r.version) for r in base.conflicts] == [
        ("misc-drivers", "<<", "5.5.0"), ("native-misc-drivers", "<<", "6.1.0")]
    assert [(r.name, r.relation) for r in base.replaces] == [("esx-xlibs", None), ("esx-tboot", None)]
    assert ("esx-version", "6.7.0-0.0.8169922") in [(p.name, p.version) for p in base.provides]
    types = {p.type for p in base.payloads}
    assert {"boot", "tgz", "vgz", "upgrade", "boot_loader_efi", "text"} <= types
    assert len(base.payloads) >= 20
    assert len(base.files) > 3000      # the big record takes the file-list fast path
    with open(os.path.join(HOST_DB, "vibs", "esx-base-591008816.xml"), "rb") as f:
        data = f.read()
    assert P.split_file_list(data) is not None
    assert list(base.files) == [x.text for x in ET.fromstring(data).findall("file-list/file")]


def test_orig_release_date_without_zone_is_read_as_utc():
    path = os.path.join(HOST_DB, "vibs", "ata-libata-92--421763408.xml")
    with open(path + ".orig", "rb") as f:
        orig = P.parse_vib_bytes(f.read(), path + ".orig")
    with open(path, "rb") as f:
        installed = P.parse_vib_bytes(f.read(), path)
    assert orig.release_date == installed.release_date == "2018-04-03T21:21:03.109615+00:00"


def test_artemis_installed_record():
    path = os.path.join(REAL, "puffyCid__artemis-api/tests/test_data/esxi/vibs/artemis--2860263652605340392.xml")
    with open(path, "rb") as f:
        data = f.read()
    v = P.parse_vib_bytes(data, path)
    assert_vib_matches(v, expect_vib(data))
    assert v.install_date == "2026-04-04T19:06:39.106766+00:00"
    assert (v.live_install_allowed, v.maintenance_mode_required, v.acceptance_level) == (True, False, "community")


# ---- quirks (SOURCES.md "worth a test each") ----------------------------------------------------------------
def _one(name):
    return os.path.join(REAL, name)


def test_v_front_layout():
    b = _one("money114__ESXI-Customized-Drives/6.7u3/sata-xahci-1.42-1-offline_bundle.zip")
    d = load_depot([b])
    vid = "VFrontDe_bootbank_sata-xahci_1.42-1"
    assert d.vib_files[vid] == b + "#sata-xahci-1.42-1.x86_64.vib"       # VIB at the bundle root
    assert [(m.version, m.url) for m in d.metadata] == [
        ("5.*", b + "#VFrontDe-sata-xahci-1.42-1-metadata.zip"), ("6.*", b + "#VFrontDe-sata-xahci-1.42-1-metadata.zip")]
    assert d.metadata[0].patch_url is None and d.metadata[0].channels == ("default",)
    v = d.vibs[vid]
    assert [(r.name, r.relation) for r in v.depends] == [("sata-ahci", None)]
    assert v.platforms == ()        # vibs/*.xml has no softwarePlatform (vmware.xml does): as the XML says
    assert v.urls == (("kb", "https://vibsdepot.v-front.de/wiki/index.php/Sata-xahci"),)


def test_wrapped_65_fling_is_unwrapped_once():
    b = _one("itiligent__ESXi-Custom-ISO/6-updates/ESXi650-VMKUSB-NIC-FLING-39176435-16775917.zip")
    d = load_depot([b])
    vid = "VMW_bootbank_vmkusb-nic-fling_2.1-6vmw.650.2.50.39176435"
    assert list(d.vibs) == [vid] and list(d.bulletins) == ["ESXi650-VMKUSB-NIC-FLING-39176435"]
    assert d.vibs[vid].acceptance_level == "accepted"
    inner = "ESXi650-VMKUSB-NIC-FLING-39176435-offline_bundle-16775917.zip"
    assert d.vib_files[vid] == "%s#%s#vib20/vmkusb-nic-fling/%s.vib" % (b, inner, vid)
    va = open_vib(d.vib_files[vid])
    assert len(va.signature_bytes) == 5930


def test_90_fling_vzstd_payload():
    b = _one("itiligent__ESXi-Custom-ISO/9-updates/ESXi90-VMKUSB-NIC-FLING-84947163_24739691-component.zip")
    v = load_depot([b]).vibs["VMW_bootbank_vmkusb-nic-fling_1.15-1vmw.900.0.84947163"]
    (p,) = v.payloads
    assert (p.type, p.compression_option) == ("vzstd", "level=18")
    assert "sha-256-gunzip1" in [c.type for c in p.checksums]
    assert ("zstd-compression", "=", "1.0") in [(r.name, r.relation, r.version) for r in v.depends]


def test_intel_accepted_component():
    b = _one("money114__ESXI-Customized-Drives/8.0u3/Intel-esx-nvmupdaten64e_1.43.28.0-800.20613240.zip")
    d = load_depot([b])
    v = d.vibs["INT_bootbank_nvmupdaten64e_1.43.28.0-1OEM.800.1.0.20613240"]
    assert v.acceptance_level == "accepted"
    assert "epkname:esxpackagingkit" in v.tags
    (comp_key, bul), = d.components.items()
    assert (bul.component.name, bul.component.version) == ("Intel-esx-nvmupdaten64e", "1.43.28.0-800.20613240")
    assert bul.vib_ids == (v.id,)
    assert len(open_vib(d.vib_files[v.id]).signature_bytes) == 3149


def test_maintenance_mode_spellings_in_vmware_xml():
    spelled = {}
    for b in BUNDLES:
        for _key, members in metadata_members(zip_tree(b)):
            x = members.get("vmware.xml")
            if x is None:
                continue
            tag = "maintenance-mode" if b"<maintenance-mode>" in x else "maintenanceMode"
            bulletins, vibs = P.parse_vmware_xml(x, b + "#vmware.xml")
            root = ET.fromstring(x)
            for vv, xv in zip(vibs, root.findall("bulletin/vibList/vib")):
                assert vv.id == xv.findtext("vibID")
                assert vv.maintenance_mode_required == (xv.findtext("systemReqs/" + tag).strip() == "true")
                assert [(p.product_line, p.version) for p in vv.platforms] == [
                    (p.get("productLineID"), p.get("version")) for p in xv.findall("systemReqs/swPlatform")]
                assert (vv.relative_path, vv.packed_size, vv.checksum.value) == (
                    xv.findtext("vibFile/relativePath"), int(xv.findtext("vibFile/packedSize")),
                    xv.findtext("vibFile/checksum/checksum"))
            assert [b_.id for b_ in bulletins] == [x_.findtext("id") for x_ in root.findall("bulletin")]
            spelled[tag] = spelled.get(tag, 0) + 1
    assert spelled == {"maintenanceMode": 32, "maintenance-mode": 3}      # SOURCES.md


def test_legacy_vmware_xml_used_only_without_bulletins_and_vibs(tmp_path):
    b = _one("itiligent__ESXi-Custom-ISO/6-updates/net51-r8169-6.011.00-2vft.510.0.0.799733-offline_bundle.zip")
    tree = zip_tree(b)
    (mkey, members), = metadata_members(tree)
    legacy = tmp_path / "metadata.zip"
    with zipfile.ZipFile(legacy, "w") as z:
        for n in ("vmware.xml", "vendor-index.xml"):
            z.writestr(n, members[n])
    d = load_depot([str(legacy)])
    full = parse_metadata_zip(tree[mkey], "full")
    vid = "VFrontDe_bootbank_net51-r8169_6.011.00-2vft.510.0.0.799733"
    assert list(d.vibs) == list(full.vibs) == [vid]
    lv, fv = d.vibs[vid], full.vibs[vid]
    assert lv.acceptance_level == "community" and any("legacy vmware.xml" in w for w in d.warnings)
    assert (lv.maintenance_mode_required, lv.relative_path, lv.packed_size, lv.checksum.value) == (
        fv.maintenance_mode_required, fv.relative_path, fv.packed_size, fv.checksum.value)
    assert [(r.name, r.relation) for r in lv.conflicts] == [("net51-drivers", None)]
    assert [(p.product_line, p.version) for p in lv.platforms] == [("embeddedEsx", "6.0.0"), ("embeddedEsx", "5.5.0")]
    assert not full.warnings          # with vibs/ and bulletins/ the vmware.xml is not read


def test_index_vendor_code_unknown_and_comment():
    b = _one("itiligent__ESXi-Custom-ISO/6-updates/net51-r8169-6.011.00-2vft.510.0.0.799733-offline_bundle.zip")
    tree = zip_tree(b)
    vendors = P.parse_index(tree["index.xml"], "index.xml")
    assert [(v["name"], v["code"], v["indexfile"]) for v in vendors] == [("VFrontDe", "vft", "vendor-index.xml")]
    g = _one("lamw__ghettoVCB/2015-05-27_e6e25309/vghetto-ghettoVCB-offline-bundle.zip")
    assert P.parse_index(zip_tree(g)["index.xml"], "x")[0]["code"] == "Unknown"


def test_ghettovcb_declares_5x_even_for_70():
    b = _one("lamw__ghettoVCB/2020-12-29_37290df1/vghetto-ghettoVCB-offline-bundle.zip")
    assert [m.version for m in load_depot([b]).metadata] == ["5.*"]
    d = load_depot([b], product_line="embeddedEsx", version="7.0.3")
    assert d.vibs == {} and d.metadata == [] and "no <metadata> entry fits" in d.warnings[0]
    assert load_depot([b], version="5.5.0").counts()["vibs"] == 1


def test_version_filter_selects_metadata_entries():
    b = _one("money114__ESXI-Customized-Drives/6.7u3/sata-xahci-1.42-1-offline_bundle.zip")
    d = load_depot([b], product_line="embeddedEsx", version="6.7.0")
    assert [m.version for m in d.metadata] == ["6.*"] and d.counts()["vibs"] == 1
    assert load_depot([b], product_line="embeddedEsxi").vibs == {}
    re_driver = _one("itiligent__ESXi-Custom-ISO/8-updates/VMware-Re-Driver_1.101.01-5vmw.800.1.0.20613240.zip")
    assert load_depot([re_driver], version="8.0.0").counts()["vibs"] == 1
    assert load_depot([re_driver], version="8.0.3").counts()["vibs"] == 1      # "8.0.0" names the 8.0 line
    assert load_depot([re_driver], version="7.0.3").counts()["vibs"] == 0
    fling = _one("itiligent__ESXi-Custom-ISO/8-updates/ESXi80U3-VMKUSB-NIC-FLING-75399077-component-24052746.zip")
    assert load_depot([fling], version="8.0.3").counts()["vibs"] == 1          # "8.0" matches 8.0.x


def test_merge_of_many_sources_later_wins_and_digest_is_content_based(tmp_path):
    srcs = [b for b in BUNDLES if "lamw__ghettoVCB" in b]
    d = load_depot(srcs)
    assert list(d.vibs) == ["virtuallyGhetto_bootbank_ghettoVCB_1.0.0-0.0.0"]      # one id, 11 builds
    last = expect_bulletin(metadata_members(zip_tree(srcs[-1]))[0][1]["bulletins/ghettoVCB.xml"])
    assert iso(d.bulletins["ghettoVCB"].release_date) == iso(last["release_date"])
    assert d.vib_files[list(d.vibs)[0]].startswith(srcs[-1])
    assert len(d.sources) == 11
    # same bytes at another path: same digest; different content: different digest
    copy = tmp_path / "copy.zip"
    copy.write_bytes(open(srcs[0], "rb").read())
    assert load_depot([str(copy)]).digest == load_depot([srcs[0]]).digest != load_depot([srcs[1]]).digest


def test_folder_with_unzipped_bundle_and_folder_of_bundles(tmp_path):
    b = _one("itiligent__ESXi-Custom-ISO/8-updates/ESXi80U3-VMKUSB-NIC-FLING-75399077-component-24052746.zip")
    with zipfile.ZipFile(b) as z:
        z.extractall(tmp_path / "unzipped")
    d = load_depot([str(tmp_path / "unzipped")])
    ref = load_depot([b])
    assert sorted(d.vibs) == sorted(ref.vibs) and d.digest == ref.digest
    vid = list(d.vibs)[0]
    assert d.vib_files[vid] == str(tmp_path / "unzipped" / ref.vibs[vid].relative_path)
    folder = tmp_path / "bundles"
    folder.mkdir()
    for src in (b, _one("money114__ESXI-Customized-Drives/6.7u3/sata-xahci-1.42-1-offline_bundle.zip")):
        (folder / os.path.basename(src)).write_bytes(open(src, "rb").read())
    d2 = load_depot([str(folder)])
    assert d2.counts()["vibs"] == 2 and d2.sources == [str(folder)]


def test_bare_metadata_zip_and_metadata_folder(tmp_path):
    b = _one("itiligent__ESXi-Custom-ISO/7-updates/Net-Community-Driver_1.2.7.0-1vmw.700.1.0.15843807_19480755.zip")
    tree = zip_tree(b)
    (tmp_path / "metadata.zip").write_bytes(tree["metadata.zip"])
    d = load_depot([str(tmp_path / "metadata.zip")])
    ref = load_depot([b])
    assert sorted(d.vibs) == sorted(ref.vibs) and d.digest == ref.digest
    assert d.vib_files == {}           # no vib20/ next to the bare metadata.zip
    vib_rel = list(ref.vibs.values())[0].relative_path
    (tmp_path / vib_rel).parent.mkdir(parents=True)
    (tmp_path / vib_rel).write_bytes(tree[vib_rel])
    d = load_depot([str(tmp_path / "metadata.zip")])
    assert list(d.vib_files.values()) == [str(tmp_path / vib_rel)]
    folder = tmp_path / "meta"
    with zipfile.ZipFile(io.BytesIO(tree["metadata.zip"])) as z:
        z.extractall(folder)
    d3 = load_depot([str(folder)])
    assert sorted(d3.vibs) == sorted(ref.vibs) and sorted(d3.bulletins) == sorted(ref.bulletins)
