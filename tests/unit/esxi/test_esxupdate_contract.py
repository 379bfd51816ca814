# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract: the esxupdate answer templates the simulator renders (sim/esxupdate/*.xml) read as the facts say.

Every template is rendered here with sample values (the same Go text/template subset the simulator uses) and fed to
``_esxi.esxupdate``; the expected outcomes below are written from ../shared/docs/reference/esxi-software-stack-facts.md
("xmlResult", "Results"), not from the templates."""

from __future__ import annotations

import html
import os
import random
import re

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._esxi.esxupdate import (
    esxupdate_result, fault_error, install_summary)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TEMPLATES = os.path.join(ROOT, "sim", "esxupdate")

_ACTION = re.compile(r"{{(.*?)}}")
_RANGE = re.compile(r"{{range \.(\w+)}}(.*?){{end}}", re.S)


def template(name):
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as f:
        return f.read()


def render(name, **values):
    """Render a template with the subset of Go text/template the simulator's templates may use."""
    text = template(name)

    def rng(m):
        return "".join(m.group(2).replace("{{.}}", item) for item in values[m.group(1)])

    text = _RANGE.sub(rng, text)
    return re.sub(r"{{\.(\w+)}}", lambda m: str(values[m.group(1)]), text)


def doc(*parts):
    return render("response.xml", Body="".join(parts))


def esc(s):
    return html.escape(s, quote=True)


# ---- outcomes written from the facts --------------------------------------------------------------------------------
#: class -> (errno, changed, reboot_required, live); successes are 0/80/81/82/83, the rest errors
SUCCESS = {"NeedsRebootResult": (80, True, True, False), "HostdRestartResult": (81, True, False, True),
           "HostNotChanged": (82, False, False, False), "LiveInstallOnlyResult": (83, True, False, True)}
ERRORS = {"MetadataDownloadError": 4, "MetadataFormatError": 5, "VibDownloadError": 7, "VibFormatError": 8,
          "NoMatchError": 13, "DependencyError": 14, "InstallationError": 15, "MaintenanceModeError": 18,
          "AcceptanceConfigError": 33}
#: errors raised before the host is touched: changed False; after a partial change (15) unknown: None
UNCHANGED = {"MetadataDownloadError", "MetadataFormatError", "VibDownloadError", "VibFormatError", "NoMatchError",
             "DependencyError", "MaintenanceModeError", "AcceptanceConfigError"}

SAMPLE = dict(Msgs=[esc("first message with <angle> & 'quotes'"), "second message"],
              Problems=[esc("VIB VMW_bootbank_a_1.0-1 requires b >= 2.0, but the requirement cannot be satisfied "
                            "within the ImageProfile."),
                        "VIBs (VMW_bootbank_a_1.0-1, VMW_bootbank_c_1.0-1) are conflicting with each other",
                        esc("VIB VMW_bootbank_d_1.0-1 is obsoleted by {'VMW_bootbank_d_2.0-1'}")],
              URL=esc("http://127.0.0.1:8080/depot/index.xml?a=1&b=2"), LocalFile="/tmp/x.zip",
              Filename="metadata.zip", ID="VMW_bootbank_zz_1.0-1", Vibs=["VMW_bootbank_a_1.0-1"],
              Class="ValueError", Desc=esc("invalid literal for int() with base 10: 'x'"))


def exit_templates():
    return sorted(n[len("exit-"):-len(".xml")] for n in os.listdir(TEMPLATES) if n.startswith("exit-"))


def test_every_exit_template_has_an_expectation_and_every_fact_a_template():
    names = set(exit_templates())
    assert names == set(SUCCESS) | set(ERRORS) | {"other"}


def test_templates_use_only_the_renderable_subset():
    for name in os.listdir(TEMPLATES):
        if not name.endswith(".xml"):
            continue
        for action in _ACTION.findall(template(name)):
            assert re.fullmatch(r"\.\w*|range \.\w+|end", action), (name, action)
        left = _RANGE.sub("", template(name))
        assert "{{" not in re.sub(r"{{\.\w+}}", "", left), name  # every range closed, nothing nested


def test_plain_success_writes_nothing_and_is_normal_exit():
    d = doc()
    assert d.startswith("<esxupdate-response>\n<version>1.50</version>\n")
    r = esxupdate_result(d)
    assert (r["outcome"], r["code"], r["error"], r["changed"], r["reboot_required"], r["live"]) == \
        ("NormalExit", 0, None, True, False, True)
    s = install_summary({"xml_result": d})
    assert s["changed"] is True and s["reboot_required"] is False and s["error"] is None
    assert (s["installed"], s["removed"], s["skipped"]) == ([], [], [])  # a real answer lists no VIBs


@pytest.mark.parametrize("cls", sorted(SUCCESS))
def test_success_classes_are_not_errors(cls):
    code, changed, reboot, live = SUCCESS[cls]
    r = esxupdate_result(doc(render("exit-%s.xml" % cls, Msgs=[])))
    assert (r["outcome"], r["code"], r["error"]) == (cls, code, None)
    assert (r["changed"], r["reboot_required"], r["live"]) == (changed, reboot, live)
    s = install_summary({"xml_result": doc(render("exit-%s.xml" % cls, Msgs=[]))})
    assert (s["changed"], s["reboot_required"], s["outcome"], s["code"], s["error"]) == (changed, reboot, cls, code,
                                                                                          None)
    assert s["message"]  # the exit state's description


def test_not_changed_texts():
    r = esxupdate_result(doc(render("exit-HostNotChanged.xml", Msgs=["Host is not changed."])))
    assert r["changed"] is False and r["errors"][0]["description"] == "Host was not updated, no changes required."
    assert install_summary({"xml_result": doc(render("exit-HostNotChanged.xml", Msgs=["Host is not changed."]))})[
        "message"] == "Host is not changed."


def test_needs_reboot_with_nothing_changed_is_a_pending_reboot():
    msg = "Host is not changed. Reboot is pending from previous transaction."
    r = esxupdate_result(doc(render("exit-NeedsRebootResult.xml", Msgs=[msg])))
    assert (r["outcome"], r["code"], r["changed"], r["reboot_required"], r["error"]) == \
        ("NeedsRebootResult", 80, False, True, None)


@pytest.mark.parametrize("cls", sorted(ERRORS) + ["other"])
def test_error_classes_with_code_and_every_text(cls):
    d = doc(render("exit-%s.xml" % cls, **SAMPLE))
    r = esxupdate_result(d)
    want_cls = "ValueError" if cls == "other" else cls
    want_code = 99 if cls == "other" else ERRORS[cls]
    assert r["error"]["class"] == want_cls and r["error"]["code"] == want_code
    assert (r["outcome"], r["code"]) == (want_cls, want_code)
    assert r["changed"] is (False if cls in UNCHANGED else None)
    assert r["reboot_required"] is False
    msgs = r["error"]["messages"]
    desc = r["errors"][0]["description"]
    assert desc and msgs[0] == desc  # errorDesc first, then msg/problem texts in document order
    tpl = template("exit-%s.xml" % cls)
    if "<problem>" in tpl:
        assert [html.unescape(p) for p in SAMPLE["Problems"]] == r["errors"][0]["problems"]
        assert "VIBs (VMW_bootbank_a_1.0-1, VMW_bootbank_c_1.0-1) are conflicting with each other" in msgs
    if "<msg>" in tpl:
        assert "first message with <angle> & 'quotes'" in msgs and msgs[-1] == "second message"
    if "<url>" in tpl:
        assert r["errors"][0]["fields"]["url"] == "http://127.0.0.1:8080/depot/index.xml?a=1&b=2"
    s = install_summary({"xml_result": d})
    assert s["error"] == r["error"] and s["changed"] is r["changed"]


def test_dependency_error_real_shape():
    problems = ["VIB VMW_bootbank_vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077 requires vmkapi_2_13_0_0, but the "
                "requirement cannot be satisfied within the ImageProfile."]
    r = esxupdate_result(doc(render("exit-DependencyError.xml", Problems=problems)))
    assert r["error"] == {"class": "DependencyError", "code": 14,
                          "messages": ["Unable to resolve dependencies."] + problems}


# ---- scan records --------------------------------------------------------------------------------------------------
def vib_record(vid, state, mm="True", reboot="True", requires="", conflicts=(), obsoletes=(), failure=""):
    name = vid.split("_")[2]
    version = vid.split("_", 3)[3]
    return render("scan-vib.xml", ID=vid, State=state, Name=name, Version=version, Vendor="VMW",
                  InstallDate="2024-01-01" if state != "uninstalled" else "",
                  MeetsSystemReq="False" if failure else "True",
                  SystemReqFailure=failure, DepsMet="True", Requires=requires, Conflicts=list(conflicts),
                  ConflictsWithHost="False", HostConflicts="", Obsoletes=list(obsoletes), ObsoletesHost="False",
                  HostObsoleted=render("scan-idlist.xml", Tag="hostObsoleted", IDs=["VMW_bootbank_old_0.9-1"]),
                  ObsoletedByHost="False", MaintenanceMode=mm, MaintenanceModeUninstall=mm, RebootRequired=reboot,
                  RebootRequiredUninstall=reboot)


def scan_doc(staged="True", pending="False", check=False, metadata=True):
    req = render("scan-requires.xml", Requirement=esc("vmkapi_2_12_0_0 >= 1.0"),
                 ProvidedBy=render("scan-idlist.xml", Tag="providedBy", IDs=["VMW_bootbank_esx-base_8.0.2-0.0.1"]),
                 ProvidedByHost="True",
                 HostProvides=render("scan-hostprovides.xml", Packages=[
                     render("scan-package.xml", Name="vmkapi_2_12_0_0", Version="")]))
    recs = [vib_record("VMW_bootbank_esx-base_8.0.2-0.0.1", "installed"),
            vib_record("VMW_bootbank_fling_1.12-2vmw", "uninstalled", requires=req,
                       conflicts=["VMW_bootbank_other_1.0-1"], obsoletes=["VMW_bootbank_fling_1.11-1vmw"]),
            vib_record("VMW_bootbank_live_1.0-1", "staged", mm="False", reboot="False",
                       failure=render("scan-sysreqfailure.xml", Text="hardware platform mismatch")),
            vib_record("VMW_bootbank_next_2.0-1", "pending")]
    parts = [render("scan-cache.xml")] if check else []
    parts += recs
    parts.append(render("scan-host.xml", ImagePending=pending, VibStaged=staged))
    if metadata:
        parts.append(render("scan-metadata.xml", Metadata=[render("scan-metadata-url.xml",
                                                                  URL=esc("http://127.0.0.1/d/index.xml"),
                                                                  IDs=["VMW_bootbank_fling_1.12-2vmw"])],
                            Install=render("scan-operation-allowed.xml", Tag="installOperation",
                                           Added=["VMW_bootbank_fling_1.12-2vmw"], Removed=[], Skipped=[]),
                            Uninstall=render("scan-operation-refused.xml", Tag="uninstallOperation", Errno="14",
                                             Errmsg="DependencyError", Related=["VMW_bootbank_esx-base_8.0.2-0.0.1"]),
                            MaintenanceMode="True", RebootRequired="True"))
    return doc(*parts)


def test_scan_records_real_shape():
    r = esxupdate_result(scan_doc())
    assert (r["outcome"], r["code"], r["error"], r["changed"]) == ("NormalExit", 0, None, False)
    by = {v["id"]: v for v in r["vibs"]}
    assert [v["state"] for v in r["vibs"]] == ["installed", "uninstalled", "staged", "pending"]
    f = by["VMW_bootbank_fling_1.12-2vmw"]
    assert (f["name"], f["version"], f["vendor"]) == ("fling", "1.12-2vmw", "VMW")
    assert f["maintenance_mode"] is True and f["reboot_required"] is True and f["hostd_restart"] is False
    assert f["requires"] == [{"requirement": "vmkapi_2_12_0_0 >= 1.0",
                              "provided_by": ["VMW_bootbank_esx-base_8.0.2-0.0.1"], "provided_by_host": True,
                              "host_provides": [{"name": "vmkapi_2_12_0_0", "version": ""}],
                              "installer_depends": None}]
    assert f["conflicts"] == {"vibs": ["VMW_bootbank_other_1.0-1"], "with_host": False, "host": []}
    assert f["obsoletes"]["vibs"] == ["VMW_bootbank_fling_1.11-1vmw"]
    assert f["obsoletes"]["host_obsoleted"] == ["VMW_bootbank_old_0.9-1"]
    assert f["software_platform"] == {"product_line": "embeddedEsx", "version": ""}
    live = by["VMW_bootbank_live_1.0-1"]
    assert live["maintenance_mode"] is False and live["reboot_required"] is False
    assert live["meets_system_requirements"] is False and live["system_requirement_failure"] == \
        "hardware platform mismatch"
    assert r["image_pending"] is False and r["vib_staged"] is True
    assert r["staged_vibs"] == ["VMW_bootbank_live_1.0-1"]
    assert r["metadata"] == [{"url": "http://127.0.0.1/d/index.xml", "vibs": ["VMW_bootbank_fling_1.12-2vmw"]}]
    assert r["install_operation"]["allowed"] is True
    assert r["install_operation"]["added"] == ["VMW_bootbank_fling_1.12-2vmw"]
    assert r["uninstall_operation"]["allowed"] is False and r["uninstall_operation"]["errno"] == "14"
    assert r["uninstall_operation"]["related"] == ["VMW_bootbank_esx-base_8.0.2-0.0.1"]


def test_scan_nothing_staged_image_pending():
    r = esxupdate_result(scan_doc(staged="False", pending="True", metadata=False))
    assert r["vib_staged"] is False and r["image_pending"] is True and r["metadata"] == []


def test_check_form_with_cache_prefix():
    r = esxupdate_result(scan_doc(check=True))
    assert r["cache"] is True and len(r["vibs"]) == 4 and r["error"] is None and r["changed"] is False


def test_scan_tolerates_any_order_lower_case_and_missing_elements():
    from lxml import etree
    root = etree.fromstring(scan_doc().encode())
    rnd = random.Random(7)
    for rec in root.iter("vib-scan-data"):
        kids = list(rec)
        rnd.shuffle(kids)
        rec[:] = kids
    for el in root.iter():
        if el.text in ("True", "False"):
            el.text = el.text.lower()
    for el in list(root.iter("installdate")) + list(root.iter("postUninstall")) + list(root.iter("obsoletes")):
        el.getparent().remove(el)
    kids = list(root)
    rnd.shuffle(kids)
    root[:] = kids
    r = esxupdate_result(etree.tostring(root).decode())
    by = {v["id"]: v for v in r["vibs"]}
    assert by["VMW_bootbank_fling_1.12-2vmw"]["maintenance_mode"] is True
    assert by["VMW_bootbank_live_1.0-1"]["state"] == "staged"
    assert by["VMW_bootbank_fling_1.12-2vmw"]["obsoletes"] is None
    assert by["VMW_bootbank_fling_1.12-2vmw"]["install_date"] is None
    assert r["vib_staged"] is True and r["image_pending"] is False and r["error"] is None


def test_scan_with_metadata_download_error():
    d = doc(render("exit-MetadataDownloadError.xml", URL="http://x/index.xml", LocalFile="",
                   Msgs=["Could not download from depot at http://x/index.xml, skipping"]))
    r = esxupdate_result(d)
    assert r["error"]["class"] == "MetadataDownloadError" and r["error"]["code"] == 4
    assert r["vibs"] == [] and r["changed"] is False


# ---- the simulator's older form and fault texts ------------------------------------------------------------------
LEGACY_INSTALL = ("<esxupdate-response><version>1.50</version><message>The update completed successfully, but the "
                  "system needs to be rebooted for the changes to be effective.</message><installOperation><allowed>"
                  "true</allowed><addedVibs><vibId>A</vibId></addedVibs><removedVibs><vibId>B</vibId></removedVibs>"
                  "<skippedVibs></skippedVibs><maintenanceMode>true</maintenanceMode><rebootRequired>true"
                  "</rebootRequired></installOperation><host-scan-data><imagePending>true</imagePending><vibStaged>"
                  "<vibID>S</vibID></vibStaged></host-scan-data></esxupdate-response>")


def test_older_simulator_form_still_read():
    r = esxupdate_result(LEGACY_INSTALL)
    assert r["form"] == "legacy" and r["changed"] is True and r["reboot_required"] is True
    assert r["vib_staged"] is True and r["staged_vibs"] == ["S"]
    s = install_summary({"xml_result": LEGACY_INSTALL})
    assert s["installed"] == ["A"] and s["removed"] == ["B"] and s["outcome"] == "NeedsRebootResult"
    noop = esxupdate_result("<esxupdate-response><version>1.50</version><message>Host was not updated, no changes "
                            "required.</message></esxupdate-response>")
    assert noop["changed"] is False and noop["code"] == 82


@pytest.mark.parametrize("text,cls,code", [
    ("/usr/sbin/esxupdate returned with exit status: 7", "VibDownloadError", 7),
    ("An error occurred during host configuration: /usr/sbin/esxupdate returned with exit status: 14.",
     "DependencyError", 14),
    ("DependencyError: VIB a requires b, but the requirement cannot be satisfied within the ImageProfile.",
     "DependencyError", 14),
    ("[MaintenanceModeError]\n MaintenanceMode is required to remove: []; install: [a].\n Please refer to the log "
     "file for more details.", "MaintenanceModeError", 18),
])
def test_fault_texts(text, cls, code):
    e = fault_error(text)
    assert e["class"] == cls and e["code"] == code
    assert not any("Please refer" in m for m in e["messages"])


def test_fault_text_with_document_payload():
    d = doc(render("exit-DependencyError.xml", Problems=["VIB a requires b."]))
    e = fault_error("/usr/sbin/esxupdate returned with exit status: 14; " + d)
    assert e == {"class": "DependencyError", "code": 14, "messages": ["Unable to resolve dependencies.",
                                                                      "VIB a requires b."]}
    broken = d.replace("<problemset>", "<problemset")  # e.g. cut apart by a redactor: fall back to the exit status
    assert fault_error("/usr/sbin/esxupdate returned with exit status: 14; " + broken) == \
        {"class": "DependencyError", "code": 14, "messages": []}
    assert fault_error("something else entirely") is None
    assert fault_error("/usr/sbin/esxupdate returned with exit status: 80") is None  # a success


@pytest.mark.parametrize("text", [None, "", "<esxupdate-response>", "<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
                                  "not xml at all"])
def test_bad_documents_never_raise(text):
    r = esxupdate_result(text)
    if text:
        assert r["parse_error"] and r["changed"] is None and r["error"]["class"] == "UnreadableResult"
    else:
        assert r["form"] == "empty" and r["changed"] is None and r["error"] is None
