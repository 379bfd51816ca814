"""`module_defaults: group/fleetpatch.esxi.esxi` with the connection options must work for EVERY module of the
action group, including those that never connect (they accept and ignore the options). Runs real ansible-playbook."""
import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
BUNDLE = os.path.join(ROOT, "tests", "fixtures", "real", "itiligent__ESXi-Custom-ISO", "8-updates",
                      "ESXi80U3-VMKUSB-NIC-FLING-75399077-component-24052746.zip")


def test_every_module_of_the_group_accepts_group_connection_defaults(tmp_path):
    runtime = yaml.safe_load(open(os.path.join(ROOT, "meta", "runtime.yml")))
    group = runtime["action_groups"]["esxi"]
    modules = sorted(os.path.splitext(f)[0] for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                     if f.endswith(".py") and not f.startswith("_"))
    assert sorted(group) == modules, "every module must be in the action group"

    report_in = [{"name": "esx-01", "version": "8.0.2", "build": "22380479", "compliant": True,
                  "installed": [], "missing": [], "superseded": [], "not_applicable": []}]
    playbook = [{
        "name": "group defaults",
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {"group/fleetpatch.esxi.esxi": {
            "hostname": "vcenter.example.com", "username": "administrator@vsphere.local",
            "password": "Gr0up-Default-Secret", "port": 443, "validate_certs": True, "ca_path": "/nonexistent"}},
        "tasks": [
            {"name": "depot info", "fleetpatch.esxi.esxi_depot_info": {"depot": [BUNDLE]}, "register": "info"},
            {"name": "validate", "fleetpatch.esxi.vib_profile_validate": {
                "depot": [BUNDLE], "vibs": ["vmkusb-nic-fling"], "fail_on": "never"}, "register": "val"},
            {"name": "build", "fleetpatch.esxi.depot_build": {"depot": [BUNDLE], "dest": str(tmp_path / "depot")},
             "check_mode": True, "register": "build"},
            {"name": "serve stopped", "fleetpatch.esxi.depot_serve": {
                "state": "stopped", "state_dir": str(tmp_path / "serve")}, "register": "serve"},
            {"name": "report", "fleetpatch.esxi.compliance_report": {
                "results": report_in, "dest": str(tmp_path / "report"), "formats": ["json"]}, "register": "rep"},
            {"name": "save", "ansible.builtin.copy": {
                "content": "{{ {'info': info.counts, 'val': val.findings | map(attribute='type') | unique | list, 'build': build.changed, 'serve': serve.changed,"
                           " 'rep': rep.changed} | to_json }}",
                "dest": str(tmp_path / "out.json"), "mode": "0600"}},
        ],
    }]
    pb = tmp_path / "pb.yml"
    pb.write_text(yaml.safe_dump(playbook))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(pb), "-v"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Gr0up-Default-Secret" not in out
    res = json.loads((tmp_path / "out.json").read_text())
    assert res["info"]["bulletins"] == 1
    assert res["val"] == ["missing_dependency"]  # the fling alone lacks the vmkapi its ESXi provides
    assert res["build"] is True and res["serve"] is False
