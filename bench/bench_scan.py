# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the controller-engine patch scan (``_patching.run_scan``). ``run()`` returns a dict for bench/run.py.

A simulated vCenter (``tests/simulator``) with ``HOSTS`` hosts in one cluster (a third each from the real ESXi 6.7.0
GA image, 7.0U3 and 8.0U2) and a depot of every real fixture bundle (22 bulletins) served over HTTP on 127.0.0.1.
One connection (one SOAP session) serves every host, as in the module.

* ``depot_load_ms``: reading the depot over HTTP and parsing it (once per task).
* ``scan_<N>_hosts_ms``: ``run_scan`` of the whole cluster with the depot already read (median of ``REPEAT``); it
  connects, finds the hosts and, per host, reads facts, acceptance level, image profile and installed VIBs and
  classifies every bulletin. ``per_host_ms`` is that divided by N.
* ``classify_67_ms``: ``_scan.classify`` alone for the 136-VIB 6.7.0 GA host against the depot (median).
Target: ``per_host_ms`` < 250 ms (a 64-host cluster in well under a minute).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (ROOT, os.path.join(ROOT, ".collections")):
    if p not in sys.path:
        sys.path.insert(0, p)

HOSTS = 24
REPEAT = 3
TARGET_PER_HOST_MS = 250.0
IMAGES = ("esxi-6.7.0-ga.json", "esxi-7.0u3.json", "esxi-8.0u2.json")


def _median_ms(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return round(statistics.median(times), 1), out


def run(hosts=HOSTS):
    from tests.integration.patch.patch_sim_helpers import REAL_BUNDLES, params
    from tests.simulator.fixtures import DepotServer
    from tests.simulator.harness import Simulator

    from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import patching as _patching
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import classify as _scan
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot

    topo = {"datacenters": [{"name": "DC1", "clusters": [{"name": "C1", "hosts": [
        {"name": "esx%03d" % i, "image": IMAGES[i % len(IMAGES)]} for i in range(hosts)]}]}]}
    srv = DepotServer().start()
    sim = Simulator(mode="vc", topology=topo)
    old_ca = os.environ.get("REQUESTS_CA_BUNDLE")
    try:
        url = srv.make_depot("all", REAL_BUNDLES)
        sim.start(timeout=120)
        os.environ["REQUESTS_CA_BUNDLE"] = sim.ca_file
        load_ms, depot = _median_ms(lambda: load_depot([url]), 1)
        p = params(sim, [url], cluster_name="C1", engine="controller")
        scan_ms, res = _median_ms(lambda: _patching.run_scan(p, depot=depot), REPEAT)
        assert len(res["hosts"]) == hosts and not any(h.get("failed") for h in res["hosts"])
        missing = sorted({len(h["missing"]) for h in res["hosts"]})

        from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
        c = VSphereClient(sim.host, sim.user, sim.password, port=sim.port)
        try:
            h67 = [h for h in c.find_hosts(cluster="C1") if h.name == "esx000"][0]
            inv = c.software_vibs(h67)
        finally:
            c.close()
        cls_ms, _g = _median_ms(lambda: _scan.classify(depot, inv, "embeddedEsx", "6.7.0", "partner"), 15)
    finally:
        sim.stop()
        srv.stop()
        if old_ca is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = old_ca
    per_host = round(scan_ms / hosts, 1)
    return {
        "hosts": hosts,
        "depot_bulletins": len(depot.bulletins),
        "depot_load_ms": load_ms,
        "scan_%d_hosts_ms" % hosts: scan_ms,
        "per_host_ms": per_host,
        "per_host_target_ms": TARGET_PER_HOST_MS,
        "per_host_within_target": per_host < TARGET_PER_HOST_MS,
        "missing_per_host": missing,
        "classify_67_ms": cls_ms,
        "classify_67_vibs": len(inv),
    }


if __name__ == "__main__":
    import json
    print(json.dumps(run(), indent=2))
