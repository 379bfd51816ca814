"""Action groups: `group/fleetpatch.esxi.vmware` (the name vmware.vmware users know) and `group/fleetpatch.esxi.esxi`
hold exactly the modules that connect to vCenter/ESXi, and every one of them takes the whole vmware.vmware
connection set (proxy_host/proxy_port included), so ONE YAML anchor can feed both collections' groups. Modules that
do not connect are in no group and accept no connection option: a group default (validate_certs: false) never
reaches their own options. Runs real ansible-doc and ansible-playbook."""
import json
import os
import socket
import subprocess
import sys

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
BUNDLE = os.path.join(ROOT, "tests", "fixtures", "real", "itiligent__ESXi-Custom-ISO", "8-updates",
                      "ESXi80U3-VMKUSB-NIC-FLING-75399077-component-24052746.zip")
CONNECTION = {"hostname", "username", "password", "port", "validate_certs", "ca_path", "proxy_host", "proxy_port"}
BIN = os.path.dirname(sys.executable)


def _env(tmp_path):
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "home"),
                ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "rtmp"))


def test_groups_hold_exactly_the_connecting_modules(tmp_path):
    runtime = yaml.safe_load(open(os.path.join(ROOT, "meta", "runtime.yml")))
    groups = runtime["action_groups"]
    assert groups["vmware"] == [{"metadata": {"extend_group": ["fleetpatch.esxi.esxi"]}}]
    modules = sorted(os.path.splitext(f)[0] for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                     if f.endswith(".py") and not f.startswith("_"))
    proc = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json"] + ["fleetpatch.esxi.%s" % m for m in modules],
                          cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    docs = json.loads(proc.stdout)
    connecting = set()
    for m in modules:
        options = set(docs["fleetpatch.esxi.%s" % m]["doc"]["options"])
        if "hostname" in options:
            assert CONNECTION <= options, (m, CONNECTION - options)
            connecting.add(m)
        else:
            assert not (CONNECTION - {"validate_certs"}) & options, (m, "accepts connection options it ignores")
    assert sorted(groups["esxi"]) == sorted(connecting)
    assert "port" not in docs["fleetpatch.esxi.depot_serve"]["doc"]["options"]


def test_one_anchor_for_both_groups_and_no_leak_into_depot_modules(tmp_path):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()

    report_in = [{"name": "esx-01", "version": "8.0.2", "build": "22380479", "compliant": True,
                  "installed": [], "missing": [], "superseded": [], "not_applicable": []}]
    # The pattern the README documents: one anchor for several groups. With vmware.vmware installed the README adds
    # `group/vmware.vmware.vmware: *vcenter` (ansible-core refuses a group of a collection that is not installed,
    # and vmware.vmware is not installed here); its modules take the same option names (hostname, username,
    # password, port, validate_certs, proxy_host, proxy_port).
    head = """
- name: group defaults
  hosts: localhost
  gather_facts: false
  vars:
    vcenter: &vcenter
      hostname: 127.0.0.1
      port: %d
      username: administrator@vsphere.local
      password: Gr0up-Default-Secret
      validate_certs: false
      proxy_host: 127.0.0.1
      proxy_port: %d
  module_defaults:
    group/fleetpatch.esxi.vmware: *vcenter
    group/fleetpatch.esxi.esxi: *vcenter
""" % (dead_port, dead_port)
    tasks = [
        {"name": "depot info", "fleetpatch.esxi.esxi_depot_info": {"depot": [BUNDLE]}, "register": "info"},
        {"name": "validate", "fleetpatch.esxi.vib_profile_validate": {
            "depot": [BUNDLE], "vibs": ["vmkusb-nic-fling"], "fail_on": "never"}, "register": "val"},
        {"name": "build", "fleetpatch.esxi.depot_build": {"depot": [BUNDLE], "dest": str(tmp_path / "depot")},
         "check_mode": True, "register": "build"},
        {"name": "serve stopped", "fleetpatch.esxi.depot_serve": {
            "state": "stopped", "state_dir": str(tmp_path / "serve")}, "register": "serve"},
        {"name": "report", "fleetpatch.esxi.compliance_report": {
            "results": report_in, "dest": str(tmp_path / "report"), "formats": ["json"]}, "register": "rep"},
        {"name": "a connecting module gets the group defaults", "fleetpatch.esxi.esxi_host_tag": {
        "state": "absent", "esxi_hostname": ["esxi-01"]}, "register": "tag", "ignore_errors": True},
        {"name": "save", "ansible.builtin.copy": {
        "content": "{{ {'info': info.counts, 'val': val.findings | map(attribute='type') | unique | list, "
                   "'build': build.changed, 'serve': serve.changed, 'rep': rep.changed, "
                   "'tag_failed': tag.failed, 'tag_msg': tag.msg} | to_json }}",
        "dest": str(tmp_path / "out.json"), "mode": "0600"}},
    ]
    pb = tmp_path / "pb.yml"
    pb.write_text(head + "  tasks:\n" + "\n".join("    " + line for line in yaml.safe_dump(tasks).splitlines()) + "\n")
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(pb), "-v"],
                          cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Gr0up-Default-Secret" not in out
    res = json.loads((tmp_path / "out.json").read_text())
    assert res["info"]["bulletins"] == 1
    assert res["val"] == ["missing_dependency"]  # the fling alone lacks the vmkapi its ESXi provides
    assert res["build"] is True and res["serve"] is False
    # the connecting module received the shared defaults (proxy options accepted) and tried the dead proxy
    assert res["tag_failed"] is True and "Unsupported parameters" not in res["tag_msg"], res["tag_msg"]
    assert "127.0.0.1" in res["tag_msg"], res["tag_msg"]
