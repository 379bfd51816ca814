# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/scan.yml and playbooks/remediate.yml run the way users run them (ansible-playbook, one inventory host
per ESXi host) against the simulated vCenter, next to the Ansible floor measured in the same run. ``run()`` returns
a dict for bench/run.py.

* ``floor_<N>_s``: the same inventory running one ``ansible.builtin.ping`` per host delegated to localhost (what
  any per-host play costs on this controller, nothing of ours);
* ``scan_<N>_s``: playbooks/scan.yml with an existing depot (the real 8.0U2 fling bundle), report written;
  ``scan_<N>_over_floor``; ``scan_<N>_logins``: vCenter logins the run made, counted by the simulator
  (sim/latency.go), and ``forks``;
* ``remediate_<N>_serial_<S>_s_per_host``: playbooks/remediate.yml (install the fling, reboot) by ``serial``,
  with the session cache off (``vmware_session_cache: false``: every module run logs in and out);
  ``remediate_<N>_serial_<S>_logins``: vCenter (SOAP) logins of the play;
* ``remediate_<N>_serial_<S>_cache_*``: the same with the controller-side session cache on (the playbook's
  default, and ``FLEETPATCH_SESSION_CACHE=1``, a fresh cache directory): ``_logins`` and ``_logins_per_host`` of
  the play,
  ``_logouts`` in the play (0: runs keep the session) and ``_logouts_at_end`` made by
  ``fleetpatch.esxi.vmware_session`` run after it (ansible-playbook).
Sizes: ``FLEETPATCH_BENCH_PLAY_HOSTS`` (default 50,200; empty to run the remediation only),
``FLEETPATCH_BENCH_REMEDIATE`` (default 10 hosts, serial 1 and 5; 0 to skip), ``FLEETPATCH_BENCH_REMEDIATE_CACHE``
(default ``off,on``). Wall clock, one run each; ``forks`` from ``FLEETPATCH_BENCH_FORKS`` (default 5, Ansible's).
The figures of a part not run this time are kept from ``bench/results.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for p in (ROOT, os.path.join(ROOT, ".collections")):
    if p not in sys.path:
        sys.path.insert(0, p)

PLAYBOOK = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")
FLING_ZIP = os.path.join(ROOT, "tests", "fixtures", "real", "itiligent__ESXi-Custom-ISO", "8-updates",
                         "ESXi80U2-VMKUSB-NIC-FLING-67561870-component-22416446.zip")
FLOOR = """
- name: Ansible floor
  hosts: esxi_hosts
  gather_facts: false
  tasks:
    - name: Ping from the controller
      ansible.builtin.ping:
      delegate_to: localhost
"""


def _env(tmp, sim, forks):
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=os.path.join(tmp, "home"),
               ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "tmp"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORKS=str(forks),
               REQUESTS_CA_BUNDLE=sim.ca_file, FLEETPATCH_OUTPUT_DIR=os.path.join(tmp, "out"))
    for k in ("VMWARE_HOST", "VMWARE_USER", "VMWARE_PASSWORD"):
        env.pop(k, None)
    return env


def _inventory(tmp, sim, hosts):
    path = os.path.join(tmp, "inventory-%d.json" % len(hosts))
    with open(path, "w") as f:
        json.dump({"all": {"children": {"esxi_hosts": {
            "hosts": {h: None for h in hosts},
            "vars": {"vmware_hostname": sim.host, "vmware_port": sim.port, "vmware_username": sim.user,
                     "vmware_password": sim.password, "vmware_ca_path": sim.ca_file,
                     "ansible_python_interpreter": sys.executable}}}}}, f)
    return path


def _play(sim, env, inventory, playbook, *extra):
    sim._control("POST", "/_sim/stats/reset", {})
    t = time.perf_counter()
    proc = subprocess.run([PLAYBOOK, "-i", inventory, playbook] + list(extra), cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=3600)
    dt = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (playbook, proc.returncode, proc.stdout.decode()[-4000:]))
    return dt, sim._control("GET", "/_sim/stats")


LOGOUT = """
- name: Log out of vCenter
  hosts: localhost
  gather_facts: false
  tasks:
    - name: End the cached vCenter sessions
      fleetpatch.esxi.vmware_session:
        hostname: "{{ vmware_hostname }}"
        port: "{{ vmware_port }}"
        username: "{{ vmware_username }}"
        password: "{{ vmware_password }}"
        ca_path: "{{ vmware_ca_path }}"
        session_cache_dir: "{{ session_dir }}"
        state: absent
"""


def _logout(sim, env, tmp, session_dir):
    """Run fleetpatch.esxi.vmware_session (as the playbooks will at their end); returns the SOAP logouts it made."""
    path = os.path.join(tmp, "logout.yml")
    with open(path, "w") as f:
        f.write(LOGOUT)
    variables = os.path.join(tmp, "logout-vars.json")
    with open(variables, "w") as f:
        json.dump({"vmware_hostname": sim.host, "vmware_port": sim.port, "vmware_username": sim.user,
                   "vmware_password": sim.password, "vmware_ca_path": sim.ca_file, "session_dir": session_dir,
                   "ansible_python_interpreter": sys.executable}, f)
    before = sim._control("GET", "/_sim/stats")["logouts"]
    proc = subprocess.run([PLAYBOOK, "-i", "localhost,", "-c", "local", path, "-e", "@" + variables], cwd=ROOT,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError("logout failed (%d):\n%s" % (proc.returncode, proc.stdout.decode()[-4000:]))
    return sim._control("GET", "/_sim/stats")["logouts"] - before


def _previous():
    try:
        with open(os.path.join(HERE, "results.json")) as f:
            return dict(json.load(f).get("playbooks") or {})
    except (OSError, ValueError):
        return {}


def run():
    from tests.simulator.harness import Simulator
    sizes = [int(x) for x in os.environ.get("FLEETPATCH_BENCH_PLAY_HOSTS", "50,200").split(",") if x.strip()]
    n_rem = int(os.environ.get("FLEETPATCH_BENCH_REMEDIATE", "10"))
    forks = int(os.environ.get("FLEETPATCH_BENCH_FORKS", "5"))
    cache_modes = [m.strip() == "on" for m in os.environ.get("FLEETPATCH_BENCH_REMEDIATE_CACHE", "off,on").split(",")
                   if m.strip()]
    n_max = max(sizes + [n_rem * 2 * len(cache_modes)])   # every remediation run starts from unpatched hosts
    names = ["esx%04d.sim.local" % i for i in range(n_max)]
    topology = {"datacenters": [{"name": "DC1", "clusters": [
        {"name": "C%02d" % (c // 50), "hosts": [{"name": h, "image": "esxi-8.0u2.json"} for h in names[c:c + 50]]}
        for c in range(0, n_max, 50)]}]}
    tmp = tempfile.mkdtemp(prefix="fleetpatch-bench-play-")
    sim = Simulator(mode="vc", topology=topology, reboot_down=0.5).start(timeout=600)
    out = _previous()
    out.update({"forks": forks, "timing": "wall clock seconds, one run each",
                "targets": {"scan_over_floor_max": 1.5, "logins_per_fork_max": 1}})
    try:
        env = _env(tmp, sim, forks)
        floor = os.path.join(tmp, "floor.yml")
        with open(floor, "w") as f:
            f.write(FLOOR)
        variables = os.path.join(tmp, "vars.json")
        with open(variables, "w") as f:
            json.dump({"patch_scan_depot": [FLING_ZIP], "patch_scan_report_dest": os.path.join(tmp, "reports"),
                       "scan_fail_mode": "none"}, f)
        scan = os.path.join(ROOT, "playbooks", "scan.yml")
        for n in sizes:
            inv = _inventory(tmp, sim, names[:n])
            out["floor_%d_s" % n] = round(_play(sim, env, inv, floor)[0], 2)
            dt, stats = _play(sim, env, inv, scan, "-e", "@" + variables)
            out["scan_%d_s" % n] = round(dt, 2)
            out["scan_%d_over_floor" % n] = round(dt / out["floor_%d_s" % n], 2)
            out["scan_%d_logins" % n] = stats["logins"]
            out["scan_%d_soap_calls" % n] = stats["soap_calls"]
        if n_rem:
            _remediate(sim, env, tmp, names, n_rem, cache_modes, out)
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"playbooks": out}


def _remediate(sim, env, tmp, names, n_rem, cache_modes, out):
    """playbooks/remediate.yml over ``n_rem`` unpatched hosts by serial, with the session cache off and on."""
    rvars = os.path.join(tmp, "rvars.json")
    start = 0
    for serial in (1, 5):
        for cached in cache_modes:
            hosts = names[start:start + n_rem]      # a fresh, unpatched set of hosts for every run
            start += n_rem
            inv = _inventory(tmp, sim, hosts)
            tag = "remediate_%d_serial_%d%s" % (n_rem, serial, "_cache" if cached else "")
            with open(rvars, "w") as f:
                json.dump({"depot_sources": [FLING_ZIP], "depot_path": os.path.join(tmp, "depot-%s" % tag),
                           "depot_port": 0, "depot_state_dir": os.path.join(tmp, "depot-server"),
                           "remediate_serial": serial, "patch_remediate_reboot_timeout": 120,
                           "patch_remediate_summary_file": os.path.join(tmp, "rollout.json"),
                           # the playbook keeps sessions by default (0.3.0): off is asked for explicitly
                           "vmware_session_cache": bool(cached)}, f)
            run_env = dict(env)
            session_dir = os.path.join(tmp, "sessions-%s" % tag)
            if cached:
                run_env.update(FLEETPATCH_SESSION_CACHE="1", FLEETPATCH_SESSION_CACHE_DIR=session_dir)
            sim._control("POST", "/_sim/clear", {"host": ""})
            dt, stats = _play(sim, run_env, inv, os.path.join(ROOT, "playbooks", "remediate.yml"), "-e", "@" + rvars)
            out[tag + "_s"] = round(dt, 2)
            out[tag + "_s_per_host"] = round(dt / n_rem, 2)
            out[tag + "_logins"] = stats["logins"]
            out[tag + "_logins_per_host"] = round(stats["logins"] / float(n_rem), 2)
            if cached:
                out[tag + "_logouts"] = stats["logouts"]
                out[tag + "_logouts_at_end"] = _logout(sim, env, tmp, session_dir)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, sort_keys=True))
