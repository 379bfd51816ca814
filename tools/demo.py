#!/usr/bin/env python3
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``make demo``: the main job of the collection, end to end, on simulated hosts.

1. Starts the ESXi/vCenter simulator (tests/simulator/harness.py): a vCenter with two clusters of three hosts
   (``Prod`` on ESXi 8.0 U2, ``Legacy`` on ESXi 7.0 U3; one Prod host already carries a driver the others
   lack) and one standalone ESXi 6.7 host reached directly. Plus a stand-in for Broadcom's online depot: an
   HTTP server on 127.0.0.1 that serves a SYNTHETIC ESXi 8.0.3 update behind a download-token URL.
2. Writes an inventory and a variables file (``.cache/demo/``), like a user would.
3. The image-managed cluster ``Edge`` (vSphere Lifecycle Manager, 2 x ESXi 8.0 U2) gets its desired image first:
   serves the ESXi 8.0 U3 offline bundle with ``depot_serve``, has vCenter pull it (``esxi_vlcm_depot``), reads the
   cluster's image (``esxi_cluster_image_info``) and sets the 8.0 U3 base image (``esxi_cluster_image``).
4. Runs ``playbooks/scan.yml``: builds a local depot from the real fixture bundles plus a mirror of the online
   depot (the token stays out of every output), scans every host, writes ONE compliance report over both kinds
   of cluster (Edge's hosts judged by their vLCM compliance, explained by the depot's bulletins).
5. Runs ``playbooks/remediate.yml`` ONCE over every host: serves the depot, patches the baseline hosts one at a
   time with bulletins and remediates each Edge host through vLCM (check, then apply), stops serving.
6. Runs ``playbooks/scan.yml`` again, prints the compliance summary (both kinds) and the path of the HTML report.
7. Stops everything (also on failure or Ctrl-C). Exit status 0 when the fleet ends up compliant.

Ansible output goes to ``.cache/demo/logs/``. Usage: ``.venv/bin/python tools/demo.py [--keep]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, ".collections"))

WORK = os.path.join(ROOT, ".cache", "demo")
VENV_BIN = os.path.dirname(os.path.abspath(sys.executable))
PLAYBOOK = os.path.join(VENV_BIN, "ansible-playbook")
REAL = os.path.join(ROOT, "tests", "fixtures", "real")
# A made-up token in the shape of a Broadcom download token: it must not appear in any output.
TOKEN = "dEmO7tOkEn4Xq9Lw2Zr8Vb5Nc1Mh6Jk3Pf0Gs"
BUNDLES = [
    os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "8-updates",
                 "ESXi80U2-VMKUSB-NIC-FLING-67561870-component-22416446.zip"),
    os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "8-updates",
                 "ESXi80U3-VMKUSB-NIC-FLING-75399077-component-24052746.zip"),
    os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "7-updates",
                 "ESXi703-VMKUSB-NIC-FLING-55634242-component-19849370.zip"),
    os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "6-updates",
                 "ESXi670-VMKUSB-NIC-FLING-39203948-offline_bundle-16780994.zip"),
    os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "6-updates",
                 "nvme-community-driver_1.0.1.0-1vmw.670.0.0.8169922-offline_bundle-17658145.zip"),
]
PRE_PATCHED = ("esxi-03.sim.local", "VMware-vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870")
LINE = {"8.0": 24022510, "7.0": 21930508, "6.7": 8169922}
TOPOLOGY = {"datacenters": [{"name": "DC1", "clusters": [
    {"name": "Prod", "hosts": [{"name": "esxi-0%d.sim.local" % i, "image": "esxi-8.0u2.json",
                                "powered_on_vms": 2} for i in (1, 2, 3)]},
    {"name": "Legacy", "hosts": [{"name": "esxi-1%d.sim.local" % i, "image": "esxi-7.0u3.json",
                                  "powered_on_vms": 1} for i in (1, 2, 3)]},
    # managed with a single image (vLCM): patched through vCenter's image, not host by host
    {"name": "Edge", "vlcm": {}, "hosts": [{"name": "esxi-3%d.sim.local" % i, "image": "esxi-8.0u2.json",
                                            "powered_on_vms": 1} for i in (1, 2)]},
]}]}
EDGE_BASE_IMAGE = "8.0.3-0.0.24022510"
STANDALONE = {"hosts": [{"name": "esxi-20.sim.local", "image": "esxi-6.7.0-ga.json"}]}

_T0 = time.monotonic()


def say(text=""):
    print("[%5.1fs] %s" % (time.monotonic() - _T0, text) if text else "", flush=True)


def yaml_dump(data, indent=0):
    """A small YAML writer (JSON-compatible scalars) so the files read like hand-written ones."""
    pad = " " * indent
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(v, (dict, list)) and v:
                out.append("%s%s:" % (pad, k))
                out.append(yaml_dump(v, indent + 2))
            else:
                out.append("%s%s: %s" % (pad, k, json.dumps(v)))
    else:
        for v in data:
            if isinstance(v, (dict, list)) and v:
                out.append("%s-" % pad)
                out.append(yaml_dump(v, indent + 2))
            else:
                out.append("%s- %s" % (pad, json.dumps(v)))
    return "\n".join(out)


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


class Demo(object):
    def __init__(self, keep=False):
        self.keep = keep
        self.vc = self.esx = self.online = None
        self.logs = os.path.join(WORK, "logs")
        self.outputs = []

    # ---- setup -----------------------------------------------------------------------------------------
    def start(self):
        from tests.simulator.fixtures import DepotServer
        from tests.simulator.harness import Simulator

        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(self.logs)
        self.vc = Simulator(mode="vc", topology=TOPOLOGY, reboot_down=1.0).start()
        self.esx = Simulator(mode="esx", topology=STANDALONE, reboot_down=1.0).start()
        say("simulators up: vCenter 127.0.0.1:%d (DC1: Prod 3 x ESXi 8.0 U2, Legacy 3 x ESXi 7.0 U3, image-managed "
            "Edge 2 x ESXi 8.0 U2), "
            "standalone ESXi 6.7 127.0.0.1:%d" % (self.vc.port, self.esx.port))
        self.online = DepotServer(root=os.path.join(WORK, "online")).start()
        os.makedirs(self.online.root, exist_ok=True)
        self.online.make_esxi_update_depot(name="%s/esxi-8.0u3" % TOKEN)
        upd = self.online.last_update
        say("online depot up (stand-in for Broadcom's, behind a download token): SYNTHETIC %s (build %s)"
            % (upd["bulletin"], upd["build"]))
        self.ca_bundle = os.path.join(WORK, "ca-bundle.pem")
        with open(self.ca_bundle, "w") as out:
            for ca in (self.vc.ca_file, self.esx.ca_file):
                with open(ca) as f:
                    out.write(f.read())
        self.write_inventory()

    def write_inventory(self):
        conn = {"vmware_hostname": self.vc.host, "vmware_port": self.vc.port, "vmware_username": self.vc.user,
                "vmware_password": self.vc.password, "vmware_ca_path": self.ca_bundle}
        inventory = {"all": {"children": {"esxi_hosts": {
            "vars": conn,
            "children": {
                "prod": {"hosts": {"esxi-0%d.sim.local" % i: None for i in (1, 2, 3)}},
                "legacy": {"hosts": {"esxi-1%d.sim.local" % i: None for i in (1, 2, 3)}},
                "edge": {"hosts": {"esxi-3%d.sim.local" % i: None for i in (1, 2)}},      # image-managed (vLCM)
                "standalone": {"hosts": {"esxi-20.sim.local": {
                    "vmware_hostname": self.esx.host, "vmware_port": self.esx.port,
                    "vmware_username": self.esx.user, "vmware_password": self.esx.password}}},
            }}}}}
        self.inventory = os.path.join(WORK, "inventory.yml")
        write(self.inventory, "---\n# written by tools/demo.py\n" + yaml_dump(inventory).replace(": null", ":")
              + "\n", 0o600)
        online_url = self.online.url_for("{token}/esxi-8.0u3/index.xml")
        variables = {
            "depot_sources": [online_url] + BUNDLES,
            "depot_path": os.path.join(WORK, "depot"),
            "depot_port": 0,
            "depot_state_dir": os.path.join(WORK, "depot-server"),
            "depot_lifetime": 900,
            "patch_scan_report_dest": os.path.join(WORK, "reports"),
            "patch_scan_report_title": "ESXi patch compliance (make demo)",
            "patch_scan_minimum_build": LINE,
            "patch_scan_record_dir": os.path.join(WORK, "scan-records"),
            "scan_fail_mode": "none",
            "remediate_serial": 1,
            "patch_remediate_reboot_timeout": 120,
            "patch_remediate_accept_eula": True,        # vLCM hosts (Edge): the image's EULA
            "patch_remediate_summary_file": os.path.join(WORK, "reports", "rollout.json"),
        }
        self.vars_file = os.path.join(WORK, "vars.yml")
        write(self.vars_file, "---\n# written by tools/demo.py\n" + yaml_dump(variables) + "\n")
        # the download token lives in its own file (in real life: a vault file or an AWX credential)
        self.secrets_file = os.path.join(WORK, "secrets.yml")
        write(self.secrets_file, "---\ndepot_download_token: %s\n" % TOKEN, 0o600)
        say("inventory %s, variables %s" % (os.path.relpath(self.inventory, ROOT), os.path.relpath(self.vars_file, ROOT)))

    # ---- running playbooks -------------------------------------------------------------------------------
    def env(self):
        env = dict(os.environ)
        cache = os.path.join(ROOT, ".cache", "ansible")
        env.update(
            ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=os.path.join(cache, "home"),
            ANSIBLE_LOCAL_TEMP=os.path.join(cache, "tmp"), ANSIBLE_REMOTE_TEMP=os.path.join(cache, "remote_tmp"),
            ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="default",
            # the simulators' private CA (also given as vmware_ca_path in the inventory)
            REQUESTS_CA_BUNDLE=self.ca_bundle,
        )
        env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
        return env

    def playbook(self, name, label, extra=()):
        log = os.path.join(self.logs, "%02d-%s.log" % (len(self.outputs) + 1, label))
        cmd = [PLAYBOOK, "-i", self.inventory, os.path.join(ROOT, "playbooks", name), "-e", "@" + self.vars_file,
               "-e", "@" + self.secrets_file] + list(extra)
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=600)
        text = proc.stdout.decode("utf-8", "replace")
        write(log, text)
        self.outputs.append(log)
        say("%s: ansible-playbook playbooks/%s -> exit %d in %.1f s (log %s)"
            % (label, name, proc.returncode, time.monotonic() - started, os.path.relpath(log, ROOT)))
        return proc.returncode, text

    def pre_patch(self):
        """One Prod host gets the 8.0 U2 USB NIC fling first, so the cluster is at mixed patch levels."""
        play = [{"name": "Give one host a driver update first", "hosts": "localhost", "gather_facts": False,
                 "tasks": [{"name": "Install the 8.0 U2 USB NIC fling on %s" % PRE_PATCHED[0],
                            "fleetpatch.esxi.esxi_patch_deploy": {
                                "hostname": self.vc.host, "port": self.vc.port, "username": self.vc.user,
                                "password": self.vc.password, "ca_path": self.ca_bundle,
                                "esxi_hostname": [PRE_PATCHED[0]], "depot": [BUNDLES[0]],
                                "depot_url": [self.online.add_file(BUNDLES[0], "bundles/u2-fling.zip")],
                                "bulletins": [PRE_PATCHED[1]], "method": "esxcli", "manage_firewall": True,
                                "reboot_timeout": 120}}]}]
        path = os.path.join(WORK, "pre-patch.yml")
        write(path, json.dumps(play, indent=1))
        log = os.path.join(self.logs, "00-pre-patch.log")
        proc = subprocess.run([PLAYBOOK, path], cwd=ROOT, env=self.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=300)
        write(log, proc.stdout.decode("utf-8", "replace"))
        self.outputs.append(log)
        if proc.returncode != 0:
            raise RuntimeError("pre-patch failed, see %s" % log)
        say("%s pre-patched with %s (esxcli, offline bundle)" % PRE_PATCHED)

    def report(self, basename="compliance"):
        with open(os.path.join(WORK, "reports", basename + ".json")) as f:
            return json.load(f)

    @staticmethod
    def print_summary(report, title):
        s = report["summary"]
        say("%s: %d of %d hosts compliant (%s%%)" % (title, s["compliant"], s["hosts"], s["compliance_percent"]))
        print("        %-20s %-9s %-7s %-10s %-14s %s" % ("host", "cluster", "version", "build", "status",
                                                       "missing (by severity) / vLCM compliance"))
        for h in report["hosts"]:
            sev = ", ".join("%d %s" % (len(v), k) for k, v in h["missing_by_severity"].items()) or "-"
            if h.get("image_managed"):
                v = h.get("vlcm") or {}
                sev = "vLCM %s, base image %s -> %s" % (v.get("status", "unknown"),
                                                        (v.get("base_image") or {}).get("current"),
                                                        (v.get("base_image") or {}).get("target"))
            print("        %-20s %-9s %-7s %-10s %-14s %s" % (h["name"], h["cluster"] or "-", h["version"] or "?",
                                                             h["build"] or "?", h["status"], sev))
        for h in report["hosts"]:
            if h["status"] != "compliant":
                print("        below the line: %s: %s" % (h["name"], "; ".join(h["reasons"])))
        sev = s["missing_by_severity"]
        print("        missing bulletins by severity: %s" % (", ".join("%s %d" % kv for kv in sev.items()) or "none"))

    # ---- the job -----------------------------------------------------------------------------------------
    def run(self):
        self.start()
        self.pre_patch()
        if not self.edge_image():
            raise RuntimeError("Edge's hosts do not lack the new image (see the log)")

        rc, _ = self.playbook("scan.yml", "scan-before", ["-e", "patch_scan_report_basename=compliance-before"])
        if rc != 0:
            raise RuntimeError("the first scan failed")
        before = self.report("compliance-before")
        self.print_summary(before, "compliance before")

        rc, _ = self.playbook("remediate.yml", "remediate")
        try:
            with open(os.path.join(WORK, "reports", "rollout.json")) as f:
                rollout = json.load(f)
            for h in rollout["hosts"]:
                print("        %-20s %-12s %-8s %s" % (h["name"], h["status"], h.get("method", "-"), h["msg"]))
        except (OSError, ValueError, KeyError):
            pass
        if rc != 0:
            raise RuntimeError("the remediation failed (see the log)")

        rc, _ = self.playbook("scan.yml", "scan-after")
        if rc != 0:
            raise RuntimeError("the second scan failed")
        after = self.report()
        self.print_summary(after, "compliance after")
        html = os.path.join(WORK, "reports", "compliance.html")
        say("HTML report: %s (before: compliance-before.html; JUnit: compliance-junit.xml; JSON: compliance.json)"
            % os.path.relpath(html, ROOT))

        self.check_secrets()
        edge = [h for h in after["hosts"] if h["cluster"] == "Edge"]
        edge_ok = len(edge) == 2 and all(h["image_managed"] and h["vlcm"]["status"] == "compliant" for h in edge)
        ok = after["summary"]["compliant"] == after["summary"]["hosts"] and after["summary"]["hosts"] == 9
        return 0 if ok and edge_ok else 1

    # ---- the image-managed cluster (vLCM) ------------------------------------------------------------------
    def vlcm_play(self, bundles_dir, out_file):
        conn = {"hostname": self.vc.host, "port": self.vc.port, "username": self.vc.user,
                "password": self.vc.password, "ca_path": self.ca_bundle}
        serve = {"path": bundles_dir, "name": "vlcm-bundles", "listen_port": 0,
                 "state_dir": os.path.join(WORK, "vlcm-server"), "lifetime": 900}
        tasks = [
            {"name": "Serve the ESXi 8.0 U3 offline bundle from the controller", "register": "served",
             "fleetpatch.esxi.depot_serve": serve},
            {"name": "vCenter pulls it into vLCM", "register": "depot",
             "fleetpatch.esxi.esxi_vlcm_depot": {"kind": "offline", "description": "ESXi 8.0 U3 (make demo)",
                                                 "location": "{{ served.url }}ESXi-8.0U3-24022510-depot.zip"}},
            {"name": "Scan: image and compliance of Edge", "register": "before",
             "fleetpatch.esxi.esxi_cluster_image_info": {"cluster": "Edge"}},
            {"name": "Select: Edge's image gets the 8.0 U3 base image", "register": "image",
             "fleetpatch.esxi.esxi_cluster_image": {"cluster": "Edge", "base_image": EDGE_BASE_IMAGE,
                                                    "commit_message": "make demo: ESXi 8.0 U3"}},
            {"name": "Scan: what the hosts lack now, explained by the depot's bulletins", "register": "selected",
             "fleetpatch.esxi.esxi_cluster_image_info": {"cluster": "Edge", "depot": ["{{ served.url }}"
                                                                                     "ESXi-8.0U3-24022510-depot.zip"]}},
            {"name": "Stop serving", "fleetpatch.esxi.depot_serve": dict(serve, state="stopped")},
            {"name": "Write the results", "delegate_to": "localhost", "ansible.builtin.copy": {
                "dest": out_file, "mode": "0600",
                "content": "{{ {'depot': depot, 'before': before, 'image': image, 'selected': selected}"
                           " | to_json }}"}},
        ]
        return [{"name": "Image-managed cluster Edge (vSphere Lifecycle Manager)", "hosts": "localhost",
                 "gather_facts": False,
                 "module_defaults": {"fleetpatch.esxi.%s" % m: conn for m in (
                     "esxi_vlcm_depot", "esxi_cluster_image_info", "esxi_cluster_image")},
                 "tasks": tasks}]

    def edge_image(self):
        """Edge: feed vLCM from our depot server and set the cluster's desired image (8.0 U3). Its hosts are then
        remediated by the one remediate.yml run, with the baseline hosts."""
        import zipfile
        bundles = os.path.join(WORK, "vlcm-bundles")
        os.makedirs(bundles, exist_ok=True)
        src = os.path.join(self.online.root, TOKEN, "esxi-8.0u3")        # the SYNTHETIC 8.0 U3 update, as a bundle
        with zipfile.ZipFile(os.path.join(bundles, "ESXi-8.0U3-24022510-depot.zip"), "w") as z:
            for d, _dirs, files in os.walk(src):
                for n in files:
                    z.write(os.path.join(d, n), os.path.relpath(os.path.join(d, n), src))
        os.makedirs(os.path.join(WORK, "reports"), exist_ok=True)
        out = os.path.join(WORK, "reports", "vlcm-edge.json")
        path = os.path.join(WORK, "vlcm.yml")
        write(path, json.dumps(self.vlcm_play(bundles, out), indent=1))
        log = os.path.join(self.logs, "%02d-vlcm-edge.log" % (len(self.outputs) + 1))
        started = time.monotonic()
        proc = subprocess.run([PLAYBOOK, path], cwd=ROOT, env=self.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=600)
        write(log, proc.stdout.decode("utf-8", "replace"))
        self.outputs.append(log)
        say("vlcm-edge: ansible-playbook %s -> exit %d in %.1f s (log %s)"
            % (os.path.relpath(path, ROOT), proc.returncode, time.monotonic() - started, os.path.relpath(log, ROOT)))
        if proc.returncode != 0:
            raise RuntimeError("the image-managed cluster Edge failed (see the log)")
        with open(out) as f:
            res = json.load(f)
        say("vLCM depots now hold base images %s" % ", ".join(res["depot"]["content"]["base_images"]))
        self.print_edge(res["before"]["compliance"], "Edge (image-managed) before: %s"
                        % res["before"]["compliance"]["status"])
        say("Edge image: base image %s -> %s (commit %s)" % (
            res["before"]["image"]["base_image"]["version"], res["image"]["image"]["base_image"]["version"],
            res["image"]["commit"]))
        self.print_edge(res["selected"]["compliance"], "Edge (image-managed) with the new image: %s, impact %s"
                        % (res["selected"]["compliance"]["status"], res["selected"]["compliance"]["impact"]))
        return res["selected"]["compliance"]["status"] == "non_compliant"

    @staticmethod
    def print_edge(compliance, title):
        say(title)
        for h in compliance["hosts"]:
            why = "; ".join("%s (%s)" % (b["id"], b["severity"]) for b in h["base_image"].get("bulletins") or ())
            print("        %-20s %-14s base image %s -> %s %s" % (h["name"], h["status"], h["base_image"]["current"],
                                                                 h["base_image"]["target"],
                                                                 ("missing: " + why) if why else ""))

    def check_secrets(self):
        """The download token must not appear in any log, result, report or depot file."""
        leaks = []
        for base in (self.logs, os.path.join(WORK, "reports"), os.path.join(WORK, "depot"),
                     os.path.join(WORK, "scan-records")):
            for d, _dirs, files in os.walk(base):
                for n in files:
                    p = os.path.join(d, n)
                    with open(p, "rb") as f:
                        if TOKEN.encode() in f.read():
                            leaks.append(os.path.relpath(p, ROOT))
        if leaks:
            raise RuntimeError("the download token leaked into: %s" % ", ".join(leaks))
        say("download token: not in any log, result, report or depot file")

    def stop(self):
        for name, state in (("depot", "depot-server"), ("vlcm-bundles", "vlcm-server")):
            try:
                from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import serve as _depot_serve
                _depot_serve.stop({"name": name, "state_dir": os.path.join(WORK, state)})
            except Exception as e:  # noqa: BLE001 - best effort cleanup
                print("cleanup: depot server %s: %s" % (name, e), file=sys.stderr)
        for thing in (self.online, self.esx, self.vc):
            if thing is not None:
                try:
                    thing.stop()
                except Exception as e:  # noqa: BLE001
                    print("cleanup: %s" % e, file=sys.stderr)
        if not self.keep:
            for sub in ("online", "depot", "scan-records", "vlcm-bundles"):
                shutil.rmtree(os.path.join(WORK, sub), ignore_errors=True)
        say("stopped the simulators, the online depot and the depot server")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the built depot and scan records")
    args = parser.parse_args(argv)
    if not os.path.exists(PLAYBOOK):
        print("demo: %s not found (run `make venv`)" % PLAYBOOK, file=sys.stderr)
        return 2
    # a SIGTERM (CI timeout, `kill`) unwinds like Ctrl-C, so everything started is stopped
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))
    demo = Demo(keep=args.keep)
    rc = 1
    try:
        rc = demo.run()
    except KeyboardInterrupt:
        print("demo: interrupted", file=sys.stderr)
        rc = 130
    except Exception as e:  # noqa: BLE001 - report and clean up
        print("demo: FAILED: %s" % e, file=sys.stderr)
        for log in demo.outputs[-1:]:
            with open(log) as f:
                print("---- last lines of %s ----\n%s" % (os.path.relpath(log, ROOT), f.read()[-4000:]),
                      file=sys.stderr)
        rc = 1
    finally:
        demo.stop()
    say("demo %s (exit %d)" % ("PASSED" if rc == 0 else "FAILED", rc))
    return rc


if __name__ == "__main__":
    sys.exit(main())
