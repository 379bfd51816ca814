# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""depot_serve through real ansible-playbook runs: two playbooks serving different folders under the default
name do not stop each other's servers, and the server of a killed run is stopped by the next run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.tooling import needs_tool, tool_path

from depot_http_helpers import ROOT

PLAYBOOK = tool_path("ansible-playbook")

pytestmark = [pytest.mark.network, pytest.mark.slow,
              needs_tool("ansible-playbook")]

PLAY = """
- name: Serve a folder under the default name, wait, then stop "depot"
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Serve
      fleetpatch.esxi.depot_serve:
        path: "{{ folder }}"
        listen_port: 0
        state_dir: "{{ state_dir }}"
      register: served

    - name: Tell the test where
      ansible.builtin.copy:
        content: "{{ served | to_json }}"
        dest: "{{ folder }}.json"
        mode: "0600"

    - name: Wait for the go
      ansible.builtin.wait_for:
        path: "{{ go }}"
        timeout: 120

    - name: Stop the server named depot
      fleetpatch.esxi.depot_serve:
        state: stopped
        state_dir: "{{ state_dir }}"
      register: stopped
      when: stop | bool

    - name: Tell the test
      ansible.builtin.copy:
        content: "{{ stopped | default({}) | to_json }}"
        dest: "{{ folder }}.stopped.json"
        mode: "0600"
"""


def _env(tmp_path):
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "rtmp"),
               ANSIBLE_NOCOLOR="1")
    return env


def _run(tmp_path, name, stop=True):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "index.xml").write_text("<%s/>" % name)
    extra = {"folder": str(folder), "state_dir": str(tmp_path / "state"), "go": str(tmp_path / ("go-" + name)),
             "stop": stop, "ansible_python_interpreter": sys.executable}
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    proc = subprocess.Popen([PLAYBOOK, str(play), "-e", json.dumps(extra)], cwd=ROOT, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, folder


def _served(folder, proc, timeout=120):
    path = str(folder) + ".json"
    deadline = time.time() + timeout
    while time.time() < deadline and not os.path.exists(path):
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.2)
    time.sleep(0.2)
    with open(path) as f:
        return json.load(f)


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read()


def _finish(proc, timeout=180):
    out = proc.communicate(timeout=timeout)[0].decode("utf-8", "replace")
    assert proc.returncode == 0, out
    return out


def test_two_playbooks_never_stop_each_other_and_a_killed_runs_server_is_cleaned(tmp_path):
    a, folder_a = _run(tmp_path, "a")
    b, folder_b = _run(tmp_path, "b")
    try:
        sa, sb = _served(folder_a, a), _served(folder_b, b)
        assert sa["pid"] != sb["pid"] and sa["run_id"] != sb["run_id"]
        # run B stops "depot" and ends: run A's server (another folder) keeps serving
        (tmp_path / "go-b").write_text("go")
        _finish(b)
        with open(str(folder_b) + ".stopped.json") as f:
            assert json.load(f)["changed"] is True
        assert _get(sa["index_url"]) == b"<a/>"
        # run C starts a server and is killed (SIGKILL: no cleanup at all)
        c, folder_c = _run(tmp_path, "c")
        sc = _served(folder_c, c)
        assert _get(sc["index_url"]) == b"<c/>"
        os.killpg(c.pid, signal.SIGKILL)
        c.wait()
        # run A's next task (stop) cleans up run C's orphan as well as its own server
        (tmp_path / "go-a").write_text("go")
        _finish(a)
        for url in (sa["index_url"], sc["index_url"]):
            with pytest.raises(OSError):
                _get(url)
        assert [n for n in os.listdir(str(tmp_path / "state")) if n.endswith(".json")] == []
    finally:
        for p in (a, b):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
