#!/usr/bin/env python3
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start and stop the ESXi/vCenter simulator in the background, for playbook-driven role tests (the molecule
scenarios in extensions/molecule/ and tests/integration/roles/).

    simctl.py start --state sim.json --topology '{"vc": {...vCenter topology...}, "esx": {...ESX topology...}}'
    simctl.py stop --state sim.json

``start`` runs the simulators (tests/simulator/harness.py) in a detached process and returns once they answer.
It writes ``--state`` (JSON), which plays load with ``vars_files``::

    {"sim": {"pid": ..., "ca_bundle": ".../ca-bundle.pem",
             "vc": {"host", "port", "user", "password"}, "esx": {...} or null,
             "endpoints": {"<host name>": {"host", "port", "user", "password"}}}}

``endpoints`` names the connection of every simulated host (vCenter for the hosts of the vCenter topology, the
ESX simulator for its host). ``stop`` ends the process (which stops the simulators) and removes the files.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


def _hosts_of(topology):
    names = [h["name"] for h in topology.get("hosts", [])]
    for dc in topology.get("datacenters", []):
        names += [h["name"] for h in dc.get("hosts", [])]
        for cl in dc.get("clusters", []):
            names += [h["name"] for h in cl.get("hosts", [])]
    return names


def serve(state, topology):
    sys.path.insert(0, ROOT)
    from tests.simulator.harness import Simulator

    sims = {}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_a: stopping.append(1))
    try:
        for kind in ("vc", "esx"):
            if topology.get(kind):
                sims[kind] = Simulator(mode=kind, topology=topology[kind], reboot_down=0.5).start()
        bundle = state + ".ca-bundle.pem"
        with open(bundle, "w") as out:
            for s in sims.values():
                with open(s.ca_file) as f:
                    out.write(f.read())
        data = {"pid": os.getpid(), "ca_bundle": bundle, "endpoints": {}}
        for kind in ("vc", "esx"):
            s = sims.get(kind)
            data[kind] = {"host": s.host, "port": s.port, "user": s.user, "password": s.password} if s else None
            if s:
                for name in _hosts_of(topology[kind]):
                    data["endpoints"][name] = data[kind]
        tmp = state + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"sim": data}, f, indent=1)
        os.replace(tmp, state)
        while not stopping:
            if any(s.proc is None or s.proc.poll() is not None for s in sims.values()):
                break
            time.sleep(0.2)
    finally:
        for s in sims.values():
            s.stop()


def start(state, topology, timeout=60):
    state = os.path.abspath(state)
    for p in (state, state + ".tmp"):
        if os.path.exists(p):
            os.unlink(p)
    log = open(state + ".log", "ab")
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", "--state", state, "--topology",
                             json.dumps(topology)], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True, close_fds=True, cwd=ROOT)
    log.close()
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(state):
            with open(state) as f:
                print(json.dumps(json.load(f)["sim"]["endpoints"]))
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    with open(state + ".log") as f:
        sys.stderr.write(f.read()[-3000:])
    return 1


def stop(state):
    state = os.path.abspath(state)
    try:
        with open(state) as f:
            pid = json.load(f)["sim"]["pid"]
    except (OSError, ValueError, KeyError):
        pid = None
    if pid:
        try:
            os.kill(pid, signal.SIGTERM)
            deadline = time.time() + 15
            while time.time() < deadline:
                os.kill(pid, 0)
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for suffix in ("", ".tmp", ".ca-bundle.pem", ".log"):
        try:
            os.unlink(state + suffix)
        except OSError:
            pass
    print("stopped" if pid else "not running")
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("action", choices=["start", "stop", "serve"])
    p.add_argument("--state", required=True)
    p.add_argument("--topology", default="{}")
    a = p.parse_args(argv)
    if a.action == "start":
        return start(a.state, json.loads(a.topology))
    if a.action == "serve":
        serve(a.state, json.loads(a.topology))
        return 0
    return stop(a.state)


if __name__ == "__main__":
    sys.exit(main())
