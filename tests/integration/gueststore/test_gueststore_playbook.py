# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleetpatch.esxi.gueststore_repo run by ansible-playbook (a real subprocess; the collection found through
ansible.cfg's collections_path) against the vCenter simulator; assertions on each task's registered result and on
the simulator's state."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.tooling import tool_path

from tests.integration.gueststore.gueststore_sim_helpers import CLUSTER_HOSTS, ROOT, write_tree

PLAYBOOK = tool_path("ansible-playbook")
BAD_PASSWORD = "Wr0ng-Passw0rd-xyz"

pytestmark = [pytest.mark.simulator, pytest.mark.network, pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "ansible.cfg")) or not os.path.exists(PLAYBOOK),
                                 reason="needs ansible.cfg and .venv/bin/ansible-playbook (make venv)")]

GS = "fleetpatch.esxi.gueststore_repo"


def run_play(tmp_path, sim, tasks):
    """One play; each task registers r_<name>; one final task saves them all. Returns ({name: result}, output)."""
    names = [t["name"] for t in tasks]
    body = []
    for t in tasks:
        t = dict(t)
        t.setdefault("register", "r_" + t["name"])
        t.setdefault("ignore_errors", True)
        body.append(t)
    out = str(tmp_path / "results.json")
    body.append({"name": "save", "ansible.builtin.copy": {
        "content": "{{ {%s} | to_json }}" % ", ".join("'%s': r_%s" % (n, n) for n in names),
        "dest": out, "mode": "0600"}})
    play = [{"name": "gueststore", "hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/fleetpatch.esxi.esxi": {
                 "hostname": sim.host, "port": sim.port, "username": sim.user, "password": sim.password}},
             "tasks": body}]
    pb = tmp_path / "play.yml"
    pb.write_text(json.dumps(play))
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "rtmp"),
               ANSIBLE_NOCOLOR="1", REQUESTS_CA_BUNDLE=sim.ca_file)
    env.pop("VMWARE_PASSWORD", None)
    proc = subprocess.run([PLAYBOOK, str(pb), "-e", "ansible_python_interpreter=%s" % sys.executable],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    text = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    with open(out) as fh:
        return json.load(fh), text


@pytest.fixture(scope="module")
def play(gs_vc_sim, tmp_path_factory):
    sim = gs_vc_sim
    tmp = tmp_path_factory.mktemp("gueststore_play")
    src = write_tree(str(tmp / "src"), {"tools/setup.exe": b"MZ" * 500, "agent.conf": b"x=1\n"})
    big = write_tree(str(tmp / "big"), {"ok.txt": b"ok"})
    with open(os.path.join(big, "huge.iso"), "wb") as f:
        f.truncate(512 * 1024 * 1024 + 1)                       # sparse: nothing big is written
    content = {"cluster_name": "C1", "datastore": "C1-shared", "path": "GS-play", "src": src, "delete_extra": True}
    url = "ds:///vmfs/volumes/0a1b2c3d-00000000-0000-000000000011/GuestStore"
    tasks = [
        {"name": "set_cluster", GS: content},
        {"name": "rerun", GS: content},
        {"name": "check_clear", GS: {"cluster_name": "C1", "state": "absent"}, "check_mode": True, "diff": True},
        {"name": "clear", GS: {"cluster_name": "C1", "state": "absent"}},
        {"name": "clear_again", GS: {"cluster": "C1", "state": "absent"}},
        {"name": "too_big", GS: {"cluster_name": "C1", "datastore": "C1-shared", "src": big}},
        {"name": "old_host", GS: {"esxi_hostname": ["esxi-10.sim.local", "esxi-11.sim.local"], "url": url}},
        {"name": "u2_host", GS: {"esxi_hostnames": ["esxi-11.sim.local"], "url": url}},
        {"name": "no_datastore", GS: {"cluster_name": "C1", "datastore": "does-not-exist"}},
        {"name": "bad_password", GS: {"cluster_name": "C1", "url": url, "password": BAD_PASSWORD}},
        {"name": "bad_options", GS: {"cluster_name": "C1", "url": url, "path": "x"}},
    ]
    results, text = run_play(tmp, sim, tasks)
    return results, text, sim


def test_set_on_cluster_with_content_then_unchanged(play):
    r, _text, sim = play
    s = r["set_cluster"]
    assert s.get("failed") is not True, s
    assert s["changed"] is True and [h["name"] for h in s["hosts"]] == CLUSTER_HOSTS
    repo = s["repositories"][0]
    assert repo["uploaded"] == ["agent.conf", "tools/setup.exe"] and repo["hosts"] == CLUSTER_HOSTS
    assert {f["path"]: f["guest_path"] for f in repo["files"]} == {"agent.conf": "/agent.conf",
                                                                   "tools/setup.exe": "/tools/setup.exe"}
    assert all(h["url_after"] == repo["url"] for h in s["hosts"]) and repo["url"].endswith("/GS-play")
    again = r["rerun"]
    assert again["changed"] is False and again["repositories"][0]["uploaded"] == []
    assert again["repositories"][0]["unchanged"] == ["agent.conf", "tools/setup.exe"]


def test_clear_check_mode_diff_then_clear(play):
    r, text, sim = play
    url = r["set_cluster"]["repositories"][0]["url"]
    chk = r["check_clear"]
    assert chk["changed"] is True and chk["diff"]["before"]["hosts"]["esxi-02.sim.local"] == url
    assert chk["diff"]["after"]["hosts"]["esxi-02.sim.local"] == ""
    assert "-        esxi-02.sim.local: %s" % url in text and "+        esxi-02.sim.local: ''" in text
    clear = r["clear"]
    assert clear["changed"] is True                              # check mode had left the URL in place
    assert all(h["url_before"] == url and h["url_after"] == "" for h in clear["hosts"])
    assert r["clear_again"]["changed"] is False
    assert {n: sim.state(n)["gueststore_url"] for n in CLUSTER_HOSTS} == {n: "" for n in CLUSTER_HOSTS}


def test_512_mib_refusal_names_the_file(play):
    r = play[0]["too_big"]
    assert r["failed"] is True and r["error_kind"] == "input" and r["too_large"] == ["huge.iso"]
    assert "huge.iso (536870913 bytes)" in r["msg"] and "refused before any upload" in r["msg"]
    assert r["hosts"] == [] and r["changed"] is False


def test_host_below_7u2(play):
    r, _text, sim = play
    f = r["old_host"]
    assert f["failed"] is True and f["error_kind"] == "precheck" and f["failed_hosts"] == ["esxi-10.sim.local"]
    assert "esxi-10.sim.local: GuestStore needs ESXi 7.0 Update 2 or later" in f["msg"]
    hosts = {h["name"]: h for h in f["hosts"]}
    assert hosts["esxi-11.sim.local"]["changed"] is False and "failed" not in hosts["esxi-11.sim.local"]
    assert f["changed"] is False


def test_host_7u2_warning(play):
    r, text, sim = play
    w = r["u2_host"]
    assert w.get("failed") is not True and w["changed"] is True
    assert any("Windows guests only" in x and "7.0 Update 3" in x for x in w["warnings"])
    assert "[WARNING]" in text
    assert sim.state("esxi-11.sim.local")["gueststore_url"] == w["hosts"][0]["url_after"]


def test_datastore_does_not_exist(play):
    f = play[0]["no_datastore"]
    assert f["failed"] is True and f["error_kind"] == "not_found" and f["failed_hosts"] == CLUSTER_HOSTS
    assert "datastore does-not-exist not found (datastores: C1-shared)" in f["msg"]
    assert f["changed"] is False and not any(h["changed"] for h in f["hosts"])


def test_wrong_credentials(play):
    r, text, _sim = play
    f = r["bad_password"]
    assert f["failed"] is True and f["error_kind"] == "authentication" and f["changed"] is False
    assert BAD_PASSWORD not in text and BAD_PASSWORD not in json.dumps(r)
    assert play[2].password not in text


def test_bad_options(play):
    f = play[0]["bad_options"]
    assert f["failed"] is True and "mutually exclusive" in f["msg"]
