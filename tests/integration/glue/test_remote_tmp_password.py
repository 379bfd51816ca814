# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the vCenter password lands on disk when ansible-playbook is killed (SIGKILL) in the middle of a module.

Without pipelining, Ansible writes ``AnsiballZ_<module>.py`` (the module *and its arguments*, password
included) into the remote temporary folder and only removes it when the task ends: after a kill the file stays.
With pipelining (``ANSIBLE_PIPELINING=1``, ``pipelining = True`` or ``ansible_pipelining: true``) the module is
sent over stdin and no file is written. With the password from the environment (``VMWARE_PASSWORD``, as AWX's
VMware credential injects it) it is not in the module arguments at all. This test shows all three.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.tooling import needs_tool, tool_path

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PLAYBOOK = tool_path("ansible-playbook")
PASSWORD = "Vc-Pa55w0rd-planted"

pytestmark = [pytest.mark.network, pytest.mark.slow,
              needs_tool("ansible-playbook")]

PLAY = """
- name: Scan against a vCenter that never answers
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Scan
      fleetpatch.esxi.esxi_patch_scan:
        hostname: 127.0.0.1
        port: "{{ port }}"
        username: administrator@vsphere.local
        password: "{{ password | default(omit) }}"
        validate_certs: false
        depot: ["{{ depot }}"]
"""
DEPOT = os.path.join(ROOT, "tests", "fixtures", "real", "money114__ESXI-Customized-Drives", "8.0u3",
                     "Intel-esx-nvmupdaten64e_1.43.28.0-800.20613240.zip")


class Silent:
    """A TCP server that accepts connections and never answers (the module hangs in the TLS handshake)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


def _kill_mid_module(tmp_path, pipelining, password_in_env):
    rtmp = tmp_path / "rtmp"
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    srv = Silent()
    extra = {"port": srv.port, "depot": DEPOT, "ansible_python_interpreter": sys.executable}
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_REMOTE_TEMP=str(rtmp),
               ANSIBLE_PIPELINING="1" if pipelining else "0", ANSIBLE_KEEP_REMOTE_FILES="0")
    if password_in_env:
        env["VMWARE_PASSWORD"] = PASSWORD
    else:
        extra["password"] = PASSWORD
    proc = subprocess.Popen([PLAYBOOK, str(play), "-e", json.dumps(extra)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 90
        while time.time() < deadline and not srv.conns:      # the module is running: it connected
            time.sleep(0.1)
        assert srv.conns, "the module never connected"
        os.killpg(proc.pid, signal.SIGKILL)                    # ansible-playbook and the module, no cleanup
        proc.wait()
    finally:
        srv.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    found = []
    for dirpath, _dirs, files in os.walk(str(rtmp)):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                if PASSWORD.encode() in f.read():
                    found.append(name)
    return found


def test_without_pipelining_a_kill_leaves_the_password_in_ansiballz(tmp_path):
    found = _kill_mid_module(tmp_path, pipelining=False, password_in_env=False)
    assert found and all(n.startswith("AnsiballZ_") for n in found)      # the documented risk, shown


def test_with_pipelining_nothing_is_written(tmp_path):
    assert _kill_mid_module(tmp_path, pipelining=True, password_in_env=False) == []


def test_password_from_the_environment_is_not_in_the_module_file(tmp_path):
    assert _kill_mid_module(tmp_path, pipelining=False, password_in_env=True) == []
