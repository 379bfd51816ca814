# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of the GuestStore logic: version rule, URLs, local scan with the 512 MiB rule, manifest, sync plan,
option checks."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._gueststore import gueststore as gs
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError

UUID_URL = "ds:///vmfs/volumes/5f1e0e4a-8d1c9a2e-3c41-0025b5000a01/"


# ---- versions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text,parts", [
    ("7.0.3", (7, 0, 3)), ("7.0.2", (7, 0, 2)), ("6.7.0", (6, 7, 0)), ("8.0", (8, 0, 0)), ("8.0.3 ", (8, 0, 3)),
    ("", None), (None, None), ("ESXi", None)])
def test_parse_esxi_version(text, parts):
    assert gs.parse_esxi_version(text) == parts


def test_version_label():
    assert gs.version_label((7, 0, 2)) == "7.0 Update 2"
    assert gs.version_label((6, 7, 0)) == "6.7"


def test_check_version_below_7u2_is_unsupported_with_a_clear_message():
    r = gs.check_version("6.7.0", "8169922")
    assert r["supported"] is False and r["linux_guests"] is False
    assert "needs ESXi 7.0 Update 2 or later" in r["error"] and "6.7.0 build 8169922" in r["error"]
    r = gs.check_version("7.0.1", "16850804")
    assert r["supported"] is False and "7.0 Update 1" in r["error"]


def test_check_version_7u2_supported_with_linux_warning():
    r = gs.check_version("7.0.2", "17630552")
    assert r["supported"] is True and r["linux_guests"] is False and r["error"] is None
    assert "Windows guests only" in r["warning"] and "11.2.5" in r["warning"]
    assert "7.0 Update 3" in r["warning"] and "11.3.0" in r["warning"]


@pytest.mark.parametrize("version", ["7.0.3", "8.0.0", "8.0.2", "9.0.0"])
def test_check_version_7u3_and_later_supported_without_warning(version):
    r = gs.check_version(version, "1")
    assert r["supported"] and r["linux_guests"] and r["warning"] is None and r["error"] is None


def test_check_version_unreadable():
    r = gs.check_version(None)
    assert r["supported"] is False and "no readable ESXi version" in r["error"]


# ---- URLs --------------------------------------------------------------------------------------
def test_repository_url_from_datastore_url():
    assert gs.repository_url(UUID_URL, "GuestStore") == UUID_URL + "GuestStore"
    assert gs.repository_url(UUID_URL.rstrip("/"), "/a//b/./c/") == UUID_URL + "a/b/c"
    assert gs.repository_url("ds:///vmfs/volumes/vsan:52c1a2b3d4e5f607-1122334455667788/", "gs") == \
        "ds:///vmfs/volumes/vsan:52c1a2b3d4e5f607-1122334455667788/gs"


@pytest.mark.parametrize("ds_url", ["/tmp/esxisim-ds-x", "", None, "ds:///vmfs/volumes/", "https://x/folder"])
def test_repository_url_refuses_other_datastore_urls(ds_url):
    with pytest.raises(InputError) as e:
        gs.repository_url(ds_url, "GuestStore", datastore="ds1")
    assert "datastore ds1" in str(e.value)


@pytest.mark.parametrize("path", ["", "/", ".", "../x", "a/../../b", "[ds1] GuestStore"])
def test_repository_path_refused(path):
    with pytest.raises(InputError):
        gs.repository_url(UUID_URL, path)


def test_parse_repository_url():
    assert gs.parse_repository_url(UUID_URL + "GuestStore/") == {
        "volume": "5f1e0e4a-8d1c9a2e-3c41-0025b5000a01", "path": "GuestStore"}
    for bad in ("http://x/GuestStore", "ds:///vmfs/volumes/abc", "ds:///vmfs/volumes/abc/", "/vmfs/volumes/a/b"):
        with pytest.raises(InputError):
            gs.parse_repository_url(bad)


def test_normalize_url_and_reported_url():
    assert gs.normalize_url(UUID_URL + "GuestStore/") == gs.normalize_url(" " + UUID_URL + "GuestStore")
    assert gs.normalize_url("ds:///vmfs/volumes/a//b/") == "ds:///vmfs/volumes/a/b"
    assert gs.normalize_url(None) == gs.normalize_url("  ") == ""
    assert gs.reported_url(UUID_URL + "G") == UUID_URL + "G"
    assert gs.reported_url("") == gs.reported_url(None) == ""
    assert gs.reported_url("GuestStore repository is not set") == ""


def test_guest_path():
    assert gs.guest_path("tools/setup.exe") == "/tools/setup.exe"


# ---- local scan ----------------------------------------------------------------------------------
def _tree(tmp_path, files):
    for rel, data in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return str(tmp_path)


def test_scan_source_hashes_and_relative_paths(tmp_path):
    src = _tree(tmp_path, {"a.txt": b"hello", "tools/win/setup.exe": b"MZ" * 10, ".hidden": b""})
    files = gs.scan_source(src)
    assert sorted(files) == [".hidden", "a.txt", "tools/win/setup.exe"]
    assert files["a.txt"]["size"] == 5 and files["a.txt"]["sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert files["tools/win/setup.exe"]["local"] == os.path.join(src, "tools", "win", "setup.exe")


def test_scan_source_refuses_files_over_512_mib_by_name_before_hashing(tmp_path):
    src = _tree(tmp_path, {"ok.txt": b"x", "sub/exact.bin": b""})
    with open(os.path.join(src, "sub", "exact.bin"), "r+b") as f:      # exactly 512 MiB is allowed (sparse)
        f.truncate(512 * 1024 * 1024)
    with open(os.path.join(src, "big.iso"), "wb") as f:                  # sparse: nothing big is written
        f.truncate(512 * 1024 * 1024 + 1)
    with pytest.raises(InputError) as e:
        gs.scan_source(src)
    assert "big.iso (536870913 bytes)" in str(e.value) and "exact.bin" not in str(e.value)
    assert "before any upload" in str(e.value)
    assert e.value.to_result()["too_large"] == ["big.iso"]


def test_scan_source_errors(tmp_path):
    with pytest.raises(InputError):
        gs.scan_source(str(tmp_path / "missing"))
    src = _tree(tmp_path, {gs.MANIFEST_NAME: b"{}"})
    with pytest.raises(InputError) as e:
        gs.scan_source(src)
    assert "reserved" in str(e.value)


def test_scan_source_refuses_links_that_leave_src_by_name(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_bytes(b"data")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "ok.txt").write_bytes(b"ok")
    os.symlink("/etc/hostname", str(src / "hostname"))
    os.symlink(str(outside / "f.txt"), str(src / "sub" / "link.txt"))
    os.symlink(str(outside), str(src / "dirlink"))
    os.symlink("../../outside/f.txt", str(src / "sub" / "relative.txt"))
    for follow in (False, True):
        with pytest.raises(InputError) as e:
            gs.scan_source(str(src), follow_links=follow)
        msg = str(e.value)
        assert "outside src" in msg and "before any upload" in msg
        for name in ("hostname", "sub/link.txt", "dirlink", "sub/relative.txt"):
            assert name in msg
        assert sorted(e.value.to_result()["links"]) == ["dirlink", "hostname", "sub/link.txt", "sub/relative.txt"]
        assert "ok.txt" not in msg


def test_scan_source_links_inside_src_only_with_follow_links(tmp_path):
    src = tmp_path / "src"
    (src / "real").mkdir(parents=True)
    (src / "real" / "a.txt").write_bytes(b"a")
    os.symlink("real/a.txt", str(src / "alias.txt"))
    os.symlink("real", str(src / "dir-alias"))
    os.symlink("..", str(src / "real" / "loop"))                # back to src: descended once, no loop
    with pytest.raises(InputError) as e:
        gs.scan_source(str(src))
    assert "set follow_links: true" in str(e.value) and "alias.txt" in str(e.value)
    files = gs.scan_source(str(src), follow_links=True)
    assert sorted(files) == ["alias.txt", "dir-alias/a.txt", "real/a.txt"]
    real = os.path.realpath(str(src / "real" / "a.txt"))
    assert {f["local"] for f in files.values()} == {real}
    assert files["alias.txt"]["sha256"] == hashlib.sha256(b"a").hexdigest()


# ---- manifest ------------------------------------------------------------------------------------
def test_manifest_round_trip_and_bad_input():
    files = {"b": {"size": 1, "sha256": "b" * 64}, "a/x": {"size": 2, "sha256": "a" * 64}}
    data = gs.dump_manifest(files)
    assert json.loads(data)["format"] == 1
    assert gs.load_manifest(data) == (files, None)
    assert gs.load_manifest(None) == ({}, None)
    m, problem = gs.load_manifest(b"{not json")
    assert m == {} and "not valid JSON" in problem
    m, problem = gs.load_manifest(json.dumps({"a": {"size": 1}}))
    assert m == {} and "unknown layout" in problem
    doc = {"format": 1, "files": {"ok": {"size": 1, "sha256": "c" * 64}, "bad": {"size": "1", "sha256": "x"}}}
    assert gs.load_manifest(json.dumps(doc))[0] == {"ok": {"size": 1, "sha256": "c" * 64}}


# ---- sync plan ----------------------------------------------------------------------------------
def _rec(data):
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_plan_first_sync_uploads_everything():
    local = {"a": _rec(b"1"), "d/b": _rec(b"22")}
    plan = gs.plan_sync(local, {}, {}, set())
    assert plan["upload"] == ["a", "d/b"] and plan["unchanged"] == [] and plan["delete"] == []
    assert plan["manifest"] == local


def test_plan_unchanged_needs_manifest_and_datastore_size():
    local = {"a": _rec(b"1"), "b": _rec(b"22"), "c": _rec(b"333")}
    manifest = {"a": _rec(b"1"), "b": _rec(b"22"), "c": _rec(b"xyz")}
    remote = {"a": 1, "b": 5, "c": 3}            # b: size on the datastore differs -> not trusted
    plan = gs.plan_sync(local, manifest, remote)
    assert plan["unchanged"] == ["a"] and plan["upload"] == ["b", "c"]
    # a file missing on the datastore is uploaded although the manifest lists it
    assert gs.plan_sync(local, manifest, {"b": 2})["unchanged"] == ["b"]
    assert gs.plan_sync({"a": _rec(b"1")}, manifest, {})["upload"] == ["a"]


def test_plan_extra_files_kept_or_deleted():
    local = {"keep/a": _rec(b"1")}
    manifest = {"keep/a": _rec(b"1"), "old.txt": _rec(b"old")}
    remote = {"keep/a": 1, "old.txt": 3, "keep/extra": 4, "gone/x/y": 1}
    dirs = {"keep", "gone", "gone/x"}
    plan = gs.plan_sync(local, manifest, remote, dirs, delete_extra=False)
    assert plan["delete"] == [] and plan["keep"] == ["gone/x/y", "keep/extra", "old.txt"]
    assert plan["manifest"] == {"keep/a": _rec(b"1"), "old.txt": _rec(b"old")}
    plan = gs.plan_sync(local, manifest, remote, dirs, delete_extra=True)
    assert plan["delete"] == ["gone", "keep/extra", "old.txt"] and plan["keep"] == []
    assert plan["manifest"] == {"keep/a": _rec(b"1")}


def test_plan_type_conflicts():
    local = {"a": _rec(b"1"), "d/x": _rec(b"2")}
    with pytest.raises(InputError) as e:
        gs.plan_sync(local, {}, {"d": 3}, {"a"})
    assert "a, d" in str(e.value)
    plan = gs.plan_sync(local, {}, {"d": 3}, {"a"}, delete_extra=True)
    assert plan["upload"] == ["a", "d/x"] and plan["delete"] == ["a", "d"]


# ---- options --------------------------------------------------------------------------------------
def test_check_options():
    base = {"state": "present", "cluster_name": "C1"}
    r = gs.check_options(dict(base, datastore="ds1"))
    assert r["path"] == "GuestStore" and r["url"] is None
    r = gs.check_options(dict(base, url=UUID_URL + "GS/"))
    assert r["url"] == UUID_URL + "GS" and r["path"] is None
    for bad in (dict(base), dict(base, url=UUID_URL + "x", datastore="d"), dict(base, url=UUID_URL + "x", src="/x"),
                dict(base, datastore="d", delete_extra=True), dict(base, url="http://x/y"),
                dict(state="absent", datastore="d"), dict(state="absent", delete_extra=True)):
        with pytest.raises(InputError):
            gs.check_options(bad)
    assert gs.check_options({"state": "absent"})["state"] == "absent"
