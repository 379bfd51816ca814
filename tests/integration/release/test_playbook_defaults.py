# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Playbooks that behave when the collection is installed: outputs go under a user-chosen folder
(fleetpatch_output_dir, default ~/.ansible/fleetpatch), never next to the playbook inside the collection; a target
pattern that matches no host fails the run loudly instead of exiting 0 having done nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.tooling import needs_tool, tool_path

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
PLAYBOOK = tool_path("ansible-playbook")
pytestmark = needs_tool("ansible-playbook")


def _run(tmp_path, args, home=None):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "ah"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "t"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "r"), ANSIBLE_NOCOLOR="1",
               HOME=str(home or tmp_path / "home"))
    proc = subprocess.run([PLAYBOOK] + args, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=300)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


@pytest.mark.parametrize("playbook", ["scan.yml", "remediate.yml", "gueststore.yml"])
def test_target_matching_no_host_fails_loudly(tmp_path, playbook):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"children": {"some_other_group": {"hosts": {"esxi-01": None}}}}}))
    rc, out = _run(tmp_path, ["-i", str(inventory), os.path.join(ROOT, "playbooks", playbook),
                              "-e", '{"depot_sources": ["/nonexistent.zip"]}'])
    assert rc != 0, out
    assert "No inventory host matches the target pattern 'esxi_hosts'" in out, out[-3000:]
    rc, out = _run(tmp_path, ["-i", str(inventory), os.path.join(ROOT, "playbooks", playbook),
                              "-e", '{"depot_sources": ["/nonexistent.zip"], "esxi_target": "no_such_group"}'])
    assert rc != 0 and "'no_such_group'" in out, out[-3000:]


@pytest.mark.parametrize("out_dir", [None, "custom"])
def test_role_outputs_default_under_the_output_folder(tmp_path, out_dir):
    home = tmp_path / "home"
    play = [{"name": "defaults", "hosts": "localhost", "gather_facts": False,
             "roles": [{"role": "fleetpatch.esxi.depot"}, {"role": "fleetpatch.esxi.patch_scan"},
                       {"role": "fleetpatch.esxi.compliance_report", "vars": {"compliance_report_results": []}}],
             "vars": {"patch_scan_depot": ["/nonexistent"]},
             "post_tasks": [{"name": "save", "tags": ["only_this"], "ansible.builtin.copy": {
                 "dest": str(tmp_path / "out.json"), "mode": "0600",
                 "content": "{{ {'depot': depot_path, 'scan': patch_scan_report_dest, "
                            "'report': compliance_report_dest} | to_json }}"}}]}]
    pb = tmp_path / "pb.yml"
    pb.write_text(json.dumps(play))
    extra = ["-e", json.dumps({"fleetpatch_output_dir": str(tmp_path / out_dir)})] if out_dir else []
    rc, out = _run(tmp_path, ["-i", "localhost,", "-c", "local", str(pb), "--tags", "only_this", "-e",
                              "ansible_python_interpreter=%s" % sys.executable] + extra,
                   home=home)
    assert rc == 0, out[-3000:]
    got = json.loads((tmp_path / "out.json").read_text())
    base = str(tmp_path / out_dir) if out_dir else str(home / ".ansible" / "fleetpatch")
    assert got == {"depot": base + "/depot", "scan": base + "/reports", "report": base + "/reports"}
    assert not any(ROOT in v for v in got.values())
