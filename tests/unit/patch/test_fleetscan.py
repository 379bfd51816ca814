# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PrefetchedClient (_patch/fleetscan.py) over a stream of inventories: answers in host order as they arrive, the
real client for a host whose read failed, one conversion per distinct package list, the incremental cache kept
per host as it arrives, and a stream closed when the scan ends early. The simulator tests (tests/integration/
fleet) cover the same path over real SOAP."""

from __future__ import annotations

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import VSphereError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import fleetscan


class Host(object):
    def __init__(self, moid):
        self.moid = self.name = moid


class Real(object):
    """The run's real client: records what it is asked."""

    def __init__(self):
        self.asked = []
        self.converted = 0

    def acceptance_get(self, host):
        self.asked.append(("acceptance_get", host.moid))
        return "partner"

    def software_vibs(self, host):
        self.asked.append(("software_vibs", host.moid))
        return ["vib-of-" + host.moid]

    def vibs_of(self, packages):
        self.converted += 1
        return [p["name"] for p in packages]


PKGS = [{"name": "esx-base", "version": "8.0.2"}]


def _rec(packages, reused=False):
    return {"acceptance_level": "certified", "image_profile": "P", "image_profile_vendor": "V",
            "install_date": "2024-01-01T00:00:00+00:00", "fingerprint": ["P", "b", "i"], "packages": packages,
            "reused": reused}


def test_stream_answers_in_order_and_the_real_client_for_a_failed_host():
    pulled = []
    shared = list(PKGS)

    def stream():
        for moid, rec in (("h1", _rec(shared)), ("h2", {"error": VSphereError("boom")}),
                          ("h3", _rec(shared, reused=True)), ("h4", _rec([{"name": "other"}]))):
            pulled.append(moid)
            yield moid, rec
    kept = []
    real = Real()
    pc = fleetscan.PrefetchedClient(real, {}, stream(), keep=lambda moid, rec, data, digest: kept.append(
        (moid, digest, data)))
    assert pulled == []                                      # nothing read before the scan asks
    assert pc.acceptance_get(Host("h1")) == "certified" and pulled == ["h1"]
    assert pc.software_vibs(Host("h1")) == ["esx-base"]
    assert pc.acceptance_get(Host("h2")) == "partner"         # its read failed: the real client answers
    assert ("acceptance_get", "h2") in real.asked and pulled == ["h1", "h2"]
    assert pc.software_vibs(Host("h3")) == ["esx-base"] and real.converted == 1   # same list: converted once
    assert pc.inventory_key(Host("h1")) == pc.inventory_key(Host("h3")) != pc.inventory_key(Host("h4"))
    assert pc.inventory_key(Host("h2")) is None
    assert pc.prefetch_failed == ["h2"] and pc.reused == ["h3"] and pulled == ["h1", "h2", "h3", "h4"]
    # keep: every host read, once, with the digest of its canonical JSON (the caller skips the reused ones)
    assert [k[0] for k in kept] == ["h1", "h3", "h4"]
    assert kept[0][1] == kept[1][1] and kept[0][2] == b'[{"name":"esx-base","version":"8.0.2"}]'


def test_close_prefetch_stops_the_stream():
    state = {"closed": False, "pulled": 0}

    def stream():
        try:
            for i in range(10):
                state["pulled"] += 1
                yield "h%d" % i, _rec(PKGS)
        finally:
            state["closed"] = True
    pc = fleetscan.PrefetchedClient(Real(), {}, stream())
    pc.acceptance_get(Host("h0"))
    pc.close_prefetch()
    assert state == {"closed": True, "pulled": 1}
    assert pc.acceptance_get(Host("h5")) == "partner"         # after the end, the real client answers


class ClusterComputeResource(object):     # named like pyVmomi's type: the wrapper recognises cluster reads by it
    pass


class Mo(object):
    def __init__(self, moid):
        self._moId = moid


class Props(Real):
    """A property collector over clusters: ``missing`` are left out of answers; ``fail_bulk`` refuses reads of
    more than one object."""

    def __init__(self, values, missing=(), fail_bulk=False):
        Real.__init__(self)
        self.values, self.missing, self.fail_bulk = values, set(missing), fail_bulk

    def _retrieve(self, specs, objects=None, container=None):
        self.asked.append(("retrieve", tuple(o._moId for o in objects)))
        if self.fail_bulk and len(objects) > 1:
            raise VSphereError("bulk refused")
        return [(o, {"lifecycleManaged": self.values[o._moId]}) for o in objects if o._moId not in self.missing]


def _cluster_reads(real, clusters):
    pc = fleetscan.PrefetchedClient(real, {}, [])
    pc.clusters = clusters
    spec = [(ClusterComputeResource, ["lifecycleManaged"])]
    return [pc._retrieve(spec, objects=[c]) for c in clusters + clusters]


def test_cluster_reads_answered_from_one_bulk_read_as_single_reads_would():
    clusters = [Mo("domain-c1"), Mo("domain-c2"), Mo("domain-c3")]
    values = {"domain-c1": True, "domain-c2": False, "domain-c3": True}
    single = Props(values)
    want = [single._retrieve([], objects=[c]) for c in clusters + clusters]
    bulk = Props(values)
    got = _cluster_reads(bulk, clusters)
    assert [[(o._moId, p) for o, p in rows] for rows in got] == [[(o._moId, p) for o, p in rows] for rows in want]
    assert bulk.asked == [("retrieve", ("domain-c1", "domain-c2", "domain-c3"))]     # one call for all


def test_cluster_missing_from_bulk_read_or_failed_bulk_read_is_read_on_its_own():
    clusters = [Mo("domain-c1"), Mo("domain-c2")]
    values = {"domain-c1": True, "domain-c2": False}
    real = Props(values, missing=["domain-c2"])
    got = _cluster_reads(real, clusters)
    assert [len(rows) for rows in got] == [1, 0, 1, 0]
    assert real.asked == [("retrieve", ("domain-c1", "domain-c2")), ("retrieve", ("domain-c2",))]
    real = Props(values, fail_bulk=True)
    got = _cluster_reads(real, clusters)
    assert [p["lifecycleManaged"] for rows in got for _o, p in rows] == [True, False, True, False]
    assert real.asked == [("retrieve", ("domain-c1", "domain-c2")), ("retrieve", ("domain-c1",)),
                          ("retrieve", ("domain-c2",))]
