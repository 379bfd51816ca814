# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_vib_checks: payload checksums of every real VIB (gzip and ESXi 9 zstd), flipped bytes, and VMware's
file-path (extensibility) rules on the real watchdog VIB."""

from __future__ import annotations

import io

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder import vib_checks as C
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.parse import parse_vib
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import open_vib
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.validation import read_schema
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Checksum, Payload
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vib_archive import VibArchive

from tests.unit.validate.validate_helpers import EXT_RNG, WATCHDOG_VIB, mkvib, real_bundles


def _archive_bytes(ref):
    arch = open_vib(ref)
    fh, owns = C._raw_archive_stream(arch)
    try:
        return fh.read()
    finally:
        if owns:
            fh.close()


def _checks(arch):
    inner = parse_vib(arch.descriptor_bytes)
    return inner, C.verify_payloads(arch, inner.payloads, inner.id)


def test_every_real_vib_payload_checksum_verifies(bundles_depot):
    seen_types = set()
    for vid, ref in sorted(bundles_depot.vib_files.items()):
        arch = open_vib(ref)
        inner, checks = _checks(arch)
        assert checks, vid
        for c in checks:
            assert c.status == "ok", (vid, c.to_dict())
            seen_types.add((c.checksum_type, c.verify_process))
        vib = bundles_depot.vibs[vid]
        if vib.checksum is not None:
            assert C.verify_archive_file(arch, vib.checksum, vid).status == "ok", vid
    assert seen_types >= {("sha-256", None), ("sha-1", "gunzip"), ("sha-256", "gunzip"), ("sha-256-gunzip1", None)}


def _vzstd_ref(depot):
    return [ref for vid, ref in depot.vib_files.items() if "1.15-1vmw.900" in vid][0]


def test_zstd_payload_checksums_cover_three_layers(bundles_depot):
    arch = open_vib(_vzstd_ref(bundles_depot))
    inner, checks = _checks(arch)
    assert inner.payloads[0].type == "vzstd" and inner.payloads[0].compression_option == "level=18"
    got = {(c.checksum_type, c.verify_process): c.status for c in checks}
    assert got == {("sha-256", "gunzip"): "ok", ("sha-256", None): "ok", ("sha-1", "gunzip"): "ok",
                   ("sha-256-gunzip1", None): "ok"}


def test_zstd_without_zstandard_is_not_verifiable_but_outer_layers_are(bundles_depot, monkeypatch):
    monkeypatch.setattr(C, "HAS_ZSTANDARD", False)
    arch = open_vib(_vzstd_ref(bundles_depot))
    _inner, checks = _checks(arch)
    got = {(c.checksum_type, c.verify_process): c.status for c in checks}
    assert got == {("sha-256", "gunzip"): "not_verifiable", ("sha-256", None): "ok",
                   ("sha-1", "gunzip"): "not_verifiable", ("sha-256-gunzip1", None): "ok"}


def _flip_payload_byte(data, payload_bytes, where=0.5):
    off = data.index(payload_bytes) + int(len(payload_bytes) * where)
    return data[:off] + bytes([data[off] ^ 0xFF]) + data[off + 1:]


@pytest.mark.parametrize("pattern", ["hardware-watchdog", "1.15-1vmw.900", "1.14-1vmw.803"])
def test_flipped_payload_byte_is_detected_and_named(bundles_depot, pattern):
    ref = [r for vid, r in bundles_depot.vib_files.items() if pattern in vid][0]
    data = _archive_bytes(ref)
    arch = VibArchive(io.BytesIO(data))
    name = arch.payload_names[0]
    bad = VibArchive(io.BytesIO(_flip_payload_byte(data, arch.read(name))))
    _inner, checks = _checks(bad)
    raw = [c for c in checks if c.checksum_type == "sha-256" and c.verify_process is None][0]
    assert raw.status == "mismatch" and raw.payload == name and raw.actual != raw.expected
    assert all(c.status == "mismatch" for c in checks)
    assert name in raw.label()


def test_flipped_byte_changes_whole_vib_checksum(bundles_depot):
    vid, ref = [(v, r) for v, r in bundles_depot.vib_files.items() if "hardware-watchdog" not in v
                and bundles_depot.vibs[v].checksum is not None][0]
    data = _archive_bytes(ref)
    arch = VibArchive(io.BytesIO(data))
    bad = VibArchive(io.BytesIO(_flip_payload_byte(data, arch.read(arch.payload_names[0]), 0.9)))
    r = C.verify_archive_file(bad, bundles_depot.vibs[vid].checksum, vid)
    assert r.status == "mismatch" and r.payload is None and "the .vib file" in r.label()


def test_txt_mle_and_unknown_checksums_are_not_verifiable():
    arch = VibArchive(WATCHDOG_VIB)
    p = Payload("hwd", "vgz", checksums=(Checksum("sha-256", "00", "txt-mle"), Checksum("crc-9000", "00")))
    checks = C.verify_payloads(arch, [p], "x")
    assert [c.status for c in checks] == ["not_verifiable", "not_verifiable"]
    assert "measurement" in checks[0].reason


def test_missing_payload_member_and_non_gzip_payload():
    arch = VibArchive(WATCHDOG_VIB)
    gone = Payload("nothere", "vgz", checksums=(Checksum("sha-256", "00"),))
    assert C.verify_payloads(arch, [gone], "x")[0].reason == "payload nothere is not in the .vib"
    # the descriptor member is XML, not gzip: its "gunzip" checksum cannot match
    not_gz = Payload("descriptor.xml", "vgz", checksums=(Checksum("sha-1", "00", "gunzip"),))
    c = C.verify_payloads(arch, [not_gz], "x")[0]
    assert c.status == "mismatch" and "not valid gzip" in c.reason


def test_truncated_gzip_payload_is_a_mismatch(tmp_path):
    import gzip
    import hashlib
    body = gzip.compress(b"A" * 100000)
    cut = body[:len(body) // 2]
    p = Payload("p", "vgz", checksums=(Checksum("sha-1", hashlib.sha1(b"A" * 100000).hexdigest(), "gunzip"),))

    class _Arch(object):
        source = "mem"

        def __contains__(self, name):
            return True

        def open(self, name):
            return io.BytesIO(cut)

    c = C.verify_payloads(_Arch(), [p], "x")[0]
    assert c.status == "mismatch" and "truncated" in c.reason


def test_decompression_cap_stops_bombs():
    import gzip
    body = gzip.compress(b"\0" * (4 * 1024 * 1024))
    p = Payload("p", "vgz", checksums=(Checksum("sha-256", "00", "gunzip"),))

    class _Arch(object):
        source = "mem"

        def __contains__(self, name):
            return True

        def open(self, name):
            return io.BytesIO(body)

    c = C.verify_payloads(_Arch(), [p], "x", max_decompressed=1024 * 1024)[0]
    assert c.status == "mismatch" and "decompresses to more than" in c.reason


# ---- file-path rules -------------------------------------------------------------------------------------------
def test_builtin_rules_equal_vmware_schema():
    real = C.ExtensibilityRules.from_rng(read_schema(EXT_RNG))
    builtin = C.ExtensibilityRules.builtin()
    assert set(real.community_patterns) == set(builtin.community_patterns)
    assert set(real.partner_values) == set(builtin.partner_values)
    assert set(real.partner_patterns) == set(builtin.partner_patterns)


def test_watchdog_vib_violates_extensibility_rules():
    arch = VibArchive(WATCHDOG_VIB)
    vib = parse_vib(arch.descriptor_bytes)
    problems = C.check_file_paths(vib)
    assert [f for f, _d in problems] == ["bin/ipmitool_wd", "etc/rc.local.d/hardware_watchdog_keepalive"]
    # VMware's own schema, validated with lxml RelaxNG on the real descriptor, agrees
    assert C.schema_check(vib, C.load_relaxng(read_schema(EXT_RNG)), arch.descriptor_bytes) is not None
    with_schema = C.check_file_paths(vib, schema=read_schema(EXT_RNG), descriptor_bytes=arch.descriptor_bytes)
    assert [f for f, _d in with_schema] == ["bin/ipmitool_wd", "etc/rc.local.d/hardware_watchdog_keepalive"]


def test_partner_may_use_rc_local_but_not_bin():
    partner = mkvib("p", acceptance="partner", files=["etc/rc.local.d/x.sh", "etc/vmware/oem.xml", "opt/p/bin"])
    assert C.check_file_paths(partner) == []
    assert C.check_file_paths(partner, schema=read_schema(EXT_RNG)) == []
    bad = mkvib("p", acceptance="partner", files=["bin/tool", "opt/p/x"])
    assert [f for f, _ in C.check_file_paths(bad)] == ["bin/tool"]
    assert [f for f, _ in C.check_file_paths(bad, schema=read_schema(EXT_RNG))] == ["bin/tool"]


def test_certified_and_accepted_are_not_restricted():
    for level in ("certified", "accepted"):
        assert C.check_file_paths(mkvib("c", acceptance=level, files=["bin/anything", "sbin/x"])) == []


def test_community_overlay_is_refused():
    v = mkvib("c", acceptance="community", files=["opt/c/x"], overlay=True)
    problems = C.check_file_paths(v)
    assert problems and problems[0][0] is None and "overlay" in problems[0][1]
    assert C.check_file_paths(v, schema=read_schema(EXT_RNG))


def test_compliant_community_vib_passes_schema():
    v = mkvib("c", acceptance="community", files=["opt/c/x", "etc/vmware/firewall/c.xml"])
    assert C.check_file_paths(v) == [] and C.check_file_paths(v, schema=read_schema(EXT_RNG)) == []


def test_bad_schema_path_is_input_error(tmp_path):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
    with pytest.raises(InputError):
        read_schema(str(tmp_path / "missing.rng"))
    other = real_bundles()[0]
    with pytest.raises(InputError):
        C.load_relaxng(read_schema(other))
