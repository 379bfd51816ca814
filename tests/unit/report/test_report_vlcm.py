# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One report over both kinds of cluster (issue 12): hosts of an image-managed (vLCM) cluster are compliant or not
by their vLCM compliance (esxi_cluster_image_info results, built here by the production ``compliance_view`` /
``explain`` from a compliance answer validated against VMware's spec, with the real fling bulletin behind a
component); baseline hosts keep the compliance line. Fail closed: without its cluster's compliance an image-managed
host is unknown (error), never compliant. Cluster image records make the record-folder report add up."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest

import tests.unit.report.report_data as rd
from tests.helpers.openapi import spec

from ansible_collections.fleetpatch.esxi.plugins.module_utils._report import report as _report
from ansible_collections.fleetpatch.esxi.plugins.module_utils._report import write as _write
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._vlcm import image as _image
from ansible_collections.fleetpatch.esxi.plugins.module_utils._vlcm.ops import explain

LINE = {"8.0": 24022510, "7.0": 21930508}
B802, B803 = "8.0.2-0.0.22380479", "8.0.3-0.0.24022510"
FLING = "VMware-vmkusb-nic-fling"
FLING_V = "1.14-1vmw.803.0.0.75399077"


def _host_comp(status, base_cur, comp_cur):
    comps = {FLING: {"status": "COMPLIANT" if comp_cur == FLING_V else "NON_COMPLIANT", "notifications": {},
                     "target": {"version": FLING_V}}}
    if comp_cur:
        comps[FLING]["current"] = {"version": comp_cur}
    return {"impact": "NO_IMPACT" if status == "COMPLIANT" else "REBOOT_REQUIRED", "status": status,
            "notifications": {}, "scan_time": "2026-12-07T05:00:00Z", "solutions": {},
            "add_on": {"status": "COMPLIANT", "notifications": {}},
            "base_image": {"status": "COMPLIANT" if base_cur == B803 else "NON_COMPLIANT", "notifications": {},
                           "current": {"version": base_cur}, "target": {"version": B803}},
            "components": comps}


def image_info(cluster="Edge", depot=True, statuses=("COMPLIANT", "NON_COMPLIANT")):
    """An esxi_cluster_image_info result for cluster Edge (hosts esxi-31 compliant, esxi-32 on 8.0.2 without the
    fling), as the module builds it."""
    hosts = {"host-31": _host_comp(statuses[0], B803, FLING_V), "host-32": _host_comp(statuses[1], B802, None)}
    comp = {"impact": "REBOOT_REQUIRED", "status": "NON_COMPLIANT", "notifications": {},
            "scan_time": "2026-12-07T05:00:00Z", "compliant_hosts": ["host-31"], "non_compliant_hosts": ["host-32"],
            "incompatible_hosts": [], "unavailable_hosts": [], "commit": "2", "hosts": hosts,
            "host_info": {"host-31": {"name": "esxi-31.sim.local"}, "host-32": {"name": "esxi-32.sim.local"}}}
    spec().validate(spec().definition("EsxSettingsClusterCompliance"), comp, "compliance")
    view = _image.compliance_view(comp)
    if depot:
        explain(view, [b.to_dict() for b in rd.depot().bulletins.values()])
    image = _image.image_view({"base_image": {"version": B803, "details": {"display_name": "ESXi",
                                                                           "display_version": "8.0 U3",
                                                                           "release_date": "2024-06-25T00:00:00Z"}},
                               "components": {FLING: {"version": FLING_V, "details": {}}}})
    return {"changed": False, "cluster": cluster, "cluster_id": "domain-c9", "image": image, "compliance": view}


def mixed_results():
    """Baseline cluster Prod (one host above the line, one below) and image-managed Edge (both hosts, the scan's
    own view: 8.0.2, the line would call them below)."""
    hosts = [rd.host_result("esxi-01.sim.local", "8.0.2", "22380479", [rd.FLING_U3], cluster="Prod"),
             rd.host_result("esxi-02.sim.local", "7.0.3", "21930508", [rd.FLING_703], cluster="Prod"),
             rd.host_result("esxi-31.sim.local", "8.0.2", "22380479", [], cluster="Edge"),
             rd.host_result("esxi-32.sim.local", "8.0.2", "22380479", [], cluster="Edge")]
    for h in hosts:
        h["image_managed"] = h["cluster"] == "Edge"
    return {"changed": False, "hosts": hosts}


def by_name(report):
    return {h["name"]: h for h in report["hosts"]}


def test_one_report_over_both_kinds():
    rep = _report.build_report(mixed_results(), minimum_build=LINE, cluster_images=[image_info()])
    h = by_name(rep)
    assert h["esxi-01.sim.local"]["status"] == "non_compliant"          # baseline: the line decides
    assert h["esxi-02.sim.local"]["status"] == "compliant"
    assert h["esxi-31.sim.local"]["status"] == "compliant"              # vLCM decides, not the line
    assert h["esxi-31.sim.local"]["reasons"] == [] and h["esxi-31.sim.local"]["vlcm"]["status"] == "compliant"
    e32 = h["esxi-32.sim.local"]
    assert e32["status"] == "non_compliant" and e32["image_managed"] is True
    assert e32["reasons"] == ["vLCM: base image %s -> %s" % (B802, B803),
                              "vLCM: component %s not installed -> %s (non_compliant)" % (FLING, FLING_V)]
    assert e32["vlcm"]["base_image"]["current"] == B802 and e32["vlcm"]["base_image"]["target"] == B803
    [comp] = e32["vlcm"]["components"]
    assert [b["id"] for b in comp["bulletins"]] == [rd.FLING_U3]        # the depot's bulletin behind the component
    assert comp["bulletins"][0]["severity"] == "general"
    assert h["esxi-01.sim.local"]["image_managed"] is False and "vlcm" not in h["esxi-01.sim.local"]
    s = rep["summary"]
    assert (s["hosts"], s["compliant"], s["non_compliant"], s["error"], s["image_managed_hosts"]) == (4, 2, 2, 0, 2)
    assert s["non_compliant_hosts"] == ["esxi-01.sim.local", "esxi-32.sim.local"]
    clusters = {c["name"]: c for c in rep["clusters"]}
    assert "image_managed" not in clusters["Prod"]
    edge = clusters["Edge"]
    assert edge["image_managed"] and edge["vlcm"]["image"]["base_image"]["version"] == B803
    assert edge["vlcm"]["image"]["components"] == {FLING: FLING_V} and edge["vlcm"]["status"] == "non_compliant"
    view = _report.result_view(rep)
    assert [c["image_managed"] for c in view["clusters"]] == [True, False]
    assert any("cluster Edge (image-managed, base image %s): non-compliant" % B803 in x for x in view["summary_lines"])

    junit = ET.fromstring(_report.render_junit(rep).split("\n", 1)[1])
    suites = {s.get("name"): s for s in junit.iter("testsuite")}
    props = {p.get("name"): p.get("value") for p in suites["DC1/Edge"].iter("property")}
    assert props["vlcm.base_image"] == B803 and json.loads(props["vlcm.components"]) == {FLING: FLING_V}
    cases = {c.get("name"): c for c in suites["DC1/Edge"].iter("testcase")}
    fail = cases["esxi-32.sim.local"].find("failure")
    assert fail is not None and "vLCM: base image" in fail.get("message")
    assert "bulletin %s" % rd.FLING_U3 in fail.text
    assert cases["esxi-31.sim.local"].find("failure") is None
    html = _report.render_html(rep)
    assert 'data-vlcm-image="%s"' % B803 in html and 'data-vlcm-status="non_compliant"' in html
    assert 'data-component="%s"' % FLING in html and 'data-bulletin="%s"' % rd.FLING_U3 in html
    assert json.loads(_report.render_json(rep))["hosts"][3]["vlcm"]["status"] == "non_compliant"


@pytest.mark.parametrize("images, why", [
    (None, "no vLCM compliance of the cluster in the report's input"),
    ([image_info(cluster="Other")], "no vLCM compliance of the cluster in the report's input"),
    ([{"failed": True, "msg": "cluster Edge not found in vCenter", "cluster": "Edge"}],
     "its vLCM compliance could not be read: cluster Edge not found in vCenter"),
])
def test_fail_closed_without_compliance(images, why):
    rep = _report.build_report(mixed_results(), minimum_build=LINE, cluster_images=images)
    h = by_name(rep)
    for name in ("esxi-31.sim.local", "esxi-32.sim.local"):
        assert h[name]["status"] == "error" and why in h[name]["reasons"][0], h[name]["reasons"]
    assert rep["summary"]["error_hosts"] == ["esxi-31.sim.local", "esxi-32.sim.local"]
    assert rep["summary"]["compliant"] == 1
    junit = _report.render_junit(rep)
    assert junit.count('<error type="scan_failed"') == 2
    html = _report.render_html(rep)
    assert html.count("vLCM compliance unknown") == 2 and 'data-vlcm-status="unknown"' in html


def test_fail_closed_host_missing_or_unavailable():
    info = image_info(statuses=("UNAVAILABLE", "NON_COMPLIANT"))
    info["compliance"]["hosts"] = [x for x in info["compliance"]["hosts"] if x["name"] != "esxi-32.sim.local"]
    h = by_name(_report.build_report(mixed_results(), cluster_images=[info]))
    assert h["esxi-31.sim.local"]["status"] == "error"
    assert h["esxi-31.sim.local"]["reasons"] == ["vLCM: compliance of the host is unavailable"]
    assert h["esxi-32.sim.local"]["status"] == "error"
    assert "does not name this host" in h["esxi-32.sim.local"]["reasons"][0]


def test_bad_cluster_images_are_input_errors():
    with pytest.raises(InputError, match="without 'cluster'"):
        _report.build_report(mixed_results(), cluster_images=[{"compliance": {"hosts": []}}])
    with pytest.raises(InputError, match="no 'compliance' with 'hosts'"):
        _report.build_report(mixed_results(), cluster_images=[{"cluster": "Edge", "image": {}}])
    with pytest.raises(InputError, match=r"compliance.hosts\[0\]"):
        _report.build_report(mixed_results(), cluster_images=[{"cluster": "Edge", "compliance": {"hosts": [7]}}])


def test_scan_without_flag_uses_the_cluster_image():
    res = mixed_results()
    for h in res["hosts"]:
        h.pop("image_managed")
    h = by_name(_report.build_report(res, minimum_build=LINE, cluster_images={"results": [image_info()]}))
    assert h["esxi-31.sim.local"]["image_managed"] is True and h["esxi-31.sim.local"]["status"] == "compliant"
    assert h["esxi-01.sim.local"]["image_managed"] is None


def _records(folder, hosts):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import record as _record
    for h in hosts:
        _record.write(str(folder), h["name"], dict(h))


def test_record_folder_two_slices_add_up(tmp_path):
    recs = tmp_path / "records"
    hosts = mixed_results()["hosts"]
    _records(recs, hosts)
    params = {"dest": str(tmp_path / "out"), "record_dir": str(recs), "minimum_build": LINE, "formats": ["json"],
              "basename": "compliance"}
    # slice 1 (Prod only): no cluster image anywhere yet -> Edge unknown, never compliant
    out = _report.compliance_report(dict(params, results=[]))
    assert out["summary"]["error_hosts"] == ["esxi-31.sim.local", "esxi-32.sim.local"]
    # slice 2 scanned Edge and read its image: kept as a record, the report holds everything
    out = _report.compliance_report(dict(params, cluster_images=[image_info()]))
    assert out["changed"] and out["summary"]["error"] == 0 and out["summary"]["non_compliant"] == 2
    [rec] = os.listdir(str(recs / ".clusters"))
    stamp = os.stat(str(recs / ".clusters" / rec)).st_mtime_ns
    # slice 3 without images reads the record; same outcome: no file rewritten, the record left alone
    out = _report.compliance_report(dict(params, results=[]))
    assert not out["changed"] and out["summary"]["non_compliant"] == 2 and out["summary"]["error"] == 0
    out = _report.compliance_report(dict(params, cluster_images=[image_info()]))
    assert not out["changed"] and os.stat(str(recs / ".clusters" / rec)).st_mtime_ns == stamp
    # check mode writes no record
    _report.compliance_report(dict(params, dest=str(tmp_path / "o2"), cluster_images=[image_info("Else")]), True)
    assert os.listdir(str(recs / ".clusters")) == [rec]
    # a damaged record names its file
    (recs / ".clusters" / rec).write_text("{")
    with pytest.raises(InputError) as err:
        _report.compliance_report(dict(params, results=[]))
    assert rec in str(err.value.source)


def test_concurrent_writers_of_cluster_records(tmp_path):
    import threading
    errors = []

    def writer(i):
        try:
            for _ in range(20):
                _write.write_cluster_records(str(tmp_path), [image_info(depot=False)], "2026-12-07T05:%02d:00Z" % i)
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    [rec] = _write.read_cluster_records(str(tmp_path))
    assert rec["cluster"] == "Edge" and len(rec["compliance"]["hosts"]) == 2
