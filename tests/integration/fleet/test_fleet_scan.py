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
    sim = Simulator(mode="vc", topology=topo, reboot_down=0.3)
    sim.depot_server = srv
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


def test_mux_path_and_its_fallback_equal_the_sequential_path(env, monkeypatch):
    """The small calls go over the one-thread mux (soapmux.py); when its connections cannot be opened, every host
    is asked the ordinary way (threads, pyVmomi's pool) and the results are the same."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import soapmux
    sim, url, depot = env
    p = params(sim, [url], cluster_name="C1", engine="controller")
    monkeypatch.setattr(_fleetscan, "MIN_HOSTS", 10 ** 6)
    seq = run_scan(p, depot=depot)
    monkeypatch.setattr(_fleetscan, "MIN_HOSTS", 2)
    runs = []
    real_run = soapmux.Mux.run

    def spy(self, on_answer):
        runs.append(self)
        return real_run(self, on_answer)
    monkeypatch.setattr(soapmux.Mux, "run", spy)
    _stats(sim, reset=True)
    muxed = run_scan(dict(p, scan_workers=4), depot=depot)
    assert len(runs) == 1 and runs[0].failed_connections == 0
    assert _stats(sim)["soap_calls"] < 4 * HOSTS + 30           # nobody asked twice
    assert _strip(muxed) == _strip(seq)
    monkeypatch.setattr(soapmux.Mux, "_open", lambda self, sel: None)
    fallback = run_scan(dict(p, scan_workers=4), depot=depot)
    assert len(runs) == 2 and runs[1].failed_connections > 0 and not runs[1].queue
    assert _strip(fallback) == _strip(seq)


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
    kept = sorted(f for f in os.listdir(os.path.join(folder, ".inventory")) if f.endswith(".json"))
    assert len(kept) == HOSTS
    assert oct(os.stat(os.path.join(folder, ".inventory")).st_mode & 0o777) == "0o700"
    # the package lists are kept once per distinct list (three images), named by their digest
    packages = sorted(os.listdir(os.path.join(folder, ".inventory", "packages")))
    assert len(packages) == len(IMAGES)
    assert oct(os.stat(os.path.join(folder, ".inventory", "packages", packages[0])).st_mode & 0o777) == "0o600"
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
    # a package file that is not what its name says (edited, truncated) is a miss for every host that uses it
    victim = os.path.join(folder, ".inventory", "packages", packages[0])
    with open(victim, "rb") as f:
        data = f.read()
    with open(victim, "wb") as f:
        f.write(data.replace(b'"vmware_certified"', b'"community"', 1))
    fifth = run_scan(p, depot=depot)
    assert HOSTS - 4 <= len(installed[-1].reused) < HOSTS - 1 and _strip(fifth) == _strip(first)
    # ... and is written again by that scan, so the next one reuses every host
    sixth = run_scan(p, depot=depot)
    assert len(installed[-1].reused) == HOSTS and _strip(sixth) == _strip(first)


def test_repeat_scan_sees_a_host_that_changed(env, tmp_path, monkeypatch):
    """A host really changed between two scans (acceptance level lowered, a VIB installed, rebooted): the
    incremental scan reads it again and reports the change; the hosts that did not change are reused; and the
    result is the one-host-at-a-time path's, which reads everything afresh."""
    sim, url, depot = env
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
    from tests.simulator.fixtures import real_fixture
    from tests.simulator.util import FLING_80U2, VIB_80U2
    folder = str(tmp_path / "records")
    p = params(sim, [url], cluster_name="C1", engine="controller", scan_record_dir=folder)
    installed = []
    real = _fleetscan.prefetch

    def spy(run, hosts):
        installed.append(real(run, hosts))
        return installed[-1]
    monkeypatch.setattr(_fleetscan, "prefetch", spy)
    first = {h["name"]: h for h in run_scan(p, depot=depot)["hosts"]}
    name = "esx%02d" % IMAGES.index("esxi-8.0u2.json")
    fling = sim.depot_server.add_bundle(real_fixture(*FLING_80U2))
    c = VSphereClient.from_params(p)
    try:
        h = c.host(name)
        c.acceptance_set(h, "community")
        with c.ruleset_open(h):
            c.esxcli.vib_install(h, depot=[fling], maintenancemode=True)
        c.enter_maintenance_mode(h)
        h, _info = c.reboot(h, timeout=120)
        c.exit_maintenance_mode(h)
    finally:
        c.close()
    res = run_scan(p, depot=depot)
    second = {h["name"]: h for h in res["hosts"]}
    assert installed[-1].reused == sorted(h["moid"] for n, h in second.items() if n != name)
    before, after = first[name], second[name]
    assert (before["acceptance_level"], after["acceptance_level"]) == ("partner", "community")
    assert after["vib_count"] == before["vib_count"] + 1 and after["inventory_digest"] != before["inventory_digest"]
    assert FLING_80U2[-1].startswith("ESXi80U2-VMKUSB")
    fling_bulletins = [e["id"] for e in before["missing"] if any(v == VIB_80U2 for v in e["vib_ids"])]
    assert fling_bulletins and all(b in [e["id"] for e in after["installed"]] for b in fling_bulletins)
    for n in second:
        if n != name:
            assert {k: v for k, v in second[n].items() if k not in VOLATILE} == \
                {k: v for k, v in first[n].items() if k not in VOLATILE}
    monkeypatch.setattr(_fleetscan, "MIN_HOSTS", 10 ** 6)          # the one-host-at-a-time path, no records
    seq = run_scan(dict(p, scan_record_dir=None), depot=depot)
    assert _strip(res) == _strip(seq)


def test_record_fingerprint_with_unknown_parts_never_matches(tmp_path):
    _record.write_inventory(str(tmp_path), "h", [None, "b", "c"], [{"name": "x"}])
    assert _record.read_inventory(str(tmp_path), "h", [None, "b", "c"]) is None
    _record.write_inventory(str(tmp_path), "h", ["a", "b", "c"], [{"name": "x"}])
    assert _record.read_inventory(str(tmp_path), "h", ["a", "b", "c"]) == [{"name": "x"}]
    assert _record.read_inventory(str(tmp_path), "h", ["a", "b", "d"]) is None
    # hosts with equal package lists share one package file, and one reader hands them one list
    _record.write_inventory(str(tmp_path), "g", ["a", "b", "c"], [{"name": "x"}])
    assert len(os.listdir(str(tmp_path / ".inventory" / "packages"))) == 1
    reader = _record.InventoryReader(str(tmp_path))
    assert reader.read("g", ["a", "b", "c"]) is reader.read("h", ["a", "b", "c"])
    # a host file of the first format (packages inside) is a miss, not an error
    with open(_record.inventory_path(str(tmp_path), "old"), "w") as f:
        json.dump({"version": 1, "fingerprint": ["a", "b", "c"], "packages": [{"name": "x"}]}, f)
    assert _record.read_inventory(str(tmp_path), "old", ["a", "b", "c"]) is None


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


def test_record_that_cannot_be_written_fails_that_host_as_on_the_sequential_path(env, tmp_path, monkeypatch):
    """The fleet path writes the records on a thread of their own: a host whose record cannot be written (here
    a folder stands where its file goes) is a failed entry naming the file, in its place, the others are
    written, and the task's failure is the sequential path's."""
    sim, url, depot = env
    folder = tmp_path / "records"
    p = params(sim, [url], cluster_name="C1", engine="controller", scan_record_dir=str(folder))
    blocked = "esx03"
    os.makedirs(str(folder / ("%s.json" % blocked)))
    out = {}
    for path in ("fleet", "sequential"):
        if path == "sequential":
            monkeypatch.setattr(_fleetscan, "MIN_HOSTS", 10 ** 6)
        partial = {}
        with pytest.raises(Exception) as e:
            run_scan(p, partial=partial, depot=depot)
        out[path] = (str(e.value), [(h["name"], h.get("failed"), h.get("msg"), h.get("error_kind"))
                                    for h in partial["hosts"]])
        texts = {}
        for i in range(HOSTS):
            if "esx%02d" % i != blocked:
                with open(_record.record_path(str(folder), "esx%02d" % i)) as f:
                    texts["esx%02d" % i] = f.read()
        out[path + " records"] = texts
    assert out["fleet"] == out["sequential"]
    fleet, seq = out["fleet records"], out["sequential records"]
    assert sorted(fleet) == sorted(seq) and len(fleet) == HOSTS - 1
    for name, text in fleet.items():    # the fleet path's record writer: json.dumps's text, the same record
        assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":")) + "\n"
        assert {k: v for k, v in json.loads(text).items() if k not in VOLATILE} == \
            {k: v for k, v in json.loads(seq[name]).items() if k not in VOLATILE}
    msg, hosts = out["fleet"]
    assert "1 of %d" % HOSTS in msg
    assert [h[0] for h in hosts] == ["esx%02d" % i for i in range(HOSTS)]
    assert [h[0] for h in hosts if h[1]] == [blocked] and "%s.json" % blocked in hosts[3][2]
    for i in range(HOSTS):
        if "esx%02d" % i != blocked:
            assert _record.read(str(folder), "esx%02d" % i)["name"] == "esx%02d" % i


def test_preloaded_reader_reads_what_the_files_hold(tmp_path):
    """``InventoryReader.preload`` reads the host files before they are asked for: the answers are those of a
    reader that reads each file when asked (hits, misses, unknown keys, damaged files)."""
    d = str(tmp_path)
    _record.write_inventory(d, "a", ["p", "b", "i"], [{"name": "x"}])
    _record.write_inventory(d, "b", ["p", "b", "j"], [{"name": "y"}])
    with open(_record.inventory_path(d, "bad"), "w") as f:
        f.write("{not json")
    asks = [("a", ["p", "b", "i"]), ("a", ["p", "b", "j"]), ("b", ["p", "b", "j"]), ("bad", ["p", "b", "i"]),
            ("missing", ["p", "b", "i"]), ("notpreloaded", ["p", "b", "i"])]
    pre = _record.InventoryReader(d)
    pre.preload(["a", "b", "bad", "missing"])
    plain = _record.InventoryReader(d)
    assert [pre.read(k, f) for k, f in asks] == [plain.read(k, f) for k, f in asks] == \
        [[{"name": "x"}], None, [{"name": "y"}], None, None, None]


def test_calls_start_before_the_facts_and_equal_the_sequential_path(env, tmp_path, monkeypatch):
    """The calls of every host start with the ImageConfigManager the inventory named, while the facts of all the
    hosts are read in one call; a host answered before its facts waits for them. The results are the
    one-host-at-a-time path's: with the facts read late (after the first answers), also in an incremental scan
    (every host reused), when the facts call fails (the hosts are then asked the ordinary way), when the
    inventory named no ImageConfigManager (the calls wait for the facts), and without the mux (the pool of
    threads)."""
    import threading
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import soapmux
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import VSphereError
    sim, url, depot = env
    p = params(sim, [url], cluster_name="C1", engine="controller", scan_workers=4)
    monkeypatch.setattr(_fleetscan, "MIN_HOSTS", 10 ** 6)
    seq = _strip(run_scan(p, depot=depot))
    monkeypatch.setattr(_fleetscan, "MIN_HOSTS", 2)
    asked = []
    real_facts = VSphereClient.hosts_facts
    answered = threading.Event()
    real_run = soapmux.Mux.run

    def run(self, on_answer):
        def seen(*a):
            answered.set()
            return on_answer(*a)
        return real_run(self, seen)
    monkeypatch.setattr(soapmux.Mux, "run", run)

    def late(self, hosts):      # the facts arrive after the first answers: those hosts wait for them
        asked.append(len(hosts))
        assert answered.wait(30)
        time.sleep(0.3)
        return real_facts(self, hosts)

    def counted(self, hosts):
        asked.append(len(hosts))
        return real_facts(self, hosts)

    def failing(self, hosts):
        asked.append(len(hosts))
        raise VSphereError("facts refused")

    installed = []
    real_prefetch = _fleetscan.prefetch
    monkeypatch.setattr(_fleetscan, "prefetch", lambda run_, hosts: installed.append(real_prefetch(run_, hosts))
                        or installed[-1])
    folder = str(tmp_path / "records")
    calls = []
    for facts, kw, reused in ((counted, {}, 0), (late, {}, 0), (late, {"scan_record_dir": folder}, 0),
                              (late, {"scan_record_dir": folder}, HOSTS), (failing, {}, 0)):
        monkeypatch.setattr(VSphereClient, "hosts_facts", facts)
        answered.clear()
        del asked[:]
        _stats(sim, reset=True)
        assert _strip(run_scan(dict(p, **kw), depot=depot)) == seq
        assert asked == [HOSTS] and len(installed[-1].reused) == reused
        calls.append(_stats(sim)["soap_calls"])
    # hosts that waited for their facts were not asked again the ordinary way: the same calls as without the
    # wait; the incremental repeat asks three small questions per host; a failed facts call costs more calls
    assert calls[0] == calls[1] == calls[2], calls
    assert calls[3] < 3 * HOSTS + 30 and calls[4] > calls[0], calls
    monkeypatch.setattr(VSphereClient, "image_config_managers", lambda self: {})
    del asked[:]
    assert _strip(run_scan(p, depot=depot)) == seq and asked == [HOSTS]
    monkeypatch.setattr(soapmux, "usable", lambda stub: False)
    del asked[:]
    assert _strip(run_scan(p, depot=depot)) == seq and asked == [HOSTS]
