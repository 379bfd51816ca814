# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fast reader of ImageConfigManager answers (_clients/vsphere/fastsoap.py) on hand-written SOAP answers
shaped as vCenter's WSDL names them (``fetchSoftwarePackagesResponse``, ``xsi:type`` present): what it reads must
be what pyVmomi's own deserialiser reads from the same bytes; what it does not know exactly it refuses
(``Unreadable``), so that pyVmomi reads it. The simulator's answers for every image are compared in
tests/integration/fleet/test_fastsoap.py."""

from __future__ import annotations

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import fastsoap
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.convert import iso
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.image_config import ImageConfigMixin

pyVmomi = pytest.importorskip("pyVmomi")
vim = pyVmomi.vim

ENV = ('<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/'
       'encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/'
       'XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
       '<{method}Response xmlns="urn:vim25">{body}</{method}Response></soapenv:Body></soapenv:Envelope>')

PKG = ('<returnval xsi:type="SoftwarePackage"><name>esx-base</name><version>8.0.2-0.0.22380479</version>'
       '<type>bootbank</type><vendor>VMware</vendor><acceptanceLevel>vmware_certified</acceptanceLevel>'
       '<summary>ESXi &amp; base</summary><description></description>'
       '<referenceURL>https://kb.vmware.com/a</referenceURL><referenceURL>https://kb.vmware.com/b</referenceURL>'
       '<creationDate>2023-09-21T00:00:00.123Z</creationDate>'
       '<depends xsi:type="Relation"><constraint>greaterThanEqual</constraint><name>vmkapi_2_11_0_0</name>'
       '<version>8.0.2-0.0</version></depends><depends><name>esx-xserver</name></depends>'
       '<conflicts><constraint>lessThan</constraint><name>old-driver</name><version>1.0</version></conflicts>'
       '<replaces><name>esx-base</name></replaces>'
       '<provides>esx-base = 8.0.2-0.0.22380479</provides><maintenanceModeRequired>1</maintenanceModeRequired>'
       '<hardwarePlatformsRequired>Dell</hardwarePlatformsRequired>'
       '<capability xsi:type="SoftwarePackageCapability"><liveInstallAllowed>false</liveInstallAllowed>'
       '<liveRemoveAllowed>0</liveRemoveAllowed><statelessReady>true</statelessReady></capability>'
       '<tag>core</tag><payload>s</payload><payload>sb</payload></returnval>')
TOOLS = ('<returnval><name>tools-light</name><version>12.2.6.22229486-22380479</version><type>tools</type>'
         '<vendor>VMware</vendor><acceptanceLevel>vmware_certified</acceptanceLevel>'
         '<creationDate>2023-09-21T12:00:00+02:00</creationDate></returnval>')


def _pyvmomi(method, xml):
    icm = vim.host.ImageConfigManager("imageConfigManager-1", None)
    return fastsoap.pyvmomi_read(None, icm._GetMethodInfo(method), xml.encode("utf-8"))


def _env(method, body):
    return ENV.format(method=method, body=body)


def test_packages_as_pyvmomi_reads_them():
    xml = _env("fetchSoftwarePackages", PKG + TOOLS)
    fast = fastsoap.read_packages(xml.encode("utf-8"))
    assert fast == ImageConfigMixin._package_records(_pyvmomi("FetchSoftwarePackages", xml))
    base, tools = fast
    assert base["summary"] == "ESXi & base" and base["description"] == ""
    assert base["creationDate"] == "2023-09-21T00:00:00.123000+00:00"
    assert base["depends"][1] == {"constraint": None, "name": "esx-xserver", "version": None}
    assert base["capability"] == {"liveInstallAllowed": False, "liveRemoveAllowed": False, "statelessReady": True,
                                  "overlay": None}
    assert base["maintenanceModeRequired"] is True and base["payload"] == ["s", "sb"]
    # a required string the answer leaves out is "" as in pyVmomi; an optional one None
    assert tools["capability"] == {} and tools["summary"] == "" and tools["maintenanceModeRequired"] is None
    assert tools["creationDate"] == "2023-09-21T12:00:00+02:00"


def test_no_packages():
    xml = _env("fetchSoftwarePackages", "")
    assert fastsoap.read_packages(xml.encode()) == [] == \
        ImageConfigMixin._package_records(_pyvmomi("FetchSoftwarePackages", xml))


def test_small_answers_as_pyvmomi_reads_them():
    prof = _env("HostImageConfigGetProfile", '<returnval xsi:type="HostImageProfileSummary"><name>ESXi-8.0U2-22380479-'
                'standard</name><vendor>VMware, Inc.</vendor></returnval>')
    obj = _pyvmomi("QueryHostImageProfile", prof)
    assert fastsoap.read_profile(prof.encode()) == {"name": obj.name, "vendor": obj.vendor}
    date = _env("installDate", '<returnval xsi:type="xsd:dateTime">2023-09-21T12:00:00Z</returnval>')
    assert fastsoap.read_date(date.encode()) == iso(_pyvmomi("InstallDate", date)) == "2023-09-21T12:00:00+00:00"
    acc = _env("HostImageConfigGetAcceptance", '<returnval xsi:type="xsd:string">partner</returnval>')
    assert fastsoap.read_string(acc.encode()) == _pyvmomi("QueryHostAcceptanceLevel", acc) == "partner"


@pytest.mark.parametrize("body", [
    PKG.replace("<tag>core</tag>", "<newField>x</newField>"),                 # a field of a newer API
    PKG.replace("<type>bootbank</type>", "<type>firmware</type>"),            # an enum value pyVmomi lacks
    PKG.replace("<constraint>lessThan</constraint>", "<constraint>around</constraint>"),
    PKG.replace("<maintenanceModeRequired>1<", "<maintenanceModeRequired>yes<"),
    PKG.replace("2023-09-21T00:00:00.123Z", "yesterday"),
    PKG.replace('xsi:type="SoftwarePackage"', 'xsi:type="SoftwarePackageExt"'),  # a subtype: pyVmomi's job
    PKG.replace("<name>esx-base</name>", "<name>esx-base</name><name>twice</name>"),
    PKG.replace("<summary>ESXi &amp; base</summary>", "<summary>a<b>b</b></summary>"),
])
def test_anything_unexpected_is_left_to_pyvmomi(body):
    with pytest.raises(fastsoap.Unreadable):
        fastsoap.read_packages(_env("fetchSoftwarePackages", body).encode())


@pytest.mark.parametrize("xml", [
    b"not xml at all",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',                     # refused, never expanded
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    b'<soapenv:Fault><faultcode>ServerFaultCode</faultcode></soapenv:Fault></soapenv:Body></soapenv:Envelope>',
])
def test_not_an_answer_is_unreadable(xml):
    with pytest.raises(fastsoap.Unreadable):
        fastsoap.read_packages(xml)
    with pytest.raises(fastsoap.Unreadable):
        fastsoap.read_string(xml)


def test_a_stub_that_is_not_soap_is_called_through_pyvmomi():
    class Mo(object):
        def FetchSoftwarePackages(self):
            return ["answer"]
    assert fastsoap.call(object(), Mo(), "FetchSoftwarePackages", fastsoap.read_packages, len) == 1


PROPS = ('<returnval><objects><obj type="HostSystem">host-17</obj>'
         '<propSet><name>name</name><val xsi:type="xsd:string">esx01</val></propSet>'
         '<propSet><name>summary.config.product</name><val xsi:type="AboutInfo"><name>VMware ESXi</name>'
         '<fullName>VMware ESXi 8.0.2 build-22380479</fullName><vendor>VMware, Inc.</vendor><version>8.0.2</version>'
         '<build>22380479</build><osType>vmnix-x86</osType><productLineId>embeddedEsx</productLineId>'
         '<apiType>HostAgent</apiType><apiVersion>8.0.2.0</apiVersion></val></propSet>'
         '<propSet><name>runtime.bootTime</name><val xsi:type="xsd:dateTime">2026-12-07T05:33:18.948794529Z</val>'
         '</propSet><propSet><name>runtime.connectionState</name><val xsi:type="HostSystemConnectionState">'
         'connected</val></propSet><propSet><name>runtime.inMaintenanceMode</name><val xsi:type="xsd:boolean">'
         'false</val></propSet><propSet><name>configManager.imageConfigManager</name>'
         '<val xsi:type="ManagedObjectReference" type="HostImageConfigManager">imageConfigManager-17</val>'
         '</propSet></objects></returnval>')


def test_properties_as_pyvmomi_reads_them():
    xml = _env("RetrievePropertiesEx", PROPS)
    pc = pyVmomi.vmodl.query.PropertyCollector("propertyCollector", None)
    ref = fastsoap.pyvmomi_read(None, pc._GetMethodInfo("RetrievePropertiesEx"), xml.encode())
    (obj, props), = fastsoap.read_properties(xml.encode())
    oc = ref.objects[0]
    assert (obj._moId, obj._wsdlName) == (oc.obj._moId, "HostSystem")
    want = {p.name: p.val for p in oc.propSet}
    assert set(props) == set(want)
    assert props["runtime.bootTime"] == iso(want["runtime.bootTime"])        # nanoseconds as pyVmomi reads them
    assert props["configManager.imageConfigManager"]._moId == want["configManager.imageConfigManager"]._moId
    prod, ref_prod = props["summary.config.product"], want["summary.config.product"]
    for f in ("name", "fullName", "vendor", "version", "patchLevel", "build", "localeVersion", "productLineId",
              "apiType", "apiVersion", "instanceUuid"):
        assert getattr(prod, f) == getattr(ref_prod, f), f
    for k in ("name", "runtime.connectionState", "runtime.inMaintenanceMode"):
        assert props[k] == want[k]


@pytest.mark.parametrize("body", [
    PROPS.replace("</returnval>", "<token>1</token></returnval>"),             # more pages: pyVmomi continues
    PROPS.replace("</objects>", "<missingSet><path>x</path></missingSet></objects>"),
    PROPS.replace('xsi:type="AboutInfo"', 'xsi:type="HostListSummary"'),
    PROPS.replace(">connected<", ">sleeping<"),
])
def test_unusual_property_answers_are_left_to_pyvmomi(body):
    with pytest.raises(fastsoap.Unreadable):
        fastsoap.read_properties(_env("RetrievePropertiesEx", body).encode())
