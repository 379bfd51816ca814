# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet-scale benchmark of the scan engine (issue 14). ``run()`` returns a dict for bench/run.py.

A simulated vCenter with ``FLEETPATCH_BENCH_FLEET_HOSTS`` hosts (default 1,000; a third each of the real ESXi
6.7.0 GA image, 7.0U3 and 8.0U2) in clusters of 50, and a depot of every real fixture bundle served over HTTP on
127.0.0.1. ``run_scan`` (what one ``esxi_patch_scan`` task runs) over every host, wall clock:

* ``engine_<N>_s``: the fleet path (facts of every host in one call, inventories over ``scan_workers`` threads
  sharing one session), no simulated latency;
* ``engine_<N>_latency_<L>ms_s``: the same with the simulator's per-call latency (sim/latency.go; ASSUMED 50 ms);
* ``repeat_<N>_latency_<L>ms_s`` / ``repeat_<N>_s``: a second scan with ``scan_record_dir`` and no host changed
  (every inventory reused), with and without the latency; ``repeat_<N>_latency_<L>ms_workers_128_s`` the same
  with ``scan_workers: 128`` (twice the default). Each is the median of ``REPEAT_RUNS`` runs (``_min_s`` and
  ``_max_s`` beside it): one run of about 3 s varies by a tenth of that on this machine;
* ``sequential_<N>_s``: the one-host-at-a-time path of before (prefetch off), no latency, for comparison;
  ``sequential_<n>_latency_<L>ms_s`` on a sample of hosts (the whole fleet would take minutes), and the
  per-host figure extrapolated;
* SOAP calls and logins of each run, counted by the simulator;
* ``<run>_py_cpu_s`` / ``<run>_sim_cpu_s``: CPU seconds of this Python process (the scan, all its threads) and of
  the simulator process (``/proc/<pid>/stat``) during each run: both share the machine's cores, so a wall time
  is only understood with them (and with ``load_avg``, the machine's load when the benchmark started and ended).

``scan_workers`` is the module's default (``scan_workers`` in the output).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (ROOT, os.path.join(ROOT, ".collections")):
    if p not in sys.path:
        sys.path.insert(0, p)

IMAGES = ("esxi-6.7.0-ga.json", "esxi-7.0u3.json", "esxi-8.0u2.json")
LATENCY_MS = 50
SAMPLE = 40
MORE_WORKERS = 128
REPEAT_RUNS = 5     # a repeat scan takes about 3 s, and one run varies by a tenth of that: the median of five


def _topology(n, per_cluster=50):
    clusters = []
    for c in range(0, n, per_cluster):
        clusters.append({"name": "C%02d" % (c // per_cluster), "hosts": [
            {"name": "esx%04d" % i, "image": IMAGES[i % len(IMAGES)]} for i in range(c, min(n, c + per_cluster))]})
    return {"datacenters": [{"name": "DC1", "clusters": clusters}]}


def _cpu_self():
    t = os.times()
    return t.user + t.system


def _cpu_pid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return float("nan")


def _load():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run(hosts=None):
    from tests.integration.patch.patch_sim_helpers import REAL_BUNDLES, params
    from tests.simulator.fixtures import DepotServer
    from tests.simulator.harness import Simulator

    from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import fleetscan as _fleetscan
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.scan import run_scan
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.options import scan_options
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot

    n = int(hosts or os.environ.get("FLEETPATCH_BENCH_FLEET_HOSTS", "1000"))
    srv = DepotServer().start()
    sim = Simulator(mode="vc", topology=_topology(n))
    old_ca = os.environ.get("REQUESTS_CA_BUNDLE")
    tmp = tempfile.mkdtemp(prefix="fleetpatch-bench-fleet-")
    out = {"hosts": n, "latency_ms": LATENCY_MS,
           "timing": "wall clock seconds, one run each; repeat runs: the median of %d (with min and max)" % REPEAT_RUNS,
           "targets": {"engine_latency_s_max": 15.0, "repeat_s_max": 3.0},
           "scan_workers": scan_options()["scan_workers"]["default"], "cpu_count": os.cpu_count(),
           "load_avg_start": _load()}
    try:
        url = srv.make_depot("all", REAL_BUNDLES)
        t = time.perf_counter()
        sim.start(timeout=600)
        out["sim_start_s"] = round(time.perf_counter() - t, 2)
        os.environ["REQUESTS_CA_BUNDLE"] = sim.ca_file
        depot = load_depot([url])

        def latency(ms):
            sim._control("POST", "/_sim/latency", {"latency": "%dms" % ms})

        def scan(key, runs=1, **kw):
            """``run_scan`` ``runs`` times: the median wall time under ``key`` (and the fastest and slowest
            under ``<key>_min``/``<key>_max`` when more than one), CPU seconds, SOAP calls and logins of one
            run (the median's)."""
            if "esxi_hostname" not in kw:
                kw.setdefault("datacenter", "DC1")      # every host of the datacenter
            p = params(sim, [url], engine="controller", **kw)
            base = key[:-2] if key.endswith("_s") else key
            timed = []
            for _run in range(runs):
                sim._control("POST", "/_sim/stats/reset", {})
                cpu, sim_cpu = _cpu_self(), _cpu_pid(sim.proc.pid)
                t = time.perf_counter()
                res = run_scan(p, depot=depot)
                dt = time.perf_counter() - t
                bad = [h for h in res["hosts"] if h.get("failed")]
                assert not bad, bad[:2]
                timed.append((dt, round(_cpu_self() - cpu, 2), round(_cpu_pid(sim.proc.pid) - sim_cpu, 2),
                              sim._control("GET", "/_sim/stats")))
            timed.sort(key=lambda r: r[0])
            dt, py_cpu, sim_cpu_s, stats = timed[len(timed) // 2]
            out[base + "_py_cpu_s"] = py_cpu
            out[base + "_sim_cpu_s"] = sim_cpu_s
            out[key] = round(dt, 2)
            if runs > 1:
                out[base + "_min_s"] = round(timed[0][0], 2)
                out[base + "_max_s"] = round(timed[-1][0], 2)
                out[base + "_runs"] = runs
            out[key.replace("_s", "_soap_calls", 1) if key.endswith("_s") else key + "_soap_calls"] = stats["soap_calls"]
            out[key.replace("_s", "_logins", 1) if key.endswith("_s") else key + "_logins"] = stats["logins"]
            return res

        scan("engine_%d_s" % n)
        records = os.path.join(tmp, "records")
        latency(LATENCY_MS)
        scan("engine_%d_latency_%dms_s" % (n, LATENCY_MS), scan_record_dir=records)
        scan("repeat_%d_latency_%dms_s" % (n, LATENCY_MS), runs=REPEAT_RUNS, scan_record_dir=records)
        # what more concurrency buys where vCenter allows it (the default is sized for vCenter's limits)
        scan("repeat_%d_latency_%dms_workers_%d_s" % (n, LATENCY_MS, MORE_WORKERS), runs=REPEAT_RUNS,
             scan_record_dir=records, scan_workers=MORE_WORKERS)
        latency(0)
        scan("repeat_%d_s" % n, runs=REPEAT_RUNS, scan_record_dir=records)
        real_min = _fleetscan.MIN_HOSTS
        _fleetscan.MIN_HOSTS = 10 ** 9          # the sequential path of before
        try:
            scan("sequential_%d_s" % n)
            latency(LATENCY_MS)
            names = ["esx%04d" % i for i in range(min(SAMPLE, n))]
            key = "sequential_%d_latency_%dms_s" % (len(names), LATENCY_MS)
            scan(key, esxi_hostname=names)
            out["sequential_latency_%dms_per_host_s" % LATENCY_MS] = round(out[key] / len(names), 3)
            latency(0)
        finally:
            _fleetscan.MIN_HOSTS = real_min
    finally:
        sim.stop()
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        if old_ca is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = old_ca
    out["load_avg_end"] = _load()
    out["engine_latency_within_target"] = out["engine_%d_latency_%dms_s" % (n, LATENCY_MS)] < 15.0
    out["repeat_latency_within_target"] = out["repeat_%d_latency_%dms_s" % (n, LATENCY_MS)] < 3.0
    return {"fleet": out}


if __name__ == "__main__":
    import json
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else None), indent=2, sort_keys=True))
