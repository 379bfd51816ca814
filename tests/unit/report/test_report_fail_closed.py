# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compliance report fails closed: empty or malformed scan results are input errors naming what is wrong,
expected hosts without a result are errors (JUnit never says 0 tests), and one report is built from the per-host
records of every job slice, safely under concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import record as _record
from ansible_collections.fleetpatch.esxi.plugins.module_utils._report import model, render, write


def host(name, **kw):
    rec = {"name": name, "version": "8.0.2", "build": "22380479", "compliant": True, "missing": [],
           "installed": ["VMW_bootbank_x_1.0"], "scanned_at": "2026-12-01T10:00:00+00:00"}
    rec.update(kw)
    return rec


@pytest.mark.parametrize("results, words", [
    ([], "an empty list"),
    ({}, "an empty dict"),
    ({"hosts": []}, "'hosts' is empty"),
    ({"changed": False, "hosts": {}}, "'hosts' is empty"),
    (None, "results is not set"),
    ([[], {"hosts": []}], "a list of 2 item(s) without host results"),
])
def test_empty_results_are_input_errors(results, words):
    with pytest.raises(InputError) as e:
        model.build_report(results)
    assert words in str(e.value) and "no host results" in str(e.value)


@pytest.mark.parametrize("rec, words", [
    (host("esx1", missing=[None]), "results[0] (host esx1).missing[0] is None"),
    (host("esx1", missing="notalist"), "results[0] (host esx1).missing is 'notalist'; expected a list"),
    (host("esx1", missing=[{"summary": "no id"}]), "missing[0] is {'summary': 'no id'}"),
    (host("esx1", installed=[3]), "installed[0] is 3"),
    (host("esx1", build="9" * 5000), "build is '99999"),
    (host("esx1", build={"x": 1}), "build is {'x': 1}; expected text"),
    (host("esx1", build="unknown"), "build is 'unknown'; expected a build number"),
    ({"foo": 1}, "results[0]: a dict that is neither a host result nor a scan result (keys: foo)"),
    ("esx1", "results[0]: expected scan results (dicts), got str 'esx1'"),
    ({"hosts": "esx1"}, "results[0].hosts: expected a list or dict"),
])
def test_malformed_entries_are_input_errors_naming_the_place(rec, words):
    with pytest.raises(InputError) as e:
        model.build_report([rec])
    assert words in str(e.value)
    assert len(str(e.value)) < 400          # a 5,000-digit value is cut in the message


@pytest.mark.parametrize("line", ["9" * 5000, {"8.0": "9" * 5000}, [1, 2], True])
def test_bad_minimum_build_is_an_input_error(line):
    with pytest.raises(InputError, match="minimum_build"):
        model.build_report([host("esx1")], minimum_build=line)


def test_required_bulletins_must_be_ids():
    with pytest.raises(InputError, match="required_bulletins"):
        model.build_report([host("esx1")], required_bulletins=[None])


def test_failed_scan_without_hosts_is_an_error_host_not_an_empty_report():
    r = model.build_report({"failed": True, "msg": "cannot log in", "hosts": []})
    assert r["summary"]["error"] == 1 and r["summary"]["status"] == "error"


def test_expected_hosts_without_result_are_errors_and_junit_counts_them():
    r = model.build_report([host("esx1")], expected_hosts=["esx1", "esx2", "esx3"])
    s = r["summary"]
    assert (s["hosts"], s["compliant"], s["error"]) == (3, 1, 2) and s["status"] == "error"
    root = ET.fromstring(render.render_junit(r).split("\n", 1)[1])
    assert root.get("tests") == "3" and root.get("errors") == "2"
    assert len(root.findall(".//testcase")) == 3
    with pytest.raises(InputError, match="expected_hosts"):
        model.build_report([host("esx1")], expected_hosts="esx1")


def test_skipped_loop_items_are_ignored_but_do_not_count_as_hosts():
    with pytest.raises(InputError, match="no host results"):
        model.build_report({"results": [{"skipped": True, "item": "x"}], "changed": False})
    r = model.build_report({"results": [{"skipped": True, "item": "x"}, {"hosts": [host("esx1")]}]})
    assert r["summary"]["hosts"] == 1


# ---- one report from the records of every slice ---------------------------------------------------------
def _params(dest, record_dir, **kw):
    p = {"results": None, "record_dir": record_dir, "dest": dest, "formats": ["json", "junit", "html"],
         "basename": "compliance", "title": "t", "minimum_build": None, "required_bulletins": [], "clusters": None,
         "mode": "0644", "expected_hosts": None}
    p.update(kw)
    return p


def test_records_of_every_slice_make_one_report(tmp_path):
    rdir = str(tmp_path / "records")
    for i in range(3):
        _record.write(rdir, "esx%d" % i, host("esx%d" % i, compliant=(i != 1), missing=["B%d" % i] if i == 1 else []))
    # this slice's own registered result holds a newer scan of esx2
    mine = {"hosts": [host("esx2", scanned_at="2026-12-02T10:00:00+00:00", compliant=False, missing=["NEW"])]}
    res = write.compliance_report(_params(str(tmp_path / "out"), rdir, results=mine))
    assert res["summary"]["hosts"] == 3 and res["summary"]["non_compliant_hosts"] == ["esx1", "esx2"]
    with open(res["paths"]["json"]) as f:
        assert [h["name"] for h in json.load(f)["hosts"]] == ["esx0", "esx1", "esx2"]


@pytest.mark.parametrize("content, words", [(None, "no scan records"), ("{not json", "cannot read the scan record"),
                                            ('{"name": "x"}', "not a scan record")])
def test_bad_record_dir_is_an_input_error(tmp_path, content, words):
    rdir = tmp_path / "records"
    rdir.mkdir()
    if content is not None:
        (rdir / "x.json").write_text(content)
    with pytest.raises(InputError, match=words):
        write.compliance_report(_params(str(tmp_path / "out"), str(rdir)))
    with pytest.raises(InputError, match="cannot read the folder"):
        write.compliance_report(_params(str(tmp_path / "out"), str(tmp_path / "missing")))


def _slice(args):
    """One AWX job slice: scan its host (write the record), then write the shared report from all records."""
    rdir, dest, i = args
    _record.write(rdir, "esx%d" % i, host("esx%d" % i, scanned_at="2026-12-01T10:00:0%d+00:00" % i))
    res = write.compliance_report(_params(dest, rdir))
    return res["summary"]["hosts"]


def test_four_concurrent_writers_give_one_complete_report(tmp_path):
    rdir, dest = str(tmp_path / "records"), str(tmp_path / "out")
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        seen = pool.map(_slice, [(rdir, dest, i) for i in range(4)])
    assert max(seen) == 4                   # the last writer saw every slice's record
    with open(os.path.join(dest, "compliance.json")) as f:
        report = json.load(f)
    assert [h["name"] for h in report["hosts"]] == ["esx0", "esx1", "esx2", "esx3"]
    junit = ET.parse(os.path.join(dest, "compliance-junit.xml")).getroot()
    assert junit.get("tests") == "4"
    with open(os.path.join(dest, "compliance.html")) as f:
        assert report["digest"] in f.read()
    leftovers = [n for n in os.listdir(dest) if n.endswith(".tmp")]
    assert leftovers == [] and oct(os.stat(os.path.join(dest, ".compliance.lock")).st_mode & 0o777) == "0o600"


def test_check_mode_writes_nothing(tmp_path):
    rdir = str(tmp_path / "records")
    _record.write(rdir, "esx0", host("esx0"))
    res = write.compliance_report(_params(str(tmp_path / "out"), rdir), check_mode=True)
    assert res["changed"] and not os.path.exists(str(tmp_path / "out"))
