# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""depot_build logic (_depot_build.py) on real offline bundles, and mirroring a real bundle served over HTTP on
127.0.0.1 behind a download-token URL (tests/simulator/fixtures.DepotServer)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import zipfile

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))

from tests.simulator.fixtures import DepotServer  # noqa: E402

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.build import MANIFEST, build_depot  # noqa: E402
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot  # noqa: E402
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (  # noqa: E402
    ChecksumError, DepotFetchError, DepotSecurityError, InputError)

REAL = os.path.join(ROOT, "tests", "fixtures", "real")
FLING_U2 = os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "8-updates",
                        "ESXi80U2-VMKUSB-NIC-FLING-67561870-component-22416446.zip")
FLING_U3 = os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "8-updates",
                        "ESXi80U3-VMKUSB-NIC-FLING-75399077-component-24052746.zip")
IGB = os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "6-updates", "net-igb-5.3.2-99-offline_bundle.zip")
WRAPPED = os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "6-updates", "ESXi650-VMKUSB-NIC-FLING-39176435-16775917.zip")
NVM = os.path.join(REAL, "money114__ESXI-Customized-Drives", "8.0u3", "Intel-esx-nvmupdaten64e_1.43.28.0-800.20613240.zip")
B_U2 = "VMware-vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
B_U3 = "VMware-vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077"
V_U2 = "VMW_bootbank_vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
V_U3 = "VMW_bootbank_vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077"
TOKEN = "Zq3x9TfK2mWv8LpR4nYc7HdJ1sGb6UeA0oXiQk5"


def params(dest, sources, **kw):
    p = dict(depot=list(sources), dest=str(dest), product_line=None, version=None, validate_certs=True, proxy=None,
             cache_dir=None, timeout=10, bulletins=None, profiles=None, vendor_name="fleetpatch.esxi",
             vendor_code="FPE")
    p.update(kw)
    return p


def files_of(dest):
    out = {}
    for base, _dirs, names in os.walk(str(dest)):
        for n in names:
            p = os.path.join(base, n)
            out[os.path.relpath(p, str(dest)).replace(os.sep, "/")] = os.stat(p).st_mtime_ns
    return out


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_build_from_real_bundles_matches_the_sources(tmp_path):
    sources = [FLING_U2, FLING_U3, IGB, WRAPPED, NVM]
    res = build_depot(params(tmp_path / "d", sources))
    assert res["changed"] is True
    assert res["counts"] == {"bulletins": 5, "vibs": 5, "profiles": 0, "metadata_records": 10}
    assert res["depot_warnings"] == []
    dest = tmp_path / "d"
    assert sorted(files_of(dest)) == sorted(
        [".fleetpatch-depot.json", "index.xml", "metadata.zip", "vendor-index.xml", "net-igb-5.3.2-99.x86_64.vib",
         "vib20/nvmupdaten64e/INT_bootbank_nvmupdaten64e_1.43.28.0-1OEM.800.1.0.20613240.vib",
         "vib20/vmkusb-nic-fling/%s.vib" % V_U2, "vib20/vmkusb-nic-fling/%s.vib" % V_U3,
         "vib20/vmkusb-nic-fling/VMW_bootbank_vmkusb-nic-fling_2.1-6vmw.650.2.50.39176435.vib"])
    assert sorted(res["written"]) == sorted(set(files_of(dest)))
    # the built folder is a depot the engine reads like the sources: same records, every VIB where it says
    src = load_depot(sources)
    built = load_depot([str(dest)])
    assert sorted(built.bulletins) == sorted(src.bulletins)
    assert sorted(built.vibs) == sorted(src.vibs)
    for vid, v in built.vibs.items():
        assert built.vib_files[vid] == os.path.join(str(dest), *v.relative_path.split("/"))
        assert sha256(built.vib_files[vid]) == v.checksum.value
        assert v.to_dict() == dict(src.vibs[vid].to_dict())
    # the records are the sources' own bytes
    with zipfile.ZipFile(FLING_U3) as outer:
        with zipfile.ZipFile(io.BytesIO(outer.read("metadata.zip"))) as inner:
            original = inner.read("bulletins/%s.xml" % B_U3)
    with zipfile.ZipFile(str(dest / "metadata.zip")) as mz:
        assert mz.read("bulletins/%s.xml" % B_U3) == original
    index = (dest / "index.xml").read_text()
    assert "<indexfile>vendor-index.xml</indexfile>" in index and "<name>fleetpatch.esxi</name>" in index
    assert res["platforms"] == [{"product_line": "embeddedEsx", "version": v, "locale": ""}
                                for v in ("5.5.0", "6.*", "6.0.0", "8.0", "8.0.0")]


def test_check_mode_then_idempotent(tmp_path):
    dest = tmp_path / "d"
    p = params(dest, [FLING_U2, IGB])
    first = build_depot(p, check_mode=True)
    assert first["changed"] is True and first["downloaded"] == sorted([V_U2, "Intel_bootbank_net-igb_5.3.2-99"])
    assert not dest.exists()
    real = build_depot(p)
    assert real["written"] == first["written"] and real["bytes_copied"] > 0
    before = files_of(dest)
    again = build_depot(p)
    assert again["changed"] is False and again["written"] == [] and again["downloaded"] == []
    assert files_of(dest) == before
    assert build_depot(p, check_mode=True)["changed"] is False
    # a second folder from the same sources: byte-identical metadata (deterministic zip)
    other = build_depot(params(tmp_path / "e", [FLING_U2, IGB]))
    assert other["metadata_sha256"] == real["metadata_sha256"]
    assert sha256(str(dest / "metadata.zip")) == real["metadata_sha256"]


def test_damaged_vib_in_place_is_replaced(tmp_path):
    dest = tmp_path / "d"
    p = params(dest, [FLING_U2])
    build_depot(p)
    vib = dest / "vib20" / "vmkusb-nic-fling" / ("%s.vib" % V_U2)
    good = sha256(str(vib))
    with open(str(vib), "r+b") as f:
        f.seek(100)
        f.write(b"XXXX")
    assert build_depot(p, check_mode=True)["downloaded"] == [V_U2]
    res = build_depot(p)
    assert res["changed"] is True
    assert res["written"] == [MANIFEST, "vib20/vmkusb-nic-fling/%s.vib" % V_U2]   # not the metadata
    assert sha256(str(vib)) == good


def test_selection_and_pruning(tmp_path):
    dest = tmp_path / "d"
    build_depot(params(dest, [FLING_U2, FLING_U3]))
    (dest / "README.txt").write_text("not ours")
    res = build_depot(params(dest, [FLING_U2, FLING_U3], bulletins=[B_U3]))
    assert res["bulletins"] == [B_U3] and res["counts"]["vibs"] == 1
    assert res["removed"] == ["vib20/vmkusb-nic-fling/%s.vib" % V_U2]
    assert not (dest / "vib20" / "vmkusb-nic-fling" / ("%s.vib" % V_U2)).exists()
    assert (dest / "README.txt").read_text() == "not ours"
    assert sorted(load_depot([str(dest)]).bulletins) == [B_U3]
    manifest = json.loads((dest / MANIFEST).read_text())
    assert sorted(manifest["files"]) == ["index.xml", "metadata.zip", "vendor-index.xml",
                                         "vib20/vmkusb-nic-fling/%s.vib" % V_U3]
    with pytest.raises(InputError, match="bulletins not in the depot: nope"):
        build_depot(params(dest, [FLING_U2], bulletins=["nope"]))
    with pytest.raises(InputError, match="image profiles not in the depot: ESXi-x"):
        build_depot(params(dest, [FLING_U2], profiles=["ESXi-x"]))


def test_version_filter_selects_metadata(tmp_path):
    res = build_depot(params(tmp_path / "d", [FLING_U3, IGB], product_line="embeddedEsx", version="8.0.3"))
    assert res["bulletins"] == [B_U3]
    assert res["platforms"] == [{"product_line": "embeddedEsx", "version": "8.0", "locale": ""}]


def _tampered_bundle(tmp_path, vib_bytes=None, relative_path=None):
    """A copy of the real U2 fling component with its VIB bytes or its record's relative-path changed."""
    out = tmp_path / "tampered.zip"
    with zipfile.ZipFile(FLING_U2) as src, zipfile.ZipFile(str(out), "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith(".vib") and vib_bytes is not None:
                data = vib_bytes(data)
            if info.filename == "metadata.zip" and relative_path is not None:
                buf = io.BytesIO()
                with zipfile.ZipFile(io.BytesIO(data)) as mz, zipfile.ZipFile(buf, "w") as nz:
                    for n in mz.namelist():
                        d = mz.read(n)
                        if n.startswith("vibs/"):
                            d = d.replace(b"vib20/vmkusb-nic-fling/%s.vib" % V_U2.encode(), relative_path.encode())
                        nz.writestr(n, d)
                data = buf.getvalue()
            dst.writestr(info, data)
    return str(out)


def test_checksum_mismatch_fails_and_leaves_nothing(tmp_path):
    bad = _tampered_bundle(tmp_path, vib_bytes=lambda d: d[:-16] + b"\x00" * 16)
    dest = tmp_path / "d"
    with pytest.raises(ChecksumError) as e:
        build_depot(params(dest, [bad]))
    assert V_U2 in str(e.value) and "does not match" in str(e.value)
    assert e.value.details["vib"] == V_U2
    left = files_of(dest)
    assert left == {}, left


def test_relative_path_escaping_the_depot_is_refused(tmp_path):
    bad = _tampered_bundle(tmp_path, relative_path="../../evil.vib")
    with pytest.raises(DepotSecurityError, match="leaves the depot"):
        build_depot(params(tmp_path / "d", [bad]))
    assert not (tmp_path / "evil.vib").exists()


def test_dest_must_be_a_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        build_depot(params(f, [FLING_U2]))


@pytest.fixture
def token_server(tmp_path):
    """The real U3 fling and igb bundles unpacked under a download-token path, like dl.broadcom.com/<token>/."""
    srv = DepotServer(root=str(tmp_path / "www")).start()
    os.makedirs(srv.root, exist_ok=True)
    srv.add_bundle(FLING_U3, name="%s/fling" % TOKEN)
    srv.add_bundle(IGB, name="%s/igb" % TOKEN)
    yield srv
    srv.stop()


@pytest.mark.network
def test_mirror_online_depot_behind_a_token(tmp_path, token_server):
    url = token_server.url_for("%s/fling/index.xml" % TOKEN)
    url2 = token_server.url_for("%s/igb/index.xml" % TOKEN)
    dest = tmp_path / "mirror"
    p = params(dest, [url, url2, FLING_U2], cache_dir=str(tmp_path / "cache"))
    res = build_depot(p)
    assert res["changed"] is True
    assert sorted(res["downloaded"]) == sorted([V_U3, V_U2, "Intel_bootbank_net-igb_5.3.2-99"])
    assert sorted(res["bulletins"]) == sorted([B_U2, B_U3, "net-igb-5.3.2-99"])
    got = load_depot([str(dest)])
    for vid, path in got.vib_files.items():
        assert sha256(path) == got.vibs[vid].checksum.value
    # the VIBs came over HTTP
    assert "/%s/fling/vib20/vmkusb-nic-fling/%s.vib" % (TOKEN, V_U3) in token_server.requests
    # no token in the result or in any file the module wrote
    text = json.dumps(res)
    assert TOKEN not in text and "********" in text
    for rel in files_of(dest):
        with open(os.path.join(str(dest), rel), "rb") as f:
            assert TOKEN.encode() not in f.read(), rel
    # second run: nothing downloaded again
    n = len(token_server.requests)
    again = build_depot(p)
    assert again["changed"] is False and again["downloaded"] == []
    assert not any(r.endswith(".vib") for r in token_server.requests[n:])


@pytest.mark.network
def test_mirror_errors_are_redacted(tmp_path, token_server):
    missing = token_server.url_for("%s/nope/index.xml" % TOKEN)
    with pytest.raises(DepotFetchError) as e:
        build_depot(params(tmp_path / "d", [missing]))
    assert TOKEN not in str(e.value) and "404" in str(e.value)
    # the metadata is there but a VIB is gone: the task fails naming the VIB, token-free
    os.unlink(os.path.join(token_server.root, TOKEN, "fling", "vib20", "vmkusb-nic-fling", "%s.vib" % V_U3))
    with pytest.raises(DepotFetchError) as e:
        build_depot(params(tmp_path / "d", [token_server.url_for("%s/fling/index.xml" % TOKEN)]))
    assert TOKEN not in str(e.value) and "404" in str(e.value) and V_U3 in str(e.value.source)
    assert not any(n.endswith(".vib") for n in files_of(tmp_path / "d"))
    shutil.rmtree(str(tmp_path / "d"), ignore_errors=True)


@pytest.mark.network
def test_token_placeholder(tmp_path, token_server):
    url = token_server.url_for("{token}/fling/index.xml")
    with pytest.raises(InputError, match="download_token is not set"):
        build_depot(params(tmp_path / "d", [url]))
    res = build_depot(params(tmp_path / "d", [url], download_token=TOKEN))
    assert res["bulletins"] == [B_U3]
    assert TOKEN not in json.dumps(res)
    manifest = (tmp_path / "d" / MANIFEST).read_text()
    assert TOKEN not in manifest and "/********/fling/index.xml" in manifest


def test_concurrent_builds_of_one_folder_run_one_at_a_time(tmp_path):
    """Four builders of one folder at once (AWX slices): serialised by the folder's lock, every one succeeds,
    the folder ends complete, and only the first one writes anything."""
    import threading
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import build as _build
    dest = tmp_path / "depot"
    inside = []
    overlap = []
    real = _build._build_depot

    def spy(params, check_mode=False):
        inside.append(1)
        if len(inside) > 1:
            overlap.append(1)
        try:
            return real(params, check_mode)
        finally:
            inside.pop()
    results = []
    orig = _build._build_depot
    _build._build_depot = spy
    try:
        threads = [threading.Thread(target=lambda: results.append(_build.build_depot(params(dest, [FLING_U2]))))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        _build._build_depot = orig
    assert len(results) == 4 and not overlap
    assert sum(1 for r in results if r["changed"]) == 1
    assert os.path.isfile(str(dest / "index.xml"))
    assert oct(os.stat(str(tmp_path / ".depot.depot-build.lock")).st_mode & 0o777) == "0o600"
