# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure esxcli helpers: generic document parsing, faults, argument building, record normalisation.

Documents in ``data/`` carry field names and values of real esxcli captures (see data/SOURCES.md)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError, VSphereError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Relation
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import esxcli as ec

DATA = os.path.join(os.path.dirname(__file__), "data")
HEAD = ('<obj xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns="urn:vim25" versionId="5.0" xsi:type="%s">')


def load(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return f.read()


# ---- parse_document -------------------------------------------------------------------------------

def test_array_of_data_objects_with_repeated_field():
    # govmomi fixture values (real ESXi capture): Networks repeats for "foo"
    out = ec.parse_document(load("network_vm_list.xml"))
    assert out == [
        {"Name": "foo", "Networks": ["VM Network", "dougm"], "NumPorts": "2", "WorldID": "98842"},
        {"Name": "bar", "Networks": "VM Network", "NumPorts": "1", "WorldID": "236235"},
    ]
    assert ec.as_list(out[1]["Networks"]) == ["VM Network"]


def test_single_structure():
    assert ec.parse_document(load("system_hostname_get.xml")) == {
        "DomainName": "localdomain", "FullyQualifiedDomainName": "esxbox.localdomain", "HostName": "esxbox"}


@pytest.mark.parametrize("xsd,text,expected", [
    ("xsd:boolean", "true", True), ("xsd:boolean", "false", False), ("xsd:boolean", "1", True),
    ("xsd:long", "12345678901", 12345678901), ("xsd:int", " 7 ", 7), ("xsd:string", "PartnerSupported",
                                                                       "PartnerSupported"),
    ("xsd:string", "", ""), ("xsd:double", "1.5", 1.5), ("xsd:dateTime", "2024-01-01T00:00:00Z",
                                                           "2024-01-01T00:00:00Z"),
    ("xsd:long", "n/a", "n/a"),
])
def test_scalars(xsd, text, expected):
    assert ec.parse_document(HEAD % xsd + text + "</obj>") == expected


def test_nested_structures_and_typed_arrays_and_unknown_types():
    doc = (HEAD % "VimEsxCLIsomethingnewKind" +
           "<Name>x</Name><Inner xsi:type=\"VimEsxCLIInner\"><A>1</A><B>2</B><B>3</B></Inner>"
           "<Empty></Empty><EmptyStruct xsi:type=\"VimEsxCLIX\"/>"
           "<Strings xsi:type=\"ArrayOfString\"><string>a</string><string>b</string></Strings>"
           "<Flag xsi:type=\"xsd:boolean\">false</Flag>"
           "<List xsi:type=\"ArrayOfDataObject\"><DataObject xsi:type=\"T\"><K>v1</K></DataObject>"
           "<DataObject xsi:type=\"T\"><K>v2</K><Deep><Z>z</Z></Deep></DataObject></List></obj>")
    assert ec.parse_document(doc) == {
        "Name": "x", "Inner": {"A": "1", "B": ["2", "3"]}, "Empty": "", "EmptyStruct": {},
        "Strings": ["a", "b"], "Flag": False,
        "List": [{"K": "v1"}, {"K": "v2", "Deep": {"Z": "z"}}]}


def test_empty_array_and_empty_document():
    assert ec.parse_document(HEAD % "ArrayOfDataObject" + "</obj>") == []
    assert ec.parse_document("") is None
    assert ec.parse_document(None) is None
    assert ec.parse_document(HEAD % "VimEsxCLIx" + "</obj>") == {}


def test_escaped_values_round_trip():
    doc = HEAD % "VimEsxCLIx" + "<URL>ds:///vmfs/volumes/a/b&amp;c&lt;d&gt;</URL></obj>"
    assert ec.parse_document(doc) == {"URL": "ds:///vmfs/volumes/a/b&c<d>"}


@pytest.mark.parametrize("doc", [
    '<!DOCTYPE obj [<!ENTITY x "boom">]><obj>&x;</obj>',
    '<?xml version="1.0"?><!doctype obj SYSTEM "http://evil/x.dtd"><obj/>',
    '<obj><!ENTITY x SYSTEM "file:///etc/passwd"></obj>',
])
def test_dtd_and_entities_refused(doc):
    with pytest.raises(VSphereError, match="esxcli response (refused: XML with a DOCTYPE or ENTITY|is not well-formed)"):
        ec.parse_document(doc)


def test_malformed_and_oversize():
    with pytest.raises(VSphereError, match="not well-formed"):
        ec.parse_document("<obj><a></obj>")
    with pytest.raises(VSphereError, match="exceeds the limit"):
        ec.safe_fromstring("<obj>" + "x" * (ec.MAX_DOCUMENT_BYTES + 1) + "</obj>")


# ---- faults -----------------------------------------------------------------------------------------

def test_cli_fault_real_errmsg_lines():
    msg, cls = ec.parse_cli_fault("EsxCLI.CLIFault.summary", load("cli_fault_nomatch.xml"))
    assert msg == ("[NoMatchError] No VIB matching VIB search specification 'nosuchvib'. "
                   "Please refer to the log file for more details.")
    assert cls == "NoMatchError"


def test_cli_fault_localized_method_fault_shape():
    msg, cls = ec.parse_cli_fault("EsxCLI.CLIFault.summary", load("cli_fault_localized.xml"))
    assert msg == "[NoMatchError] id=nosuchvib" and cls == "NoMatchError"


def test_cli_fault_without_detail_or_with_garbage():
    assert ec.parse_cli_fault("The object or item referred to could not be found.", None) == (
        "The object or item referred to could not be found.", None)
    msg, cls = ec.parse_cli_fault("x", "<not-xml [InstallationError] broken")
    assert "[InstallationError] broken" in msg and cls == "InstallationError"
    msg, _ = ec.parse_cli_fault("summary", '<!DOCTYPE a [<!ENTITY e "EXPANDED">]><a>&e;</a>')
    assert "EXPANDED" not in msg  # the entity is never expanded
    msg, cls = ec.parse_cli_fault("s", "<obj><other>Invalid data constraint for parameter 'level'.</other></obj>")
    assert msg == "Invalid data constraint for parameter 'level'." and cls is None


# ---- requests ---------------------------------------------------------------------------------------

def test_command_parts():
    assert ec.command_parts("software vib list") == ("ha-cli-handler-software-vib", "vim.EsxCLI.software.vib.list")
    assert ec.command_parts("system settings gueststore repository set") == (
        "ha-cli-handler-system-settings-gueststore-repository",
        "vim.EsxCLI.system.settings.gueststore.repository.set")
    assert ec.command_parts(["system", "maintenanceMode", "get"])[1] == "vim.EsxCLI.system.maintenanceMode.get"
    for bad in ("vib", "software vib; rm", "software ../vib list", ""):
        with pytest.raises(InputError):
            ec.command_parts(bad)


def test_build_arguments_escapes_and_types():
    args = dict(url='ds:///vmfs/volumes/u/a&b<c>"d\'', rebooting_image=True, dryrun=False,
                vibname=["a", "b<"], depot=None, **{"maintenance-mode": True})
    out = dict(ec.build_arguments(args))
    assert out == {
        "url": "<url>ds:///vmfs/volumes/u/a&amp;b&lt;c&gt;\"d'</url>",
        "rebootingimage": "<rebootingimage>true</rebootingimage>",
        "dryrun": "<dryrun>false</dryrun>",
        "vibname": "<vibname>a</vibname><vibname>b&lt;</vibname>",
        "maintenancemode": "<maintenancemode>true</maintenancemode>",
    }
    for name, val in out.items():   # every value is a well-formed element list
        ET.fromstring("<r>%s</r>" % val)
    assert [n for n, _ in ec.build_arguments({"b": 1, "a": 2})] == ["a", "b"]
    with pytest.raises(InputError):
        ec.build_arguments({"bad name": 1})


# ---- records ----------------------------------------------------------------------------------------

def test_vib_records_from_801_dump():
    recs = ec.parse_document(load("software_vib_get_801.xml"))
    ui, gpio = (ec.esxcli_vib_to_vib(r) for r in recs)
    assert ui.id == "VMware_bootbank_esx-ui_2.12.0-21482143" and ui.type == "bootbank"
    assert ui.acceptance_level == "certified"
    assert ui.depends == (Relation("esx-version", ">=", "5.0.0"),)
    assert ui.live_install_allowed and ui.live_remove_allowed and not ui.maintenance_mode_required
    assert ui.install_date == "2023-03-28" and ui.release_date == "2023-03-22"
    assert gpio.depends == (Relation("vmkapi_2_11_0_0"), Relation("vmkapi_incompat_2_11_0_0"))
    assert gpio.tags == ("RestrictStickyFiles", "module", "driver", "sdkname:esx", "sdkversion:8.0.1-21495797")
    assert gpio.maintenance_mode_required and not gpio.live_install_allowed
    assert [p.name for p in gpio.payloads] == ["intelgpi"]
    d = ec.esxcli_vib_dict(recs[1])
    assert d["id"] == "VMW_bootbank_intelgpio_0.1-1vmw.801.0.0.21495797" and d["creation_date"] == "2023-03-25"
    assert d["depends"] == [{"name": "vmkapi_2_11_0_0", "relation": None, "version": None},
                            {"name": "vmkapi_incompat_2_11_0_0", "relation": None, "version": None}]
    assert d["esxcli_platforms"] == ["host"]


def test_vib_record_hponcfg_partner_and_hw_platforms():
    rec = ec.parse_document(load("software_vib_get_hponcfg.xml"))[0]
    v = ec.esxcli_vib_to_vib(rec)
    assert v.id == "Hewlett-Packard_bootbank_hponcfg_03-02.04" and v.acceptance_level == "partner"
    assert v.release_date == "2011-08-09" and v.stateless_ready and not v.maintenance_mode_required
    assert [h["vendor"] for h in v.hw_platforms] == ["HP", "Hewlett-Packard Company", "Hewlett-Packard", "hp"]


def test_vib_list_record_without_type_derives_it_from_id():
    # "software vib list" records carry ID but no Type (8.0.1 SummaryExt)
    v = ec.esxcli_vib_to_vib({"ID": "VMware_locker_tools-light_12.2.6.22229486-22380479", "Name": "tools-light",
                              "Version": "12.2.6.22229486-22380479", "Vendor": "VMware",
                              "AcceptanceLevel": "VMwareCertified", "InstallDate": "2024-01-02"})
    assert v.type == "locker"
    v = ec.esxcli_vib_to_vib({"Name": "x", "Version": "1-1", "Vendor": "V", "AcceptanceLevel": "Odd"})
    assert v.id == "V_bootbank_x_1-1" and v.acceptance_level == "Odd"


@pytest.mark.parametrize("text,expected", [
    ("esx-version >= 5.0.0", Relation("esx-version", ">=", "5.0.0")),
    ("vsan << 8.0.2-0.1", Relation("vsan", "<<", "8.0.2-0.1")),
    ("a = 1.0", Relation("a", "=", "1.0")), ("a<=1", Relation("a", "<=", "1")), ("b >> 2", Relation("b", ">>", "2")),
    ("c < 3", Relation("c", "<<", "3")), ("vmkapi_2_11_0_0", Relation("vmkapi_2_11_0_0")),
])
def test_parse_relation(text, expected):
    assert ec.parse_relation(text) == expected


def test_system_version_and_install_result_and_acceptance():
    data = ec.parse_document(load("system_version_get.xml"))
    assert data["Build"] == "Releasebuild-21930508" and data["Patch"] == "95"
    res = ec.install_result({"Message": "The update completed successfully, but the system needs to be rebooted "
                                        "for the changes to be effective.", "RebootRequired": "true",
                             "VIBsInstalled": ["a", "b"], "VIBsRemoved": "c", "VIBsSkipped": ""})
    assert res["reboot_required"] and res["changed"] and res["vibs_installed"] == ["a", "b"]
    assert res["vibs_removed"] == ["c"] and res["vibs_skipped"] == [] and not res["dryrun"]
    dry = ec.install_result({"Message": "Dryrun only, host not changed. The following installers will be applied: "
                                        "[BootBankInstaller]", "RebootRequired": "true", "VIBsInstalled": "a"})
    assert dry["dryrun"] and not dry["changed"]
    assert ec.install_result(None)["changed"] is False
    assert ec.acceptance_for_esxcli("partner") == "PartnerSupported"
    assert ec.acceptance_for_esxcli("vmware_certified") == "VMwareCertified"
    with pytest.raises(InputError):
        ec.acceptance_for_esxcli("bogus")
