# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the fleet-scale read path of a scan (issue 14). Breaking changes at any time.

``prefetch(run, hosts)`` reads, before and while the per-host loop of ``run_scan`` runs:

* every host's acceptance level, image profile, install date and installed packages concurrently over the one
  session (``client.iter_inventories``, ``scan_workers`` connections), streamed in host order: the loop
  classifies the first hosts while the others are read. The calls start at once, with each host's
  ImageConfigManager as the inventory named it (``client.image_config_managers``), while the facts of every
  host are read in ONE property-collector call (``client.hosts_facts``);
* incrementally: with ``scan_record_dir``, a host whose image profile, boot time and image install date are
  those of its last scan reuses the inventory kept then (``record.InventoryReader``), so only changed hosts are
  asked for ``FetchSoftwarePackages``, the expensive call.

Hosts with the same package records (hosts built from one image) share them: they are converted to VIB models,
classified and kept on disk once per distinct list (``packages_key``, the digest of their canonical JSON).

It puts a ``PrefetchedClient`` in front of the run's client: the per-host code of the scan asks it as it asks
the client, and gets the answers read in bulk. A host whose prefetch failed is asked again, one call at a
time, through the real client: its failure (or success) is exactly that of the sequential path.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import FleetpatchError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import record as _record

MIN_HOSTS = 2     # one host gains nothing from the pool


class PrefetchedClient(object):
    """The run's client, answering ``host_facts``/``acceptance_get``/``image_profile``/``software_vibs`` from what
    ``prefetch`` read; everything else (and every host whose prefetch failed) goes to the real client.

    The inventories arrive as a stream (``iter_inventories``, in the order of the scan's hosts): a question about
    a host not read yet waits for it, so the scan works on the first hosts while the pool reads the others.
    ``keep(moid, record, data, digest)`` is called once per host as its record arrives (the incremental cache)."""

    def __init__(self, client: Any, facts: Dict[str, Dict[str, Any]], inventories: Any,
                 keep: Optional[Callable[..., None]] = None) -> None:
        self._client = client
        self._facts = facts
        self._pending: Any = iter(inventories.items() if isinstance(inventories, dict) else inventories)
        self._keep = keep
        self._all: Dict[str, Dict[str, Any]] = {}
        self._keys: Dict[int, Tuple[bytes, str]] = {}
        self._cluster_reads: Dict[Any, Any] = {}
        self._bulk_tried: Set[Any] = set()
        self.clusters: List[Any] = []     # the clusters of the scan's hosts (managed objects)
        self._vibs: Dict[str, List[Any]] = {}

    def _accept(self, moid: str, rec: Dict[str, Any]) -> None:
        pk = rec.get("packages")
        if "error" not in rec and pk is not None:
            key = self._keys.get(id(pk))
            if key is None:     # equal answers share one list: its canonical JSON and digest once
                data = _record.packages_json(pk)
                key = self._keys[id(pk)] = (data, _record.packages_digest(data))
            rec["packages_key"] = key[1]
            if self._keep is not None:
                self._keep(moid, rec, *key)
        self._all[moid] = rec

    def _next(self) -> bool:
        if self._pending is None:
            return False
        try:
            moid, rec = next(self._pending)
        except StopIteration:
            self._pending = None
            return False
        self._accept(moid, rec)
        return True

    def _rec(self, moid: str) -> Optional[Dict[str, Any]]:
        while moid not in self._all and self._next():
            pass
        rec = self._all.get(moid)
        return rec if rec is not None and "error" not in rec else None

    def drain(self) -> None:
        """Wait for every host's inventory."""
        while self._next():
            pass

    def close_prefetch(self) -> None:
        """Stop reading (a scan that ends early): calls not started are cancelled, those under way awaited."""
        pending, self._pending = self._pending, None
        if pending is not None and hasattr(pending, "close"):
            pending.close()

    @property
    def prefetch_failed(self) -> List[str]:
        self.drain()
        return sorted(m for m, r in self._all.items() if "error" in r)

    @property
    def reused(self) -> List[str]:
        self.drain()
        return sorted(m for m, r in self._all.items() if "error" not in r and r.get("reused"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _retrieve(self, specs: Any, objects: Any = None, container: Any = None) -> Any:
        """The client's property read; reads of cluster properties (the same for every host of a cluster, such
        as ``lifecycleManaged``) are answered once per cluster and scan instead of once per host, and the first
        read of one cluster reads the same properties of every cluster of the scan in one call (``clusters``):
        one round trip instead of one per cluster. A cluster that bulk read did not answer for (or a bulk read
        that failed) is read on its own, as before."""
        if container is None and objects and all(getattr(t, "__name__", "").endswith("ClusterComputeResource")
                                                 for t, _paths in specs):
            spec_key = tuple((t.__name__, tuple(paths)) for t, paths in specs)
            key = (spec_key, tuple(getattr(o, "_moId", id(o)) for o in objects))
            if key not in self._cluster_reads and len(objects) == 1 and len(self.clusters) > 1 \
                    and spec_key not in self._bulk_tried:
                self._bulk_tried.add(spec_key)
                self._bulk_cluster_read(specs, spec_key)
            if key not in self._cluster_reads:
                self._cluster_reads[key] = self._client._retrieve(specs, objects=objects)
            return self._cluster_reads[key]
        return self._client._retrieve(specs, objects=objects, container=container)

    def _bulk_cluster_read(self, specs: Any, spec_key: Any) -> None:
        try:
            rows = self._client._retrieve(specs, objects=self.clusters)
        except Exception:  # pylint: disable=broad-except  # each cluster is then read on its own
            return
        for obj, props in rows or ():
            moid = getattr(obj, "_moId", None)
            if moid is not None:
                self._cluster_reads[(spec_key, (moid,))] = [(obj, props)]

    def _moid(self, host: Any) -> Optional[str]:
        return getattr(host, "moid", None)

    def host_facts(self, host: Any) -> Dict[str, Any]:
        moid = self._moid(host) or ""
        if moid not in self._facts and self._pending is not None:
            self._rec(moid)     # the stream reads the facts of every host before it answers the first
        facts = self._facts.get(moid)
        if facts is None:
            return self._client.host_facts(host)
        out = dict(facts)
        out.pop("image_config_manager", None)
        return out

    def acceptance_get(self, host: Any) -> Any:
        rec = self._rec(self._moid(host) or "")
        return rec["acceptance_level"] if rec is not None else self._client.acceptance_get(host)

    def image_profile(self, host: Any) -> Dict[str, Any]:
        rec = self._rec(self._moid(host) or "")
        if rec is None:
            return self._client.image_profile(host)
        return {"name": rec["image_profile"], "vendor": rec["image_profile_vendor"]}

    def software_vibs(self, host: Any) -> List[Any]:
        rec = self._rec(self._moid(host) or "")
        if rec is None:
            return self._client.software_vibs(host)
        # hosts built from one image have equal package lists: convert each distinct list once per scan (the
        # Vib models are read-only for the scan)
        key = rec["packages_key"]
        vibs = self._vibs.get(key)
        if vibs is None:
            vibs = self._vibs[key] = self._client.vibs_of(rec["packages"])
        return list(vibs)

    def inventory_key(self, host: Any) -> Optional[str]:
        """The digest of the package records ``software_vibs`` answers for ``host`` (None when they come from the
        real client): hosts with the same key have the same inventory, so the scan classifies it once."""
        rec = self._rec(self._moid(host) or "")
        return rec["packages_key"] if rec is not None else None


def _reuse(client: Any, facts: Dict[str, Dict[str, Any]], reader: Any) -> Optional[Callable[..., Any]]:
    if reader is None:
        return None

    def reuse(host: Any, fingerprint: List[Any]) -> Optional[List[Dict[str, Any]]]:
        name = (facts.get(host.moid) or {}).get("name") or host.name
        return reader.read(_record.host_key(name, client.endpoint, client.is_vcenter), fingerprint)
    return reuse


def prefetch(run: Any, hosts: List[Any]) -> Optional[PrefetchedClient]:
    """Read every host's scan inputs in bulk and concurrently, then answer the run's per-host calls from them
    (see the module docstring). Does nothing for fewer than ``MIN_HOSTS`` hosts, for the host engine, or for a
    client without the bulk methods. Returns the ``PrefetchedClient`` it installed, or None."""
    client = run.client
    params = run.params
    if len(hosts) < MIN_HOSTS or params.get("engine") == "host" or not hasattr(client, "iter_inventories"):
        return None
    folder = params.get("scan_record_dir")
    reader = _record.InventoryReader(folder) if folder else None
    if reader is not None:      # read the kept inventories while the facts are asked for
        reader.preload([_record.host_key(h.name, client.endpoint, client.is_vcenter) for h in hosts])
    # the calls of every host start with the ImageConfigManager the inventory named, while the facts of all the
    # hosts are read in one call (a host whose facts fail is asked the ordinary way, which reports it)
    try:
        icms = client.image_config_managers() if hasattr(client, "image_config_managers") else {}
    except FleetpatchError:
        icms = {}
    facts: Dict[str, Dict[str, Any]] = {}
    stream = client.iter_inventories(hosts, facts=facts, workers=params.get("scan_workers"),
                                     reuse=_reuse(client, facts, reader), more_facts=lambda: client.hosts_facts(hosts),
                                     icms=icms)
    wrapped = PrefetchedClient(client, facts, stream, keep=_keeper(run, client, facts, folder) if folder else None)
    wrapped.clusters = _clusters(client, hosts)
    run.client = wrapped
    return wrapped


def _clusters(client: Any, hosts: List[Any]) -> List[Any]:
    """The cluster objects of ``hosts`` (from the client's inventory, already read to find the hosts)."""
    try:
        nodes = client._load_inventory()["nodes"]
    except Exception:  # pylint: disable=broad-except  # no bulk read of cluster properties then
        return []
    out: Dict[str, Any] = {}
    for h in hosts:
        parent = nodes.get((nodes.get(getattr(h, "moid", None)) or {}).get("parent"))
        if parent is not None and parent.get("kind") == "ClusterComputeResource":
            out.setdefault(parent["obj"]._moId, parent["obj"])
    return list(out.values())


def _keeper(run: Any, client: Any, facts: Dict[str, Dict[str, Any]], folder: str) -> Callable[..., None]:
    """``keep`` of ``PrefetchedClient``: writes the inventory of each host read afresh to the incremental cache
    (each distinct package list once per scan); after a write error it warns once and writes no more."""
    kept = set()        # package lists written (checked) in this scan
    failed: List[FleetpatchError] = []

    def keep(moid: str, rec: Dict[str, Any], data: bytes, digest: str) -> None:
        if failed or rec.get("reused"):
            return
        name = (facts.get(moid) or {}).get("name") or moid
        try:
            if digest not in kept:
                _record.write_packages(folder, data)
                kept.add(digest)
            _record.write_inventory(folder, _record.host_key(name, client.endpoint, client.is_vcenter),
                                    rec["fingerprint"], rec["packages"], digest=digest)
        except FleetpatchError as e:
            failed.append(e)
            run.warn("host %s: %s (the next scan reads its inventory again)" % (name, e))
    return keep
