# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet-scale scan path (issue 14) against the simulated vCenter, real SOAP through pyVmomi:

* the bulk/concurrent path (one property-collector call for every host's facts, inventories over a pool of
  threads sharing one session) gives exactly the results of the one-host-at-a-time path, with fewer SOAP calls
  and one login;
* the incremental scan reuses a host's kept inventory only while its fingerprint (image profile, boot time,
  install date) is unchanged;
* the simulator's latency switch and counters (sim/latency.go) work.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.integration.patch.patch_sim_helpers import REAL_BUNDLES, params
from tests.simulator.fixtures import DepotServer
from tests.simulator.harness import Simulator

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import fleetscan as _fleetscan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import record as _record
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.scan import run_scan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot

IMAGES = ("esxi-6.7.0-ga.json", "esxi-7.0u3.json", "esxi-8.0u2.json")
HOSTS = 7
VOLATILE = ("scanned_at", "scan_record")


@pytest.fixture(scope="module")
def env():
    topo = {"datacenters": [{"name": "DC1", "clusters": [{"name": "C1", "hosts": [
        {"name": "esx%02d" % i, "image": IMAGES[i % len(IMAGES)]} for i in range(HOSTS)]}]}]}
    srv = DepotServer().start()
    sim = Simulator(mode="vc", topology=topo)
    old = os.environ.get("REQUESTS_CA_BUNDLE")
    try:
        url = srv.make_depot("all", REAL_BUNDLES)
        sim.start(timeout=120)
        os.environ["REQUESTS_CA_BUNDLE"] = sim.ca_file
        yield sim, url, load_depot([url])
    finally:
        sim.stop()
        srv.stop()
        if old is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = old


def _stats(sim, reset=False):
    return sim._control("POST" if reset else "GET", "/_sim/stats/reset" if reset else "/_sim/stats",
                        {} if reset else None)


def _strip(res):
    return [{k: v for k, v in h.items() if k not in VOLATILE} for h in res["hosts"]]


def test_bulk_path_equals_sequential_path_with_fewer_calls_and_one_login(env, monkeypatch):
    sim, url, depot = env
    p = params(sim, [url], cluster_name="C1", engine="controller")
    monkeypatch.setattr(_fleetscan, "MIN_HOSTS", 10 ** 6)          # the one-host-at-a-time path
    _stats(sim, reset=True)
    seq = run_scan(p, depot=depot)
    seq_calls = _stats(sim)
    monkeypatch.setattr(_fleetscan, "MIN_HOSTS", 2)
    _stats(sim, reset=True)
    bulk = run_scan(dict(p, scan_workers=4), depot=depot)
    bulk_calls = _stats(sim)
    assert len(bulk["hosts"]) == HOSTS and not any(h.get("failed") for h in bulk["hosts"])
    assert _strip(bulk) == _strip(seq)
    assert bulk_calls["logins"] == 1 and seq_calls["logins"] == 1
    assert bulk_calls["logouts"] == 1
    assert bulk_calls["soap_calls"] < seq_calls["soap_calls"], (bulk_calls, seq_calls)


def test_incremental_scan_reuses_only_unchanged_hosts(env, tmp_path, monkeypatch):
    sim, url, depot = env
    folder = str(tmp_path / "records")
    p = params(sim, [url], cluster_name="C1", engine="controller", scan_record_dir=folder)
    installed = []
    real = _fleetscan.prefetch

    def spy(run, hosts):
        installed.append(real(run, hosts))
        return installed[-1]
    monkeypatch.setattr(_fleetscan, "prefetch", spy)
    first = run_scan(p, depot=depot)
    assert installed[-1].reused == []
    for h in first["hosts"]:      # the scan records are there as before (deploy's scan: record reads them)
        rec = _record.read(folder, _record.host_key(h["name"]))
        assert rec is not None and rec["inventory_digest"] == h["inventory_digest"]
    kept = sorted(os.listdir(os.path.join(folder, ".inventory")))
    assert len(kept) == HOSTS
    assert oct(os.stat(os.path.join(folder, ".inventory")).st_mode & 0o777) == "0o700"
    _stats(sim, reset=True)
    second = run_scan(p, depot=depot)
    assert len(installed[-1].reused) == HOSTS
    assert _strip(second) == _strip(first)
    calls = _stats(sim)
    # per host: profile, install date, acceptance; no FetchSoftwarePackages
    assert calls["soap_calls"] < 3 * HOSTS + 30, calls
    # a host whose fingerprint differs (here: its kept install date) is read again, the others are reused
    path = os.path.join(folder, ".inventory", kept[0])
    with open(path) as f:
        doc = json.load(f)
    doc["fingerprint"][2] = "1999-01-01T00:00:00+00:00"
    with open(path, "w") as f:
        json.dump(doc, f)
    third = run_scan(p, depot=depot)
    assert len(installed[-1].reused) == HOSTS - 1
    assert _strip(third) == _strip(first)
    # a damaged kept inventory is a miss, never an error
    with open(path, "w") as f:
        f.write("{not json")
    fourth = run_scan(p, depot=depot)
    assert len(installed[-1].reused) == HOSTS - 1 and _strip(fourth) == _strip(first)


def test_record_fingerprint_with_unknown_parts_never_matches(tmp_path):
    _record.write_inventory(str(tmp_path), "h", [None, "b", "c"], [{"name": "x"}])
    assert _record.read_inventory(str(tmp_path), "h", [None, "b", "c"]) is None
    _record.write_inventory(str(tmp_path), "h", ["a", "b", "c"], [{"name": "x"}])
    assert _record.read_inventory(str(tmp_path), "h", ["a", "b", "c"]) == [{"name": "x"}]
    assert _record.read_inventory(str(tmp_path), "h", ["a", "b", "d"]) is None


def test_latency_switch_delays_every_soap_call(env):
    sim, url, depot = env
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
    c = VSphereClient(sim.host, sim.user, sim.password, port=sim.port)
    try:
        hosts = c.find_hosts(cluster="C1")
        sim._control("POST", "/_sim/latency", {"latency": "100ms"})
        try:
            t = time.monotonic()
            for h in hosts[:3]:
                c.acceptance_get(h)
            serial = time.monotonic() - t
            t = time.monotonic()
            res = c.scan_inventories(hosts, facts=c.hosts_facts(hosts), workers=HOSTS)
            pooled = time.monotonic() - t
        finally:
            sim._control("POST", "/_sim/latency", {"latency": "0s"})
        assert _stats(sim)["latency_ms"] == 0
    finally:
        c.close()
    assert serial >= 3 * 0.1        # each call waited
    assert all("packages" in r for r in res.values())
    # 4 calls per host on HOSTS workers: about 4 latencies, far from HOSTS * 4
    assert pooled < HOSTS * 4 * 0.1


def test_latency_switch_rejects_bad_values(env):
    sim = env[0]
    from tests.simulator.harness import SimulatorError
    with pytest.raises(SimulatorError):
        sim._control("POST", "/_sim/latency", {"latency": "fast"})
