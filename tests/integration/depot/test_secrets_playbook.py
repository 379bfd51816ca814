# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planted secrets never leave a real ansible-playbook run: not in stdout (-vvv), not in ansible.log, not in
syslog (the module's ``Invoked with`` line), not in any file written (depot HTTP cache, built depot, manifest,
home and temp folders).

Syslog is captured honestly: what ``AnsibleModule.log`` sends over ``/dev/log`` (a unix datagram socket bound
by this test when the machine has none, as in containers), else through a ``sitecustomize`` that records every
``syslog.syslog`` call of the module process.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from tests.tooling import needs_tool, tool_path

from depot_http_helpers import ROOT, DepotServer, build_online_depot, closed_port

PLAYBOOK = tool_path("ansible-playbook")

# Planted secrets: several lengths and shapes.
PATH19 = "aB3dE5fG7hI9jK1lM2n"               # a short path token (19 characters)
QUERY_T = "Zq7Wx"                           # a ?t= value (5 characters)
QUERY_TOKEN = "k9Lm2Np4Qr8sT"               # a ?token= value
LONG = "Qw3Er4Ty5Ui6Op7As8Df9Gh0Jk1Lz2Xc3Vb"   # a long path token (35 characters)
PROXY_PW = "pr0xy-Pa55"                     # a proxy password
SECRETS = (PATH19, QUERY_T, QUERY_TOKEN, LONG, PROXY_PW)

pytestmark = [pytest.mark.network, pytest.mark.slow,
              needs_tool("ansible-playbook")]

PLAY = """
- name: Planted secrets
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Online depot behind a path token and query tokens
      fleetpatch.esxi.esxi_depot_info:
        depot: ["{{ good_url }}"]
        cache_dir: "{{ cache_dir }}"
      register: good

    - name: The depot was read
      ansible.builtin.assert:
        that: [good.counts.vibs > 0]

    - name: A failing depot (closed port) behind a long token
      fleetpatch.esxi.esxi_depot_info:
        depot: ["{{ bad_url }}"]
        proxy: "{{ proxy_url }}"
        timeout: 3
      register: bad
      ignore_errors: true

    - name: It failed cleanly
      ansible.builtin.assert:
        that: [bad is failed, "'Unexpected' not in bad.msg"]

    - name: A bad option with a token URL (argument validation fails before the module runs)
      fleetpatch.esxi.esxi_depot_info:
        depot: ["{{ good_url }}"]
        timeout: not-a-number
      ignore_errors: true

    - name: Build a depot from the tokenised online depot
      fleetpatch.esxi.depot_build:
        depot: ["{{ good_url }}"]
        dest: "{{ build_dest }}"
        cache_dir: "{{ cache_dir }}"
      register: built

    - name: Built
      ansible.builtin.assert:
        that: [built is changed]
"""


class SyslogCapture:
    """A fake ``/dev/log``: a unix datagram socket whose messages are collected in a thread."""

    def __init__(self, path="/dev/log"):
        self.path = path
        self.messages = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.settimeout(0.2)
        self._stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self._stop:
            try:
                self.messages.append(self.sock.recv(65536).decode("utf-8", "replace"))
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


SITECUSTOMIZE = '''
import os, syslog
_orig = syslog.syslog
def _capture(*args):
    with open(os.environ["FP_SYSLOG_CAPTURE"], "a") as f:
        f.write(repr(args) + "\\n")
    return _orig(*args)
syslog.syslog = _capture
'''


def _all_files(top):
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            yield os.path.join(dirpath, name)


def test_planted_secrets_appear_nowhere(tmp_path):
    served = tmp_path / "served"
    (served / PATH19).mkdir(parents=True)
    srv = DepotServer(str(served))
    lock = open(os.path.join(ROOT, ".cache", "fake-dev-log.lock") if os.path.isdir(os.path.join(ROOT, ".cache"))
                else str(tmp_path / "lock"), "w")
    capture = None
    sitecustom = tmp_path / "sitecustom"
    syslog_file = tmp_path / "out" / "syslog.txt"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    try:
        build_online_depot(str(served / PATH19), srv.url("/%s/" % PATH19))
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists("/dev/log") and os.access("/dev", os.W_OK):
            capture = SyslogCapture()
        extra = {
            "good_url": srv.url("/%s/index.xml?t=%s&token=%s" % (PATH19, QUERY_T, QUERY_TOKEN)),
            "bad_url": "http://127.0.0.1:%d/%s/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml" % (closed_port(), LONG),
            "proxy_url": "http://user:%s@127.0.0.1:%d" % (PROXY_PW, closed_port()),
            "cache_dir": str(out_dir / "cache"),
            "build_dest": str(out_dir / "built"),
            "ansible_python_interpreter": sys.executable,
        }
        play = out_dir / "play.yml"
        play.write_text(PLAY)
        env = dict(os.environ)
        env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(out_dir / "home"),
                   ANSIBLE_LOCAL_TEMP=str(out_dir / "tmp"), ANSIBLE_REMOTE_TEMP=str(out_dir / "rtmp"),
                   ANSIBLE_LOG_PATH=str(out_dir / "ansible.log"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_KEEP_REMOTE_FILES="0")
        if capture is None:            # a real /dev/log exists: record the module's syslog calls instead
            sitecustom.mkdir()
            (sitecustom / "sitecustomize.py").write_text(SITECUSTOMIZE)
            env["PYTHONPATH"] = os.pathsep.join([str(sitecustom)] + [p for p in [env.get("PYTHONPATH")] if p])
            env["FP_SYSLOG_CAPTURE"] = str(syslog_file)
        for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
            env.pop(k, None)
        proc = subprocess.run([PLAYBOOK, "-vvv", str(play), "-e", json.dumps(extra)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        stdout = proc.stdout.decode("utf-8", "replace")
        assert proc.returncode == 0, stdout
    finally:
        if capture is not None:
            capture.close()
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
        srv.close()
    syslog_text = "\n".join(capture.messages) if capture is not None else syslog_file.read_text()
    invoked = [line for line in syslog_text.splitlines() if "Invoked with" in line and "esxi_depot_info" in line]
    assert len(invoked) >= 2, syslog_text      # the capture really saw the modules' invocation lines
    assert any("127.0.0.1" in line and "********" in line for line in invoked), invoked
    assert "ansible.log" and (out_dir / "ansible.log").stat().st_size > 0
    assert os.listdir(out_dir / "cache"), "the HTTP cache was used"
    leaks = []
    for secret in SECRETS:
        if secret in stdout:
            leaks.append(("stdout", secret))
        if secret in syslog_text:
            leaks.append(("syslog", secret))
        for path in _all_files(str(out_dir)):
            if secret in path[len(str(out_dir)):]:
                leaks.append((path, secret))
            with open(path, "rb") as f:
                if secret.encode() in f.read():
                    leaks.append((path, secret))
    assert leaks == []
    # the run really used the tokenised URLs (the server saw the path token)
    assert any(PATH19 in path for path, _headers in srv.requests)
