# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleetpatch.esxi.esxi_depot_info run by a real ansible-playbook subprocess (collection found through
ansible.cfg's collections_path), against local fixtures and a depot served on 127.0.0.1. The playbook
(depot_info_playbook.yml) asserts on every result; this test checks that all its tasks ran and passed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.tooling import tool_path

from depot_http_helpers import REAL, ROOT, DepotServer, build_online_depot, closed_port

PLAYBOOK = tool_path("ansible-playbook")
HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "Qw3Er4Ty5Ui6Op7As8Df9Gh0Jk1Lz2Xc3Vb"

pytestmark = [pytest.mark.network, pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "ansible.cfg")) or not os.path.exists(PLAYBOOK),
                                 reason="needs ansible.cfg and .venv/bin/ansible-playbook (make venv)")]


def test_playbook(tmp_path):
    online = tmp_path / "online"
    online.mkdir()
    srv = DepotServer(str(online))
    try:
        build_online_depot(str(online), srv.url("/"))
        laughs = tmp_path / "laughs" / "vibs"
        laughs.mkdir(parents=True)
        (laughs / "laughs.xml").write_bytes(
            b'<!DOCTYPE vib [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><vib>&b;</vib>')
        extra = {
            "intel_bundle": os.path.join(REAL, "money114__ESXI-Customized-Drives/8.0u3/"
                                               "Intel-esx-nvmupdaten64e_1.43.28.0-800.20613240.zip"),
            "host_db": os.path.join(REAL, "ljvblfz__ESXi/var/db/esximg"),
            "online_index": srv.url("index.xml"),
            "cache_dir": str(tmp_path / "cache"),
            "laughs_dir": str(tmp_path / "laughs"),
            "token_url": "http://127.0.0.1:%d/%s/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml" % (closed_port(), TOKEN),
            "token": TOKEN,
            "ansible_python_interpreter": sys.executable,
        }
        env = dict(os.environ)
        env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "home"),
                   ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "rtmp"),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default")
        for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
            env.pop(k, None)
        proc = subprocess.run([PLAYBOOK, os.path.join(HERE, "depot_info_playbook.yml"), "-e", json.dumps(extra)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
        out = proc.stdout.decode("utf-8", "replace")
        assert proc.returncode == 0, out
        recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                          r"\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)", out)
        assert recap, out
        ok, changed, unreachable, failed, skipped, rescued, ignored = map(int, recap.groups())
        assert (ok, changed, failed, ignored) == (12, 0, 0, 2), out
        assert TOKEN not in out
        # the HTTP depot was really used, with a 304-capable cache
        assert srv.counts["/index.xml"] == 1 and srv.counts["/esx/vmw/vmw-ESXi-80-metadata.zip"] == 1
        assert srv.counts["/other/vmw-ESXi-70-metadata.zip"] == 0
        assert os.listdir(tmp_path / "cache" / "depot")
    finally:
        srv.close()
