# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared helpers of the patch integration tests (a uniquely named module, importable from the tests): the real
fixture bundles, expected scan results, module options, ansible-playbook runner."""

from __future__ import annotations
from tests.tooling import tool_path

import glob
import json
import os
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))

from tests.simulator.harness import Simulator  # noqa: E402,F401  (re-exported for the tests)

REAL = os.path.join(ROOT, "tests", "fixtures", "real")
PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks")
ANSIBLE_PLAYBOOK = tool_path("ansible-playbook")

# Every real offline bundle / component of the fixtures: USB NIC flings for 6.5, 6.7, 7.0U3, 8.0, 8.0U1, U2, U3
# (three builds) and 9.0, nvme-community 6.7/7.0, net-community 7.0, Realtek Re 8.0 and r8125, Intel nvmupdate 8.0,
# ghettoVCB, V-Front (sata-xahci, net-forcedeth, net51-r8169, net55-r8168, net-igb).
REAL_BUNDLES = (sorted(glob.glob(os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "*", "*.zip")))
                + sorted(glob.glob(os.path.join(REAL, "money114__ESXI-Customized-Drives", "*", "*.zip")))
                + [os.path.join(REAL, "lamw__ghettoVCB", "2020-12-29_37290df1", "vghetto-ghettoVCB-offline-bundle.zip")])

# what a scan must find missing with the depot of all REAL_BUNDLES (the host's own answer agrees, see the tests).
# Platform rule (_vibversion.platform_version_matches, same in the simulator): "7.0.0"/"8.0.0" name the release
# line, so VMware's 7.0.0 community drivers apply to 7.0U3 and the 8.0.0 Realtek Re driver to 8.0U2; the Intel
# nvmupdate 8.0.0 component needs libraries (libvmkuser-8.0.0-1, ...) no host and no bulletin provides.
EXPECTED_MISSING = {
    "esxi-6.7.0-ga.json": ["ESXi670-VMKUSB-NIC-FLING-39203948", "nvme-community-driver_1.0.1.0-1vmw.670.0.0.8169922",
                           "sata-xahci-1.42-1"],
    "esxi-7.0u3.json": ["Net-Community-Driver_1.2.7.0-1vmw.700.1.0.15843807",
                        "VMware-nvme-community_1.0.1.0-3vmw.700.1.0.15843807",
                        "VMware-vmkusb-nic-fling_1.10-1vmw.703.0.50.55634242"],
    "esxi-8.0u2.json": ["VMware-Re-Driver_1.101.01-5vmw.800.1.0.20613240",
                        "VMware-vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"],
}
# The host engine of a 6.x host checks no software platform (esximage 6.5/6.7, facts "Validation"): these bulletins
# for other releases have their dependencies met on the 6.7 GA image, so the host reports them as missing too.
# The controller engine still filters by platform (ASSUMED rule of _patch/classify.py).
HOST_ENGINE_EXTRA_67 = ["ghettoVCB", "net-forcedeth-1-1.0.0-1", "net-igb-5.3.2-99", "net-r8125",
                        "net55-r8168-8.045a-napi"]
B_80U2 = "VMware-vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
V_80U2 = "VMW_bootbank_vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
B_80U3_7 = "VMware-vmkusb-nic-fling_1.14-7vmw.803.0.95.93415869"
V_80U3_7 = "VMW_bootbank_vmkusb-nic-fling_1.14-7vmw.803.0.95.93415869"
B_703 = "VMware-vmkusb-nic-fling_1.10-1vmw.703.0.50.55634242"
V_703 = "VMW_bootbank_vmkusb-nic-fling_1.10-1vmw.703.0.50.55634242"


class Depots(object):
    """The depots of one test module on its own HTTP server: ``all`` (every real bundle merged into one depot with
    one metadata.zip, as a vendor would publish them), ``upd`` (the simulator's SYNTHETIC ESXi 8.0.3 update with
    its image profile)."""

    def __init__(self, srv):
        self.srv = srv
        self.all_url = srv.make_depot("all", REAL_BUNDLES)
        self.all_path = os.path.join(srv.root, "all")
        self.upd_url = srv.make_esxi_update_depot()
        self.upd = dict(srv.last_update)
        self.upd_path = os.path.join(srv.root, "esxi-8.0u3-synthetic")


def params(sim, depot, **kw):
    """Module options for scan.run_scan/deploy.run_deploy (the defaults of the modules' argument specs)."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import options as _patching
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import target_argument_spec
    p = dict(hostname=sim.host, username=sim.user, password=sim.password, port=sim.port, validate_certs=True,
             depot=depot, product_line=None, version=None, depot_validate_certs=True, proxy=None, cache_dir=None,
             timeout=30)
    for spec in (target_argument_spec(), _patching.scan_options(), _patching.selection_options(),
                 _patching.deploy_options()):
        for k, v in spec.items():
            p[k] = v.get("default")
    p.update(kw)
    return p


def run_playbook(tmp_path, playbook, sim, extra, timeout=420):
    """Run ``playbooks/<playbook>`` with ansible-playbook; returns (results dict written by the play, output).

    The playbook writes every registered result into ``{{ out_file }}``. Connection: the simulator on 127.0.0.1 with
    ``validate_certs: true``, its CA given through ``$REQUESTS_CA_BUNDLE``."""
    out_file = str(tmp_path / "results.json")
    vars_file = tmp_path / "vars.json"
    data = {"sim_host": sim.host, "sim_port": sim.port, "sim_user": sim.user, "sim_password": sim.password,
            "out_file": out_file, "ansible_python_interpreter": sys.executable}
    data.update(extra)
    vars_file.write_text(json.dumps(data))
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "rtmp"),
               ANSIBLE_ASYNC_DIR=str(tmp_path / "async"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, REQUESTS_CA_BUNDLE=sim.ca_file)
    proc = subprocess.run([ANSIBLE_PLAYBOOK, os.path.join(PLAYBOOKS, playbook), "-e", "@%s" % vars_file],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    text = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, text[-6000:]
    with open(out_file) as fh:
        return json.load(fh), text


def missing_ids(host_result):
    return [e["id"] for e in host_result["missing"]]


def reported_events(results):
    """{host name: [event messages]} the deploy results report (``hosts[].events``), over every result."""
    out = {}
    for r in results.values() if isinstance(results, dict) else results:
        for h in (r.get("hosts") or []) if isinstance(r, dict) else []:
            for e in h.get("events") or []:
                out.setdefault(h["name"], []).append(e["message"])
    return out


def logged_events(sim, host, since=None):
    """The user events of ``host`` read back from the simulator through the client layer
    (VSphereClient.host_events: EventHistoryCollector), oldest first."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
    with VSphereClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file, timeout=10) as c:
        return c.host_events(c.host(host), since=since, event_types=["GeneralUserEvent"], max_count=1000)
