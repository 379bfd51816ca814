# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compliance report (_report.py): evaluation against a compliance line, grouping, the three renderings,
and idempotent writing. Scan results come from the real classifier on real fixture bundles (report_data)."""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest


import tests.unit.report.report_data as rd  # noqa: E402

from ansible_collections.fleetpatch.esxi.plugins.module_utils._report import report as _report  # noqa: E402
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError  # noqa: E402

LINE = {"8.0": 24022510, "7.0": 21930508}


@pytest.fixture(scope="module")
def fleet():
    return rd.fleet()


def by_name(report):
    return {h["name"]: h for h in report["hosts"]}


# ---- evaluation --------------------------------------------------------------------------------------------
def scan_status(h):
    return "compliant" if h["compliant"] else "non_compliant"


def test_without_line_the_scan_decides(fleet):
    r = _report.build_report(fleet, generated_at="2026-11-21T10:05:00+00:00")
    hosts = by_name(r)
    expected = {h["name"]: scan_status(h) for h in fleet["hosts"]}
    assert {n: h["status"] for n, h in hosts.items()} == expected
    assert set(expected.values()) == {"compliant", "non_compliant"}      # the fleet has both
    for h in fleet["hosts"]:
        got = hosts[h["name"]]
        assert got["counts"]["missing"] == len(h["missing"])
        assert got["below_line"] is None
        if not h["compliant"]:
            assert got["reasons"] == ["%d bulletin(s) missing" % len(h["missing"])]
        else:
            assert got["reasons"] == []
    s = r["summary"]
    bad = sorted(n for n, st in expected.items() if st == "non_compliant")
    assert (s["hosts"], s["compliant"], s["non_compliant"], s["error"]) == (6, 6 - len(bad), len(bad), 0)
    assert s["compliance_percent"] == round(100.0 * (6 - len(bad)) / 6, 1)
    missing_ids = {e["id"] for h in fleet["hosts"] for e in h["missing"]}
    assert s["missing_bulletins"] == len(missing_ids)
    assert s["missing_host_bulletins"] == sum(len(h["missing"]) for h in fleet["hosts"])
    assert s["missing_by_severity"] == {"general": len(missing_ids)}       # the real bulletins are all "general"
    assert s["non_compliant_hosts"] == bad
    assert s["status"] == "non_compliant"


def test_clusters_grouped_with_standalone_last(fleet):
    r = _report.build_report(fleet)
    expected = {h["name"]: scan_status(h) for h in fleet["hosts"]}

    def worst(names):
        return "non_compliant" if any(expected[n] == "non_compliant" for n in names) else "compliant"

    legacy = ["esxi-11.sim.local", "esxi-12.sim.local"]
    prod = ["esxi-01.sim.local", "esxi-02.sim.local", "esxi-03.sim.local"]
    alone = ["esxi-20.sim.local"]
    assert [(c["name"], c["datacenter"], c["standalone"], c["status"], c["hosts"]) for c in r["clusters"]] == [
        ("Legacy", "DC1", False, worst(legacy), legacy),
        ("Prod", "DC1", False, worst(prod), prod),
        ("Standalone hosts", "DC1", True, worst(alone), alone),
    ]
    bad = sum(1 for n in prod if expected[n] == "non_compliant")
    assert r["clusters"][1]["counts"] == {"hosts": 3, "compliant": 3 - bad, "non_compliant": bad, "error": 0}
    assert r["summary"]["clusters"] == 2
    assert r["summary"]["clusters_compliant"] == sum(1 for c in r["clusters"][:2] if c["status"] == "compliant")


def test_minimum_build_per_version_is_the_line(fleet):
    r = _report.build_report(fleet, minimum_build=LINE)
    hosts = by_name(r)
    for n in ("esxi-01.sim.local", "esxi-02.sim.local", "esxi-03.sim.local", "esxi-20.sim.local"):
        assert hosts[n]["status"] == "non_compliant"
        assert hosts[n]["reasons"] == ["build 22380479 is below the minimum build 24022510"]
        assert hosts[n]["below_line"] is True
    # 7.0 hosts meet their line: compliant even with a bulletin missing (the line decides)
    assert hosts["esxi-12.sim.local"]["status"] == "compliant"
    assert hosts["esxi-12.sim.local"]["counts"]["missing"] == 1


def test_minimum_build_forms():
    assert _report.minimum_build_for(24022510, "8.0.2") == 24022510
    assert _report.minimum_build_for("Releasebuild-24022510", "8.0.2") == 24022510
    assert _report.minimum_build_for({"8.0": 1, "8.0.2": 5, "*": 9}, "8.0.2") == 5
    assert _report.minimum_build_for({"8.0": 1, "*": 9}, "8.0.3") == 1
    assert _report.minimum_build_for({"8.0": 1, "*": 9}, "6.7.0") == 9
    assert _report.minimum_build_for({"8.0": 1}, "6.7.0") is None
    assert _report.minimum_build_for({"8.0": 1}, "8.01.0") is None
    with pytest.raises(InputError, match="not a build number"):
        _report.build_report([], minimum_build="latest")
    with pytest.raises(InputError, match=r"minimum_build\[8.0\]"):
        _report.build_report([], minimum_build={"8.0": "soon"})


def test_version_without_a_line_entry_is_non_compliant(fleet):
    r = _report.build_report(fleet, minimum_build={"8.0": 22380479})
    h = by_name(r)["esxi-11.sim.local"]
    assert h["status"] == "non_compliant"
    assert h["reasons"] == ["no minimum build is set for version 7.0.3"]
    assert by_name(r)["esxi-01.sim.local"]["status"] == "compliant"


def test_required_bulletins_baseline(fleet):
    r = _report.build_report(fleet, required_bulletins=[rd.FLING_U2, rd.FLING_703, "VMware-not-in-depot_1.0"])
    hosts = by_name(r)
    # esxi-01 has the U3 fling: U2 superseded (ok), 7.0 fling not applicable (ok), unknown id not ok
    assert hosts["esxi-01.sim.local"]["reasons"] == [
        "required bulletin VMware-not-in-depot_1.0 is not in the scanned depot"]
    assert hosts["esxi-03.sim.local"]["reasons"] == [
        "required bulletin %s is missing" % rd.FLING_U2,
        "required bulletin VMware-not-in-depot_1.0 is not in the scanned depot"]
    r2 = _report.build_report(fleet, required_bulletins=[rd.FLING_U2])
    assert {n: h["status"] for n, h in by_name(r2).items()} == {
        "esxi-01.sim.local": "compliant", "esxi-02.sim.local": "compliant", "esxi-03.sim.local": "non_compliant",
        "esxi-11.sim.local": "compliant", "esxi-12.sim.local": "compliant", "esxi-20.sim.local": "compliant"}


def test_failed_scan_is_an_error_host(fleet):
    failed = {"failed": True, "changed": False, "msg": "host esxi-13.sim.local: not connected",
              "host": "esxi-13.sim.local", "error_kind": "host_not_connected"}
    r = _report.build_report([fleet, failed], clusters={"esxi-13.sim.local": {"cluster": "Legacy",
                                                                                "datacenter": "DC1"}})
    h = by_name(r)["esxi-13.sim.local"]
    assert h["status"] == "error" and h["reasons"] == ["host esxi-13.sim.local: not connected"]
    legacy = r["clusters"][0]
    assert legacy["name"] == "Legacy" and legacy["counts"]["error"] == 1
    assert r["summary"]["error_hosts"] == ["esxi-13.sim.local"]
    # a failed task naming several targets, none of which returned data
    r2 = _report.build_report({"failed": True, "msg": "cannot log in to vCenter",
                               "invocation": {"module_args": {"esxi_hostname": ["a", "b"]}}})
    assert [(h["name"], h["status"]) for h in r2["hosts"]] == [("a", "error"), ("b", "error")]
    assert r2["summary"]["status"] == "error"


def test_accepted_shapes(fleet):
    hosts = fleet["hosts"]
    ref = _report.build_report(fleet, generated_at="t")["digest"]
    loop = {"results": [{"item": "Prod", "hosts": hosts[:3]}, {"item": "Legacy", "hosts": hosts[3:]},
                        {"skipped": True, "item": "Empty"}]}
    assert _report.build_report(loop)["digest"] == ref
    assert _report.build_report(hosts)["digest"] == ref
    assert _report.build_report([{"hosts": hosts[:2]}, {"hosts": hosts[2:]}])["digest"] == ref
    as_dict = {"hosts": {h["name"]: {k: v for k, v in h.items() if k != "name"} for h in hosts}}
    assert _report.build_report(as_dict)["digest"] == ref
    moid = [dict(h, host={"name": h["name"], "moid": "host-%d" % i}) for i, h in enumerate(hosts)]
    for h in moid:
        del h["name"]
    assert [h["name"] for h in _report.build_report(moid)["hosts"]] == sorted(h["name"] for h in hosts)
    with pytest.raises(InputError, match="expected scan results"):
        _report.build_report(["esxi-01"])


def test_newest_scan_of_a_host_wins(fleet):
    old = rd.host_result("esxi-03.sim.local", "8.0.2", "22380479", [], cluster="Prod",
                         scanned_at="2026-11-21T09:00:00+00:00")
    assert old["missing"] and not old["compliant"]
    # the rescan after a remediation: what was missing is installed now
    new = dict(old, installed=old["installed"] + old["missing"], missing=[], compliant=True,
               scanned_at="2026-11-21T11:00:00+00:00")
    for order in ([old, new], [new, old]):
        r = _report.build_report(order)
        assert r["hosts"][0]["status"] == "compliant"
        assert r["scanned_to"] == "2026-11-21T11:00:00+00:00"


def test_severity_grouping_most_severe_first(fleet):
    # SYNTHETIC severities on real entries: the real fixture bulletins are all "general"
    h = copy.deepcopy(rd.host_result("esxi-03.sim.local", "8.0.2", "22380479", [], cluster="Prod"))
    base = h["missing"][0]
    h["missing"] = [dict(base, id="B-low", severity="low"), dict(base, id="B-crit", severity="Critical"),
                    dict(base, id="B-sec", severity="security"), dict(base, id="B-none", severity=""),
                    dict(base, id="B-odd", severity="urgent"), dict(base, id="B-imp", severity="important")]
    r = _report.build_report([h])
    assert list(r["hosts"][0]["missing_by_severity"]) == ["critical", "security", "important", "low", "urgent",
                                                          "unknown"]
    assert list(r["summary"]["missing_by_severity"]) == ["critical", "security", "important", "low", "urgent",
                                                         "unknown"]


def test_digest_ignores_timestamps_only(fleet):
    a = _report.build_report(fleet, generated_at="2026-11-21T10:00:00+00:00")
    later = copy.deepcopy(fleet)
    for h in later["hosts"]:
        h["scanned_at"] = "2026-11-22T08:00:00+00:00"
    b = _report.build_report(later, generated_at="2026-11-22T08:01:00+00:00")
    assert a["digest"] == b["digest"]
    c = _report.build_report(fleet, minimum_build=LINE)
    assert c["digest"] != a["digest"]
    d = _report.build_report(fleet, title="Other title")
    assert d["digest"] != a["digest"]


# ---- renderings --------------------------------------------------------------------------------------------
def test_json_rendering_round_trips(fleet):
    r = _report.build_report(fleet, minimum_build=LINE)
    data = json.loads(_report.render_json(r))
    assert data == json.loads(json.dumps(r))
    assert data["digest"] == r["digest"] and data["format"] == 1


def test_junit_rendering(fleet):
    r = _report.build_report(fleet, minimum_build=LINE)
    root = ET.fromstring(_report.render_junit(r).encode("utf-8"))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "4", "0")   # the four 8.0.2 hosts
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["DC1/Legacy", "DC1/Prod", "DC1/Standalone hosts"]
    prod = suites["DC1/Prod"]
    assert (prod.get("tests"), prod.get("failures")) == ("3", "3")
    props = {p.get("name"): p.get("value") for p in prod.find("properties")}
    assert props["fleetpatch.digest"] == r["digest"]
    case = prod.find("testcase[@name='esxi-03.sim.local']")
    assert case.get("classname") == "esxi.compliance.DC1_Prod"
    failure = case.find("failure")
    assert failure.get("type") == "non_compliant"
    n = len(by_name(r)["esxi-03.sim.local"]["missing_by_severity"]["general"])
    assert failure.get("message") == "build 22380479 is below the minimum build 24022510; missing: %d general" % n
    assert rd.FLING_U2 in failure.text
    ok = suites["DC1/Legacy"].find("testcase[@name='esxi-11.sim.local']")
    assert ok.find("failure") is None and ok.find("error") is None


def test_junit_error_case():
    r = _report.build_report({"failed": True, "msg": "login failed", "host": "esxi-99"})
    case = ET.fromstring(_report.render_junit(r).encode()).find("testsuite/testcase")
    assert case.find("error").get("message") == "login failed"


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.attrs = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_and_shows_the_fleet(fleet):
    r = _report.build_report(fleet, minimum_build=LINE)
    page = _report.render_html(r)
    p = _Collector()
    p.feed(page)
    assert "script" not in p.tags and "link" not in p.tags and "img" not in p.tags and "iframe" not in p.tags
    for name, value in p.attrs:
        if name in ("href", "src", "action"):
            assert value.startswith("#"), (name, value)
    assert "url(" not in page and "@import" not in page
    text = " ".join(" ".join(p.text).split())
    for h in fleet["hosts"]:
        assert h["name"] in text
    assert "4 hosts non-compliant" in text
    assert "Hosts below the line" in text
    assert "build 22380479 is below the minimum build 24022510" in text
    assert rd.FLING_U2 in text
    assert 'data-host="esxi-03.sim.local" data-status="non_compliant"' in page
    assert 'data-host="esxi-11.sim.local" data-status="compliant"' in page
    assert '<meta name="fleetpatch-report-digest" content="%s">' % r["digest"] in page


def test_html_escapes_everything():
    h = rd.host_result("<script>alert(1)</script>", "8.0.2", "22380479", [], cluster="C&<b>")
    h["missing"][0]["summary"] = '"><img src=x onerror=alert(1)>'
    page = _report.render_html(_report.build_report([h], title="<i>t</i>"))
    assert "<script>" not in page and "<img" not in page and "<i>t" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_no_hosts_fails_closed():
    # an empty scan result is an input error, never "All 0 hosts are compliant" (test_report_fail_closed.py)
    with pytest.raises(InputError, match="no host results in an empty list"):
        _report.build_report([])


# ---- files -------------------------------------------------------------------------------------------------
def test_write_is_idempotent_and_check_mode_writes_nothing(tmp_path, fleet):
    dest = str(tmp_path / "out")
    params = {"results": fleet, "dest": dest, "formats": ["json", "junit", "html"], "basename": "compliance",
              "title": "ESXi patch compliance", "minimum_build": LINE, "required_bulletins": [], "clusters": None,
              "mode": "0640"}
    res = _report.compliance_report(params, check_mode=True, diff=True)
    assert res["changed"] is True and res["written"] == ["json", "junit", "html"]
    assert not os.path.exists(dest)
    assert res["diff"]["before"]["digest"] == {"json": None, "junit": None, "html": None}

    res = _report.compliance_report(params)
    assert res["changed"] is True
    assert sorted(n for n in os.listdir(dest) if not n.startswith(".")) == ["compliance-junit.xml", "compliance.html", "compliance.json"]
    assert stat.S_IMODE(os.stat(res["paths"]["html"]).st_mode) == 0o640
    assert res["summary"]["non_compliant"] == 4
    assert [h["name"] for h in res["hosts"] if h["status"] == "non_compliant"] == res["summary"][
        "non_compliant_hosts"]
    mtimes = {f: os.stat(p).st_mtime_ns for f, p in res["paths"].items()}

    # a rescan with the same outcome: new timestamps, same content -> nothing written
    later = copy.deepcopy(fleet)
    for h in later["hosts"]:
        h["scanned_at"] = "2026-11-22T08:00:00+00:00"
    res2 = _report.compliance_report(dict(params, results=later), diff=True)
    assert res2["changed"] is False and res2["written"] == []
    assert {f: os.stat(p).st_mtime_ns for f, p in res2["paths"].items()} == mtimes

    # a changed outcome rewrites every file; check mode reports it without writing
    changed = dict(params, minimum_build={"8.0": 22380479, "7.0": 21930508})
    res3 = _report.compliance_report(changed, check_mode=True)
    assert res3["changed"] is True and res3["summary"]["non_compliant"] == 0
    assert {f: os.stat(p).st_mtime_ns for f, p in res3["paths"].items()} == mtimes
    res4 = _report.compliance_report(changed, diff=True)
    assert res4["written"] == ["json", "junit", "html"]
    assert res4["diff"]["before"]["digest"]["json"] == res["digest"]
    with open(res4["paths"]["json"]) as f:
        assert json.load(f)["summary"]["non_compliant"] == 0


def test_one_missing_file_is_rewritten_alone(tmp_path, fleet):
    params = {"results": fleet, "dest": str(tmp_path), "formats": ["json", "html"], "basename": "r",
              "title": None, "minimum_build": None, "required_bulletins": None, "clusters": None, "mode": None}
    res = _report.compliance_report(params)
    assert res["written"] == ["json", "html"] and "junit" not in res["paths"]
    os.unlink(res["paths"]["html"])
    assert _report.compliance_report(params)["written"] == ["html"]


def test_bad_options(tmp_path, fleet):
    base = {"results": fleet, "dest": str(tmp_path), "formats": None, "basename": "compliance", "title": None,
            "minimum_build": None, "required_bulletins": None, "clusters": None, "mode": "0644"}
    with pytest.raises(InputError, match="octal"):
        _report.compliance_report(dict(base, mode="rw-r--r--"))
    with pytest.raises(InputError, match="plain file name"):
        _report.compliance_report(dict(base, basename="../x"))
    with pytest.raises(InputError, match="clusters"):
        _report.compliance_report(dict(base, clusters=["Prod"]))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write the report") as e:
        _report.compliance_report(dict(base, dest=str(blocker / "sub")))
    assert str(blocker / "sub") in str(e.value)


def test_existing_digest_reads_each_format(tmp_path, fleet):
    r = _report.build_report(fleet)
    for fmt, ext in _report.EXTENSIONS.items():
        p = tmp_path / ("x" + ext)
        p.write_text(_report.RENDERERS[fmt](r))
        assert _report.existing_digest(str(p), fmt) == r["digest"]
    (tmp_path / "bad.json").write_text("{not json")
    assert _report.existing_digest(str(tmp_path / "bad.json"), "json") is None
    assert _report.existing_digest(str(tmp_path / "none.html"), "html") is None
    assert re.match(r"^[0-9a-f]{64}$", r["digest"])


def test_minimum_build_as_json_text(fleet):
    """Survey answers (AWX) are text: a JSON object works like the dict."""
    as_text = _report.build_report(fleet, minimum_build='{"8.0": 24022510, "7.0": 21930508}')
    assert as_text["digest"] == _report.build_report(fleet, minimum_build=LINE)["digest"]
    assert _report.build_report(fleet, minimum_build="24022510")["summary"]["non_compliant"] == 6
    with pytest.raises(InputError, match="neither a build number nor a JSON object"):
        _report.build_report(fleet, minimum_build="{8.0: soon")
