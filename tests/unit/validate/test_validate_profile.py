# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""validate_profile on real data: VMware's ESXi-6.7.0-8169922-standard profile with its 136 VIB records (read by
the depot engine), the real bundles, and tampered copies of real VIBs."""

from __future__ import annotations

import copy
import dataclasses
import io

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder import validate as V
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import validation as VIO
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot, open_vib
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotError, InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import ImageProfile, Vib
from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder.resolve import VibIndex
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vib_archive import VibArchive

from tests.unit.validate.validate_helpers import (CRL, ESXIMG, ESX_BASE_ID, PROFILE, TRUST, WATCHDOG_VIB, real_bundles,
                              real_vib_files)

LIBATA = "VMW_bootbank_ata-libata-92_3.00.9.2-16vmw.670.0.0.8169922"
NVME67 = "VMW_bootbank_nvme-community_1.0.1.0-1vmw.670.0.0.8169922"
FLING80U3 = "VMW_bootbank_vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077"
GHETTO = "virtuallyGhetto_bootbank_ghettoVCB_1.0.0-0.0.0"


@pytest.fixture(scope="module")
def merged():
    return load_depot([ESXIMG] + real_bundles() + real_vib_files())


def by_type(result, ftype, severity=None):
    return [f for f in result["findings"] if f["type"] == ftype and (severity is None or f["severity"] == severity)]


def dependents_of(depot, vib_id):
    """VIB ids whose parsed depends name the VIB or one of its provides (computed from the records, not _resolve)."""
    target = depot.vibs[vib_id]
    names = {target.name} | {p.name for p in target.provides}
    return sorted(v.id for v in depot.vibs.values() if v.id != vib_id and any(r.name in names for r in v.depends))


# ---- the real profile -----------------------------------------------------------------------------------------
def test_real_vmware_profile_is_valid(esximg_depot):
    r = VIO.validate_profile(esximg_depot, profile=PROFILE)
    assert r["valid"] is True
    assert r["findings"] == [] and r["counts"] == {"error": 0, "warning": 0, "info": 0}
    assert r["profile"]["name"] == PROFILE
    assert r["profile"]["acceptance_level"] == "partner"
    assert len(r["profile"]["vib_ids"]) == 136 and ESX_BASE_ID in r["profile"]["vib_ids"]
    assert r["profile"]["esx_version"] == "6.7.0"
    assert "diff" not in r


def test_real_profile_with_signatures_and_file_paths(esximg_depot):
    r = VIO.validate_profile(esximg_depot, profile=PROFILE, verify_signatures=True, trust_store=TRUST + [CRL],
                           check_file_paths=True, acceptance_level="VMwareCertified")
    assert r["valid"] is True and r["counts"]["error"] == 0 and r["counts"]["warning"] == 0
    sig = r["checks"]["signatures"]
    assert sig["verified"] == 136 and sig["invalid"] == 0 and sig["unsigned"] == 0 and sig["not_checked"] == []
    # every record was signed in 2018 with the 2008 certificate that expired at the end of 2019
    assert len(by_type(r, "expired_signer", "info")) == 136
    assert r["checks"]["file_paths"] == {"checked": 0, "violations": 0}   # all certified
    assert r["profile"]["acceptance_level"] == "certified"


def test_removing_a_vib_others_depend_on_names_each_dependent(esximg_depot):
    expected = dependents_of(esximg_depot, LIBATA)
    assert len(expected) == 17
    r = VIO.validate_profile(esximg_depot, profile=PROFILE, remove_vibs=[LIBATA])
    assert r["valid"] is False
    missing = by_type(r, "missing_dependency", "error")
    assert sorted({f["vib"] for f in missing}) == expected
    for f in missing:
        assert f["related"] == [LIBATA], f      # the depot VIB that would satisfy it
    assert LIBATA not in r["profile"]["vib_ids"] and len(r["profile"]["vib_ids"]) == 135


def test_removing_by_name_and_esx_base(esximg_depot):
    r = VIO.validate_profile(esximg_depot, profile=PROFILE, remove_vibs=["esx-base"])
    missing = by_type(r, "missing_dependency")
    assert sorted({f["vib"] for f in missing}) == dependents_of(esximg_depot, ESX_BASE_ID)
    assert r["profile"]["esx_version"] is None


def test_missing_vib_record(esximg_depot):
    depot = copy.copy(esximg_depot)
    depot.vibs = dict(esximg_depot.vibs)
    del depot.vibs[LIBATA]
    r = VIO.validate_profile(depot, profile=PROFILE)
    assert [f["vib"] for f in by_type(r, "missing_vib", "error")] == [LIBATA]
    assert len({f["vib"] for f in by_type(r, "missing_dependency")}) == 17


def test_conflict_found_in_real_profile_plus_conflicting_vib(esximg_depot):
    # esx-base 6.7 declares "misc-drivers << 5.5.0" as a conflict (real); give the image such a VIB
    depot = copy.copy(esximg_depot)
    depot.vibs = dict(esximg_depot.vibs)
    real = esximg_depot.vibs["VMW_bootbank_misc-drivers_6.7.0-0.0.8169922"]
    old = dataclasses.replace(real, version="5.1.0-0.0.799733",
                              id=Vib.make_id(real.vendor, real.type, real.name, "5.1.0-0.0.799733"))
    depot.vibs[old.id] = old
    r = VIO.validate_profile(depot, profile=PROFILE, add_vibs=[old.id])
    conflicts = by_type(r, "conflict", "error")
    assert [(f["vib"], f["related"]) for f in conflicts] == [(ESX_BASE_ID, [old.id])]
    assert "misc-drivers << 5.5.0" in conflicts[0]["detail"]
    # the explicit add took the place of the 6.7 misc-drivers: said as a downgrade
    repl = by_type(r, "replaced", "info")
    assert [f["vib"] for f in repl] == [real.id] and "downgraded to" in repl[0]["detail"]


def test_duplicate_name_from_vibs_list(merged):
    r = VIO.validate_profile(merged, vibs=[FLING80U3, "VMW_bootbank_vmkusb-nic-fling_1.12-1vmw.800.1.20.64098182"])
    dup = by_type(r, "duplicate_name", "error")
    assert len(dup) == 1 and dup[0]["vib"] == FLING80U3


def test_ghettovcb_on_partner_profile_is_an_acceptance_error(merged):
    # the real esxcli error of lamw/ghettoVCB#307: community VIB vs a partner-level image profile
    r = VIO.validate_profile(merged, profile=PROFILE, add_vibs=["ghettoVCB"])
    errs = by_type(r, "acceptance_level", "error")
    assert [f["vib"] for f in errs] == [V.resolve_refs(merged, VibIndex(merged.vibs.values()), ["ghettoVCB"],
                                                       "x")[0].id]
    ok = VIO.validate_profile(merged, profile=PROFILE, add_vibs=[GHETTO], acceptance_level="CommunitySupported")
    assert by_type(ok, "acceptance_level") == []
    assert GHETTO in ok["profile"]["vib_ids"] and ok["profile"]["acceptance_level"] == "community"


def test_platform_mismatch_and_missing_vmkapi_for_an_8_0_driver_on_6_7(merged):
    r = VIO.validate_profile(merged, profile=PROFILE, add_vibs=[FLING80U3])
    assert [f["vib"] for f in by_type(r, "platform_mismatch", "warning")] == [FLING80U3]
    assert {f["detail"].split(" depends on ")[1].split(",")[0] for f in by_type(r, "missing_dependency")} == \
        {"vmkapi_2_13_0_0", "vmkapi_incompat_2_13_0_0"}
    assert r["valid"] is False


def test_compatible_driver_added_is_valid_and_diffed(merged):
    r = VIO.validate_profile(merged, profile=PROFILE, add_vibs=[NVME67], remove_vibs=["lsu-lsi-lsi-mr3-plugin"],
                           base_profile=PROFILE)
    assert r["valid"] is True, r["findings"]
    d = r["diff"]
    assert d["added"] == [NVME67]
    assert d["removed"] == ["VMware_bootbank_lsu-lsi-lsi-mr3-plugin_1.0.0-12vmw.670.0.0.8169922"]
    assert d["upgraded"] == [] and d["downgraded"] == [] and len(d["unchanged"]) == 135
    assert d["base_profile"] == PROFILE and d["unresolved"] == []


def test_diff_upgrade_and_downgrade_against_a_second_profile(esximg_depot):
    depot = copy.copy(esximg_depot)
    depot.vibs = dict(esximg_depot.vibs)
    depot.profiles = dict(esximg_depot.profiles)
    real = esximg_depot.vibs["VMware_bootbank_esx-ui_1.25.0-7872652"]
    newer = dataclasses.replace(real, version="1.27.1-9046295",
                                id=Vib.make_id(real.vendor, real.type, real.name, "1.27.1-9046295"))
    depot.vibs[newer.id] = newer
    prof = esximg_depot.profiles[PROFILE]
    depot.profiles["update1"] = ImageProfile("update1", prof.creator, prof.acceptance_level,
                                             tuple(i if i != real.id else newer.id for i in prof.vib_ids))
    up = VIO.validate_profile(depot, profile="update1", base_profile=PROFILE)
    assert up["valid"] and up["diff"]["upgraded"] == [{"name": "esx-ui", "from": real.id, "to": newer.id,
                                                       "from_version": real.version,
                                                       "to_version": newer.version}]
    down = VIO.validate_profile(depot, profile=PROFILE, base_profile="update1")
    assert [e["name"] for e in down["diff"]["downgraded"]] == ["esx-ui"]
    assert down["diff"]["added"] == [] and down["diff"]["removed"] == []


# ---- bad input ---------------------------------------------------------------------------------------------------
def test_bad_input_raises_input_error_naming_it(esximg_depot, tmp_path):
    with pytest.raises(InputError, match="ESXi-9-nope.*ESXi-6.7.0-8169922-standard"):
        VIO.validate_profile(esximg_depot, profile="ESXi-9-nope")
    with pytest.raises(InputError, match="VMW_bootbank_nope_1.0"):
        VIO.validate_profile(esximg_depot, vibs=["VMW_bootbank_nope_1.0", "esx-base"])
    with pytest.raises(InputError, match="add_vibs.*nope"):
        VIO.validate_profile(esximg_depot, profile=PROFILE, add_vibs=["nope"])
    with pytest.raises(InputError, match="remove_vibs.*not-there"):
        VIO.validate_profile(esximg_depot, profile=PROFILE, remove_vibs=["not-there"])
    with pytest.raises(InputError, match="exactly one"):
        VIO.validate_profile(esximg_depot, profile=PROFILE, vibs=["esx-base"])
    with pytest.raises(InputError, match="acceptance_level"):
        VIO.validate_profile(esximg_depot, profile=PROFILE, acceptance_level="gold")
    with pytest.raises(InputError, match="trust_store"):
        VIO.validate_profile(esximg_depot, profile=PROFILE, verify_signatures=True)
    with pytest.raises(InputError, match="cannot read .*missing.pem"):
        VIO.validate_profile(esximg_depot, profile=PROFILE, verify_signatures=True,
                           trust_store=[str(tmp_path / "missing.pem")])
    with pytest.raises(InputError, match="base_profile"):
        VIO.validate_profile(esximg_depot, profile=PROFILE, base_profile="other")


def test_vibs_by_name_and_name_version(esximg_depot):
    r = VIO.validate_profile(esximg_depot, vibs=["esx-base", "vsan:6.7.0-0.0.8169922", "vsanhealth"])
    assert r["valid"] is True and r["profile"]["name"] is None
    assert r["profile"]["acceptance_level"] == "certified"     # lowest level of the set, no minimum given


# ---- content checks on real VIBs and tampered copies -------------------------------------------------------------
def _copy_vib(depot, pattern, tmp_path, mutate=None):
    vid, ref = [(v, r) for v, r in sorted(depot.vib_files.items()) if pattern in v][0]
    arch = open_vib(ref)
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder.vib_checks import _raw_archive_stream
    fh, owns = _raw_archive_stream(arch)
    data = fh.read()
    if owns:
        fh.close()
    if mutate:
        data = mutate(data, VibArchive(io.BytesIO(data)))
    out = tmp_path / ("%s.vib" % vid)
    out.write_bytes(data)
    return vid, str(out)


def test_content_checks_on_all_real_vibs(bundles_depot):
    r = VIO.validate_profile(bundles_depot, vibs=sorted(bundles_depot.vibs), verify_signatures=True,
                           trust_store=TRUST, verify_checksums=True, check_file_paths=True,
                           extensibility_schema=None)
    assert r["checks"]["signatures"]["verified"] == 15 and r["checks"]["signatures"]["invalid"] == 0
    assert r["checks"]["checksums"]["mismatched"] == 0 and r["checks"]["checksums"]["verified"] > 80
    assert r["checks"]["checksums"]["not_verifiable"] == []
    assert by_type(r, "signature_invalid") == [] and by_type(r, "checksum_mismatch") == []
    unsigned = by_type(r, "unsigned")
    assert len(unsigned) == 10 and {f["severity"] for f in unsigned} == {"warning"}   # all community
    fp = {f["vib"] for f in by_type(r, "file_path", "error")}
    assert fp == {"LIFANG_bootbank_hardware-watchdog_0.1-0.1.263547", "Ateb_bootbank_ghettoVCB_6.0.0-0.0.3",
                  GHETTO}
    expired = {f["vib"] for f in by_type(r, "expired_signer", "info")}
    assert expired == {"VMW_bootbank_vmkusb-nic-fling_2.1-6vmw.650.2.50.39176435",
                       "VMW_bootbank_vmkusb-nic-fling_2.1-6vmw.670.2.48.39203948"}


def test_watchdog_vib_file_path_finding_with_vmware_schema():
    from tests.unit.validate.validate_helpers import EXT_RNG
    depot = load_depot(WATCHDOG_VIB)
    r = VIO.validate_profile(depot, vibs=["hardware-watchdog"], check_file_paths=True, extensibility_schema=EXT_RNG)
    fp = by_type(r, "file_path", "error")
    assert [f["detail"].split(" installs ")[1].split(",")[0] for f in fp] == [
        "bin/ipmitool_wd", "etc/rc.local.d/hardware_watchdog_keepalive"]
    assert r["valid"] is False and r["checks"]["file_paths"] == {"checked": 1, "violations": 1}


def test_changed_descriptor_byte_is_signature_invalid(bundles_depot, tmp_path):
    def flip(data, arch):
        desc = arch.descriptor_bytes
        i = desc.index(b"<summary>") + len(b"<summary>")
        bad = desc[:i] + bytes([desc[i] ^ 0x01]) + desc[i + 1:]
        return data.replace(desc, bad)

    vid, path = _copy_vib(bundles_depot, "1.14-1vmw.803", tmp_path, flip)
    depot = load_depot(path)
    r = VIO.validate_profile(depot, vibs=[vid], verify_signatures=True, trust_store=TRUST)
    bad = by_type(r, "signature_invalid", "error")
    assert [f["vib"] for f in bad] == [vid] and "digest mismatch" in bad[0]["detail"]
    assert r["valid"] is False


def test_flipped_payload_byte_is_checksum_mismatch_naming_payload(bundles_depot, tmp_path):
    def flip(data, arch):
        name = arch.payload_names[0]
        payload = arch.read(name)
        off = data.index(payload) + len(payload) // 3
        return data[:off] + bytes([data[off] ^ 0x55]) + data[off + 1:]

    vid, path = _copy_vib(bundles_depot, "1.15-1vmw.900", tmp_path, flip)
    depot = load_depot(path)
    r = VIO.validate_profile(depot, vibs=[vid], verify_checksums=True, verify_signatures=True, trust_store=TRUST)
    mism = by_type(r, "checksum_mismatch", "error")
    assert mism and all("payload vmkusb-n " in f["detail"] for f in mism)
    # the descriptor is untouched: the signature still verifies, only the payload is caught
    assert by_type(r, "signature_invalid") == [] and r["checks"]["signatures"]["verified"] == 1


def test_vib_level_checksum_mismatch_against_depot_metadata(bundles_depot, tmp_path):
    vid, path = _copy_vib(bundles_depot, "1.14-1vmw.803", tmp_path,
                          lambda data, arch: data.replace(b"RestrictStickyFiles", b"RestrictStickyFilez"))
    depot = copy.copy(bundles_depot)
    depot.vib_files = dict(bundles_depot.vib_files)
    depot.vib_files[vid] = path
    r = VIO.validate_profile(depot, vibs=[vid], verify_checksums=True)
    mism = by_type(r, "checksum_mismatch")
    assert len(mism) == 1 and "the .vib file" in mism[0]["detail"]


def test_corrupt_vib_is_a_depot_error(bundles_depot, tmp_path):
    vid, path = _copy_vib(bundles_depot, "1.14-1vmw.803", tmp_path)
    with open(path, "rb") as fh:
        data = fh.read()
    depot = copy.copy(bundles_depot)
    depot.vib_files = dict(bundles_depot.vib_files)
    broken = tmp_path / "broken.vib"
    broken.write_bytes(data[:len(data) // 2])
    depot.vib_files[vid] = str(broken)
    with pytest.raises(DepotError) as e:
        VIO.validate_profile(depot, vibs=[vid], verify_checksums=True)
    assert "broken.vib" in str(e.value)


# ---- fail_on ------------------------------------------------------------------------------------------------------
def test_fail_on_levels(esximg_depot, merged):
    good = VIO.validate_profile(esximg_depot, profile=PROFILE)
    bad = VIO.validate_profile(esximg_depot, profile=PROFILE, remove_vibs=[LIBATA])
    warn = VIO.validate_profile(merged, vibs=[GHETTO], verify_signatures=True, trust_store=TRUST)
    assert warn["valid"] and warn["counts"]["warning"] == 1
    assert not V.should_fail(good, "error") and not V.should_fail(good, "warning")
    assert V.should_fail(bad, "error") and not V.should_fail(bad, "never")
    assert not V.should_fail(warn, "error") and V.should_fail(warn, "warning")
    with pytest.raises(InputError):
        V.should_fail(good, "sometimes")
    with pytest.raises(V.ProfileInvalidError) as e:
        V.check_fail_on(bad, "error")
    assert "17 error(s)" in str(e.value) and "missing_dependency" in str(e.value)
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import failure_result
    failed = failure_result(e.value)
    assert failed["valid"] is False and failed["error_kind"] == "validation"
    assert len(failed["findings"]) == 17 and failed["msg"] == str(e.value)


def test_finding_type_catalogue():
    # the documented finding types (each has its own test above)
    assert set(V.FINDING_TYPES) == {"missing_dependency", "conflict", "duplicate_name", "replaced",
                                    "acceptance_level", "platform_mismatch", "missing_vib", "unsigned",
                                    "signature_invalid", "expired_signer", "checksum_mismatch", "file_path"}
