# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers of the vSphere client: xmlResult summary, relation mapping, SoftwarePackage -> Vib,
PatchManager status records, datastore paths, TLS context, service-version negotiation."""

from __future__ import annotations

import datetime
import os
import ssl

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Relation, Vib
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import datastore as dsm
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import convert as vs

DATA = os.path.join(os.path.dirname(__file__), "data")


def load(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return f.read()


# ---- xmlResult ----------------------------------------------------------------------------------------

def test_xml_result_scan_errors_and_vibs():
    out = vs.parse_xml_result(load("xml_result_scan.xml"))
    assert out["root"] == "esxupdate-response" and out["parse_error"] is None
    assert len(out["errors"]) == 1
    err = out["errors"][0]
    assert err["error_class"] == "MetadataDownloadError"
    assert err["message"].startswith("Could not download from depot at http://depot.example/index.xml")
    assert err["fields"]["errorCode"] == "7"
    assert [v["id"] for v in out["vibs"]] == ["VMware_bootbank_esx-base_8.0.3-0.0.24022510"]
    assert out["vibs"][0]["postInstall"] == {"rebootRequired": "true", "hostdRestart": "false"}
    # a VIB's own rebootRequired is not the operation's
    assert out["reboot_required"] is None and out["messages"] == []


def test_xml_result_install_operation():
    out = vs.parse_xml_result(load("xml_result_install.xml"))
    assert out["reboot_required"] is True
    assert out["added_vibs"] == ["VMware_bootbank_esx-base_8.0.3-0.0.24022510",
                                 "VMware_bootbank_esx-ui_2.14.0-23780658"]
    assert out["removed_vibs"] == ["VMware_bootbank_esx-base_8.0.2-0.0.22380479"] and out["skipped_vibs"] == []
    assert out["messages"][0].startswith("The update completed successfully")


def test_xml_result_unknown_schema_still_yields_errors_and_messages():
    out = vs.parse_xml_result(load("xml_result_other.xml"))
    assert out["root"] == "result"
    assert out["messages"] == ["Host was not updated, no changes required."]
    assert out["errors"][0]["error_class"] == "DependencyError"
    assert out["errors"][0]["message"] == "VIB foo requires bar >= 2.0"
    assert out["errors"][0]["fields"]["extra"] == {"nested": "x"}


@pytest.mark.parametrize("text,err", [
    ("", None), (None, None), ("not xml at all", "not well-formed"),
    ('<!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>', "DTD or entities"),
])
def test_xml_result_never_raises(text, err):
    out = vs.parse_xml_result(text)
    assert out["errors"] == [] and out["vibs"] == []
    if err:
        assert err in out["parse_error"]
    else:
        assert out["parse_error"] is None


# ---- relations, packages, status --------------------------------------------------------------------------

@pytest.mark.parametrize("api,rel", [("equals", "="), ("lessThan", "<<"), ("lessThanEqual", "<="),
                                     ("greaterThanEqual", ">="), ("greaterThan", ">>"), (">=", ">="), (None, None)])
def test_map_relation(api, rel):
    assert vs.map_relation(api) == rel


def test_map_relation_unknown():
    with pytest.raises(ValueError):
        vs.map_relation("approximately")


def _package(**over):
    rec = {
        "name": "esx-base", "version": "8.0.2-0.0.22380479", "type": "bootbank", "vendor": "VMware",
        "acceptanceLevel": "vmware_certified", "summary": "ESXi base system", "description": "d",
        "referenceURL": ["https://kb.example/1"],
        "creationDate": datetime.datetime(2023, 9, 21, tzinfo=datetime.timezone.utc),
        "depends": [{"constraint": "greaterThanEqual", "name": "vsan", "version": "8.0.2-0.0"},
                    {"constraint": "lessThan", "name": "vsan", "version": "8.0.2-0.1"}],
        "conflicts": [{"constraint": "lessThan", "name": "native-misc-drivers", "version": "6.1.0"}],
        "replaces": [{"constraint": None, "name": "esx-tboot", "version": None}],
        "provides": ["esx-version = 8.0.2-0.0.22380479", "vmkapi_2_12_0_0"],
        "maintenanceModeRequired": True, "hardwarePlatformsRequired": [],
        "capability": {"liveInstallAllowed": False, "liveRemoveAllowed": False, "statelessReady": True,
                       "overlay": False},
        "tag": ["module"], "payload": ["s", "sb"],
    }
    rec.update(over)
    return rec


def test_package_record_to_vib():
    v = vs.package_record_to_vib(_package())
    assert isinstance(v, Vib)
    assert v.id == "VMware_bootbank_esx-base_8.0.2-0.0.22380479" == Vib.make_id("VMware", "bootbank", "esx-base",
                                                                                 "8.0.2-0.0.22380479")
    assert v.acceptance_level == "certified"
    assert v.depends == (Relation("vsan", ">=", "8.0.2-0.0"), Relation("vsan", "<<", "8.0.2-0.1"))
    assert v.conflicts == (Relation("native-misc-drivers", "<<", "6.1.0"),)
    assert v.replaces == (Relation("esx-tboot"),)
    assert [(p.name, p.version) for p in v.provides] == [("esx-version", "8.0.2-0.0.22380479"),
                                                         ("vmkapi_2_12_0_0", None)]
    assert v.stateless_ready and v.maintenance_mode_required and not v.live_install_allowed
    assert v.release_date == "2023-09-21T00:00:00+00:00"
    d = vs.package_record_dict(_package())
    assert d["creation_date"] == "2023-09-21T00:00:00+00:00" and d["reference_urls"] == ["https://kb.example/1"]
    assert d["depends"][0] == {"name": "vsan", "relation": ">=", "version": "8.0.2-0.0"}
    assert [p["name"] for p in d["payloads"]] == ["s", "sb"]


@pytest.mark.parametrize("api,ours", [("vmware_certified", "certified"), ("vmware_accepted", "accepted"),
                                      ("partner", "partner"), ("community", "community")])
def test_package_acceptance_levels(api, ours):
    assert vs.package_record_to_vib(_package(acceptanceLevel=api)).acceptance_level == ours
    assert vs.api_acceptance_name(ours) == api
    assert vs.normalize_api_acceptance(api) == ours


def test_package_tools_type_is_locker_vib():
    v = vs.package_record_to_vib(_package(name="tools-light", version="12.2.6.22229486-22380479", type="tools"))
    assert v.type == "locker" and v.id == "VMware_locker_tools-light_12.2.6.22229486-22380479"


def test_package_missing_optional_fields():
    v = vs.package_record_to_vib({"name": "x", "version": "1", "vendor": "V", "type": None, "acceptanceLevel": None,
                                  "maintenanceModeRequired": None})
    assert v.id == "V_bootbank_x_1" and v.acceptance_level == "community" and v.maintenance_mode_required
    with pytest.raises(InputError):
        vs.api_acceptance_name("trusted")


def test_patch_status_dict():
    st = {"id": "ESXi80U3-24022510", "applicable": True, "installed": False, "reason": ["missingPatch"],
          "integrity": "validated", "installState": [], "restartRequired": True, "reconnectRequired": False,
          "vmOffRequired": True, "supersededPatchIds": ["ESXi80U2-1"],
          "prerequisitePatch": [{"id": "p1", "installState": ["hostRestarted"]}]}
    assert vs.patch_status_dict(st) == {
        "id": "ESXi80U3-24022510", "applicable": True, "installed": False, "reason": ["missingPatch"],
        "integrity": "validated", "install_state": [], "restart_required": True, "reconnect_required": False,
        "vm_off_required": True, "superseded_patch_ids": ["ESXi80U2-1"],
        "prerequisite_patch": [{"id": "p1", "install_state": ["hostRestarted"]}]}
    empty = vs.patch_status_dict({"id": "x"})
    assert empty["reason"] == [] and empty["applicable"] is False and empty["prerequisite_patch"] == []


# ---- datastore paths, TLS, versions ---------------------------------------------------------------------

def test_datastore_paths():
    assert vs.datastore_uuid("ds:///vmfs/volumes/64872291-989989bc-5cdb-b47af13738aa/") == \
        "64872291-989989bc-5cdb-b47af13738aa"
    assert vs.datastore_uuid("/tmp/x") is None and vs.datastore_uuid(None) is None
    assert dsm.clean_path("/a//b/./c.zip") == "a/b/c.zip"
    assert dsm.clean_path("[datastore1] GuestStore/x") == "GuestStore/x"
    with pytest.raises(InputError):
        dsm.clean_path("a/../../etc")
    assert dsm.ds_path("datastore1", "a/b") == "[datastore1] a/b"
    assert dsm.folder_url("vc:443", "ds 1", "dir/a&b.zip", "Folder/DC 1") == \
        "https://vc:443/folder/dir/a%26b.zip?dcPath=Folder%2FDC%201&dsName=ds%201"
    assert dsm.gueststore_url("ds:///vmfs/volumes/abc/", "/GuestStore/") == "ds:///vmfs/volumes/abc/GuestStore"
    assert dsm.gueststore_url("ds:///vmfs/volumes/abc", "gs") == "ds:///vmfs/volumes/abc/gs"


def test_ssl_context(tmp_path, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    ctx = vs.build_ssl_context(validate_certs=False)
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    ctx = vs.build_ssl_context(validate_certs=True)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    with pytest.raises(InputError, match="cannot load the CA bundle"):
        vs.build_ssl_context(True, ca_path=str(tmp_path / "missing.pem"))
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bad))
    with pytest.raises(InputError):
        vs.build_ssl_context(True)


def test_service_versions_parse():
    doc = ('<?xml version="1.0" encoding="UTF-8"?><namespaces version="1.0"><namespace><name>urn:vim25</name>'
           '<version>8.0.3.0</version><priorVersions><version>8.0.2.0</version><version>6.5</version>'
           '</priorVersions></namespace><namespace><name>urn:other</name><version>99</version></namespace>'
           '</namespaces>')
    assert vs._parse_service_versions(doc.encode()) == {"8.0.3.0", "8.0.2.0", "6.5"}
    assert vs._parse_service_versions(b"<html>") == set()
    assert vs._parse_service_versions(b'<!DOCTYPE x [<!ENTITY a "b">]><namespaces/>') == set()
