# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vib_profile_validate run by ansible-playbook (a real subprocess, the collection found through ansible.cfg's
collections_path) on the real fixtures; assertions on the JSON each task returned."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.tooling import tool_path

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
REAL = os.path.join(ROOT, "tests", "fixtures", "real")
ESXIMG = os.path.join(REAL, "ljvblfz__ESXi", "var", "db", "esximg")
TRUST = [os.path.join(REAL, "trust", "vmware.cert"), os.path.join(REAL, "trust", "vmpartner.cert")]
WATCHDOG = os.path.join(REAL, "fangli__esxi-hardware-watchdog-driver", "hardware-watchdog.vib")
PROFILE = "ESXi-6.7.0-8169922-standard"
LIBATA = "VMW_bootbank_ata-libata-92_3.00.9.2-16vmw.670.0.0.8169922"
PLAYBOOK = tool_path("ansible-playbook")

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "ansible.cfg")) or not os.path.exists(PLAYBOOK),
                                reason="needs ansible.cfg and .venv/bin/ansible-playbook (make venv)")


def run_tasks(tmp_path, cases):
    """Run one play with a vib_profile_validate task per case; returns {case name: registered result}."""
    tasks = []
    for name, args in cases.items():
        out = str(tmp_path / ("%s.json" % name))
        tasks.append({"name": name, "fleetpatch.esxi.vib_profile_validate": args, "register": "r_" + name,
                      "ignore_errors": True})
        tasks.append({"name": "save %s" % name,
                      "ansible.builtin.copy": {"content": "{{ r_%s | to_json }}" % name, "dest": out,
                                               "mode": "0600"}})
    play = [{"name": "validate", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    pb = tmp_path / "play.yml"
    pb.write_text(json.dumps(play))
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "rtmp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([PLAYBOOK, str(pb), "-e", "ansible_python_interpreter=%s" % sys.executable],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    text = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    results = {}
    for name in cases:
        with open(str(tmp_path / ("%s.json" % name))) as fh:
            results[name] = json.load(fh)
    return results, text


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("validate_play")
    cases = {
        "valid": {"depot": [ESXIMG], "profile": PROFILE, "verify_signatures": True, "trust_store": TRUST,
                  "base_profile": PROFILE},
        "removed": {"depot": [ESXIMG], "profile": PROFILE, "remove_vibs": [LIBATA]},
        "removed_never": {"depot": [ESXIMG], "profile": PROFILE, "remove_vibs": [LIBATA], "fail_on": "never"},
        "watchdog": {"depot": [WATCHDOG], "vibs": ["hardware-watchdog"], "check_file_paths": True,
                     "verify_checksums": True, "fail_on": "never"},
        "unknown_profile": {"depot": [ESXIMG], "profile": "ESXi-9.9-nope"},
        "bad_trust": {"depot": [ESXIMG], "profile": PROFILE, "verify_signatures": True,
                      "trust_store": [os.path.join(REAL, "nope.pem")]},
        "no_trust": {"depot": [ESXIMG], "profile": PROFILE, "verify_signatures": True},
        "warning_gate": {"depot": [WATCHDOG], "vibs": ["hardware-watchdog"], "verify_signatures": True,
                         "trust_store": TRUST, "fail_on": "warning"},
    }
    return run_tasks(tmp, cases)


def test_valid_profile(results):
    r = results[0]["valid"]
    assert r.get("failed") is not True, r
    assert r["valid"] is True and r["changed"] is False
    assert [f["type"] for f in r["findings"]] == ["expired_signer"] * 136
    assert r["profile"]["name"] == PROFILE and len(r["profile"]["vib_ids"]) == 136
    assert r["checks"]["signatures"]["verified"] == 136
    assert r["diff"]["added"] == [] and len(r["diff"]["unchanged"]) == 136


def test_profile_with_a_vib_removed_fails_with_findings(results):
    r = results[0]["removed"]
    assert r["failed"] is True and r["error_kind"] == "validation"
    assert r["valid"] is False and "17 error(s)" in r["msg"]
    missing = [f for f in r["findings"] if f["type"] == "missing_dependency"]
    assert len({f["vib"] for f in missing}) == 17 and all(f["related"] == [LIBATA] for f in missing)
    assert "Traceback" not in str(r.get("exception", ""))


def test_fail_on_never_reports_without_failing(results):
    r = results[0]["removed_never"]
    assert r.get("failed") is not True and r["valid"] is False and r["counts"]["error"] == 17


def test_watchdog_file_path_findings(results):
    r = results[0]["watchdog"]
    fp = [f for f in r["findings"] if f["type"] == "file_path"]
    assert len(fp) == 2 and "bin/ipmitool_wd" in fp[0]["detail"]
    assert r["checks"]["checksums"]["mismatched"] == 0 and r["checks"]["checksums"]["verified"] == 2


def test_warning_gate_fails_on_unsigned_community_vib(results):
    r = results[0]["warning_gate"]
    assert r["failed"] is True and r["valid"] is True
    assert [f["type"] for f in r["findings"]] == ["unsigned"]


def test_bad_input_is_a_clean_failure(results):
    res = results[0]
    r = res["unknown_profile"]
    assert r["failed"] is True and "ESXi-9.9-nope" in r["msg"] and PROFILE in r["msg"]
    assert r["error_kind"] == "input" and "Traceback" not in str(r.get("exception", ""))
    r = res["bad_trust"]
    assert r["failed"] is True and "nope.pem" in r["msg"] and "Traceback" not in str(r.get("exception", ""))
    r = res["no_trust"]
    assert r["failed"] is True and "trust_store" in r["msg"]
