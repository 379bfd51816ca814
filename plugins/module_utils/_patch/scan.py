# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: patch scan of ESXi hosts over the client layer, and the run context deploy shares. No Ansible, no pyVmomi
imports here. Breaking changes at any time.

``run_scan(params)`` does the work of the module ``esxi_patch_scan``; ``params`` are the module's options. One
client (one session to vCenter or to one ESXi host) serves every target host.

Scan engines
------------
- ``controller``: the host's installed VIBs (``ImageConfigManager.FetchSoftwarePackages``) are compared with the
  depot here (``classify.classify``); the host downloads nothing.
- ``host``: the ``metadata.zip`` URLs of the depot's ``vendor-index.xml`` entries that fit the host's product line
  and version are handed to the host (``ScanHostPatchV2_Task``), which downloads them; its per-bulletin status is
  mapped to the same groups (``classify.from_host_status``). The URLs must be reachable from the host (``depot_url``).
- ``auto``: controller, falling back to host where the inventory cannot be read.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import plan as _plan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import classify as _scan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import fleetscan as _fleetscan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import record as _scan_record
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.options import RULESET
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.depot_argspec import depot_params
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    DepotFetchError, FleetpatchError, HostNotConnectedError, InputError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact_url

# ==== helpers ==============================================================================================


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def connect(params: Dict[str, Any]) -> Any:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
    return VSphereClient.from_params(params)


def image_managed(client: Any, host: Any) -> Optional[bool]:
    """Whether the host's cluster is managed with a single image (vLCM); None when it cannot be told. The scan
    stays read-only there; deploy refuses such hosts (``precheck.image_managed_blockers``)."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import host_image_managed
    return host_image_managed(client, host)


def load_depot(params: Dict[str, Any]) -> Any:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot
    return load_depot(**depot_params(params))


def targets(client: Any, params: Dict[str, Any]) -> List[Any]:
    return client.find_targets(params.get("esxi_hostname"), params.get("cluster_name"), params.get("datacenter"))


def selection(depot: Any, params: Dict[str, Any]) -> Tuple[List[str], List[str]]:
    """(bulletin ids selected, explicitly named ids). No criterion at all selects every bulletin (the plan keeps the
    missing ones); a ``profile`` alone selects no bulletin."""
    crit = [params.get(k) for k in ("bulletins", "severity", "category", "released_after", "released_before")]
    if not any(crit) and params.get("profile"):
        return [], []
    ids = _scan.select(depot, bulletins=params.get("bulletins"), severity=params.get("severity"),
                       category=params.get("category"), released_after=params.get("released_after"),
                       released_before=params.get("released_before"), exclude=params.get("exclude") or [])
    return ids, list(params.get("bulletins") or [])


def vib_ids(vibs: Any) -> List[str]:
    return sorted(v.id for v in vibs)


class RunContext(object):
    """State shared by the hosts of one module run: client, depot, URL mapping, warnings.

    ``firewall_owner``: {host moid: callable} for hosts whose deploy manages the httpClient ruleset itself (it
    opens the ruleset once, records its state before, and restores it at its end); ``host_downloads`` then calls it
    instead of opening and restoring around each operation."""

    def __init__(self, params: Dict[str, Any], client: Any = None, depot: Any = None) -> None:
        self.params = params
        self.warnings: List[str] = []
        self._warned: Set[str] = set()
        self._selection: Optional[Tuple[List[str], List[str]]] = None
        self.firewall_owner: Dict[str, Callable[[], None]] = {}
        self._classified: Dict[Tuple[Any, ...], Tuple[Dict[str, Any], str]] = {}
        if params.get("method") == "esxcli" and params.get("stage_only"):
            raise InputError("stage_only needs method patch_manager (esxcli has no staging)")
        self.depot = depot if depot is not None else load_depot(params)
        self.urls = _scan.HostDepotUrls(self.depot, params["depot"], params.get("depot_url"))
        self.client = client if client is not None else connect(params)
        self.own_client = client is None
        for w in self.depot.warnings:
            self.warn(w)

    def selection(self) -> Tuple[List[str], List[str]]:
        """``selection`` of the run's depot and options (computed once)."""
        if self._selection is None:
            self._selection = selection(self.depot, self.params)
        return self._selection

    def warn(self, msg: str) -> None:
        if msg not in self._warned:
            self._warned.add(msg)
            self.warnings.append(msg)

    def close(self) -> None:
        if self.own_client:
            self.client.close()

    # ---- firewall --------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def host_downloads(self, host: Any) -> Iterator[bool]:
        """Around an operation in which the host downloads from the depot: open the httpClient ruleset with
        ``manage_firewall`` (restored afterwards, also on failure), otherwise warn when it is closed."""
        owner = self.firewall_owner.get(host.moid)
        if owner is not None:
            owner()
            yield True
            return
        if self.params.get("manage_firewall"):
            with self.client.ruleset_open(host, RULESET):
                yield True
            return
        try:
            enabled = self.client.firewall_ruleset_enabled(host, RULESET)
        except FleetpatchError:
            enabled = None
        if enabled is False:
            self.warn("host %s: the %s firewall ruleset is disabled, so the host may not reach the depot; set "
                      "manage_firewall: true (the default) to open it for the operation" % (host.name, RULESET))
        yield False

    # ---- scanning ----------------------------------------------------------------------------------------
    def host_info(self, host: Any) -> Dict[str, Any]:
        facts = self.client.host_facts(host)
        if facts.get("connection_state") not in (None, "connected"):
            raise HostNotConnectedError("the host is %s" % facts["connection_state"], host=host.name,
                                        connection_state=facts["connection_state"])
        info = dict(facts)
        try:
            info["acceptance_level"] = self.client.acceptance_get(host)
        except VSphereError as e:
            info["acceptance_level"] = None
            self.warn("host %s: cannot read the acceptance level: %s" % (host.name, e.msg))
        try:
            prof = self.client.image_profile(host)
            info["image_profile"] = prof.get("name")
            info["image_profile_vendor"] = prof.get("vendor")
        except VSphereError as e:
            info["image_profile"] = info["image_profile_vendor"] = None
            self.warn("host %s: cannot read the image profile: %s" % (host.name, e.msg))
        return info

    def host_meta(self, host: Any, info: Dict[str, Any]) -> Tuple[List[str], List[str]]:
        meta = self.urls.meta_urls(info.get("product_line"), info.get("version"))
        bundles = self.urls.bundle_urls()
        if not meta and not bundles:
            unreachable = self.urls.unreachable()
            if unreachable:
                raise InputError("the host cannot download from the local depot source(s) %s: set depot_url to the "
                                 "URL the host reaches them at" % ", ".join(unreachable), host=host.name)
            raise InputError("no metadata of the depot fits the host (%s %s)"
                             % (info.get("product_line"), info.get("version")), host=host.name)
        return meta, bundles

    def _host_engine(self, host: Any, info: Dict[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
        meta, bundles = self.host_meta(host, info)
        with self.host_downloads(host):
            res = self.client.patch_scan(host, meta_urls=meta, bundle_urls=bundles)
        if res.get("errors"):
            err = res["errors"][0]
            raise DepotFetchError("the host could not read the depot metadata: %s: %s"
                                  % (err.get("error_class") or "error", redact_url(err.get("message") or "")),
                                  host=host.name, source=redact_url(err.get("url")) if err.get("url") else None,
                                  host_errors=[{"error_class": e.get("error_class"),
                                                "message": redact_url(e.get("message"))} for e in res["errors"]])
        return _scan.from_host_status(self.depot, res.get("status") or []), [str(redact_url(u)) for u in meta + bundles]

    def scan_host(self, host: Any, info: Optional[Dict[str, Any]] = None,
                  engine: Optional[str] = None) -> Tuple[Dict[str, Any], Optional[List[Any]]]:
        """Scan one host. Returns ``(entry, inventory)``: the JSON-safe result entry and the host's VIBs (list of
        Vib, or None when the host engine was used and the inventory could not be read)."""
        p = self.params
        info = info or self.host_info(host)
        engine = engine or p.get("engine") or "auto"
        inventory = None
        fallback = None
        if engine in ("controller", "auto"):
            try:
                inventory = self.client.software_vibs(host)
            except VSphereError as e:
                if engine == "controller" or e.connection_lost or e.session_lost:
                    raise
                fallback = "the VIB inventory could not be read (%s); the host scanned itself" % e.msg
                self.warn("host %s: %s" % (host.name, fallback))
        used = "controller" if inventory is not None else "host"
        metadata_urls: List[str] = []
        inventory_digest = None
        if used == "controller":
            groups, inventory_digest = self._classify(host, inventory, info)
        else:
            groups, metadata_urls = self._host_engine(host, info)
            if inventory is None and fallback is None:
                try:
                    inventory = self.client.software_vibs(host)
                except VSphereError:
                    inventory = None
        selected, _explicit = self.selection()
        entry = {
            "name": info.get("name") or host.name, "moid": host.moid, "cluster": info.get("cluster"),
            "image_managed": image_managed(self.client, host),
            "datacenter": info.get("datacenter"), "endpoint": info.get("endpoint"),
            "version": info.get("version"), "build": info.get("build"), "product_line": info.get("product_line"),
            "image_profile": info.get("image_profile"), "acceptance_level": info.get("acceptance_level"),
            "in_maintenance_mode": info.get("in_maintenance_mode"),
            "connection_state": info.get("connection_state"),
            "engine": used, "engine_fallback": fallback, "metadata_urls": metadata_urls,
            "scanned_at": now_iso(), "depot_digest": self.depot.digest,
            "inventory_digest": inventory_digest or (_scan.inventory_digest(inventory) if inventory is not None
                                                     else None),
            "vib_count": len(inventory) if inventory is not None else None,
        }
        for g in _scan.GROUPS:
            entry[g] = list(groups[g])
        entry["counts"] = {g: len(groups[g]) for g in _scan.GROUPS}
        relevant = {e["id"] for g in ("missing", "installed", "superseded") for e in groups[g]}
        entry["selected"] = [b for b in selected if b in relevant]
        entry["compliant"] = _scan.compliant(groups, selected)
        if p.get("profile"):
            entry["profile_compliance"] = self.profile_compliance(inventory, info, p["profile"])
            if entry["profile_compliance"]["compliant"] is False:
                entry["compliant"] = False
        entry["scan_record"] = None
        return entry, inventory

    def _classify(self, host: Any, inventory: Any, info: Dict[str, Any]) -> Tuple[Dict[str, Any], str]:
        """``(classify groups, inventory_digest)`` of a host's inventory. On the fleet path (a client with
        ``inventory_key``, fleetscan.py) hosts with the same package records, product line, version and acceptance
        level are classified once per run and share the (read-only) groups."""
        key_of = getattr(self.client, "inventory_key", None)
        key = key_of(host) if key_of is not None else None
        args = (info.get("product_line"), info.get("version"), info.get("acceptance_level"))
        if key is None:
            return _scan.classify(self.depot, inventory, *args), _scan.inventory_digest(inventory)
        hit = self._classified.get((key,) + args)
        if hit is None:
            hit = self._classified[(key,) + args] = (_scan.classify(self.depot, inventory, *args),
                                                     _scan.inventory_digest(inventory))
        return hit

    def profile_compliance(self, inventory: Optional[List[Any]], info: Dict[str, Any], name: str) -> Dict[str, Any]:
        prof = self.depot.profiles.get(name)
        if prof is None:
            raise InputError("image profile %s is not in the depot (profiles: %s)"
                             % (name, ", ".join(sorted(self.depot.profiles)) or "none"))
        if inventory is None:
            return {"profile": name, "compliant": None, "missing_vibs": []}
        plan = _plan.build(self.depot, inventory, {g: [] for g in _scan.GROUPS}, (), info.get("product_line"),
                           info.get("version"), None, profile=name)
        missing = sorted(v.id for v in plan.install)
        return {"profile": name, "compliant": not missing, "missing_vibs": missing}

    def record_key(self, entry: Dict[str, Any]) -> str:
        return _scan_record.host_key(entry["name"], self.client.endpoint, self.client.is_vcenter)

    def write_record(self, entry: Dict[str, Any]) -> Optional[str]:
        d = self.params.get("scan_record_dir")
        if not d:
            return None
        path = _scan_record.record_path(d, self.record_key(entry))
        entry["scan_record"] = path
        _scan_record.write(d, self.record_key(entry), entry)
        return path


# ==== scan ==================================================================================================

def _failed_entry(host: Any, e: FleetpatchError) -> Dict[str, Any]:
    return {"name": host.name, "moid": host.moid, "failed": True, "msg": str(e), "error_kind": e.kind}


class _RecordWriter(object):
    """The fleet path writes the scan records on one thread of their own while the scan goes on (a record is
    a file replaced atomically: on a busy disk the rename alone took milliseconds per host in the scan's loop).
    ``finish`` waits for every write; a host whose record could not be written becomes a failed entry, as on
    the sequential path."""

    def __init__(self, run: RunContext) -> None:
        self.run = run
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="fleetpatch-record")
        self.pending: List[Tuple[int, Any, Any]] = []
        self.encoder = _scan_record.RecordEncoder(_scan.GROUPS)

    def submit(self, i: int, host: Any, entry: Dict[str, Any]) -> None:
        if not self.run.params.get("scan_record_dir"):
            return
        d = self.run.params["scan_record_dir"]
        key = self.run.record_key(entry)
        entry["scan_record"] = _scan_record.record_path(d, key)
        self.pending.append((i, host, self.pool.submit(_scan_record.write, d, key, dict(entry), self.encoder)))

    def finish(self, results: List[Dict[str, Any]]) -> List[Tuple[int, FleetpatchError]]:
        failed = []
        try:
            for i, host, fut in self.pending:
                try:
                    fut.result()
                except FleetpatchError as e:
                    results[i] = _failed_entry(host, e)
                    failed.append((i, e))
        finally:
            self.pool.shutdown(wait=True)
        return failed


def run_scan(params: Dict[str, Any], partial: Optional[Dict[str, Any]] = None, client: Any = None,
             depot: Any = None) -> Dict[str, Any]:
    """The ``esxi_patch_scan`` module: returns its result dict. A host that cannot be scanned fails the task after
    the others were scanned (their results are in ``hosts``)."""
    partial = partial if partial is not None else {}
    run = RunContext(params, client=client, depot=depot)
    fleet = None
    try:
        hosts = targets(run.client, params)
        # ---- fleet scale (H6, fleetscan.py): facts in one call, inventories concurrently, unchanged hosts reused
        fleet = _fleetscan.prefetch(run, hosts)
        # ----
        results: List[Dict[str, Any]] = []
        failed: List[Tuple[int, FleetpatchError]] = []
        partial["hosts"] = results
        writer = _RecordWriter(run) if fleet is not None else None
        for i, host in enumerate(hosts):
            try:
                entry, _inv = run.scan_host(host)
                if writer is not None:
                    writer.submit(i, host, entry)
                else:
                    run.write_record(entry)
            except FleetpatchError as e:
                entry = _failed_entry(host, e)
                failed.append((i, e))
            results.append(entry)
        if writer is not None:
            failed.extend(writer.finish(results))
        failures = [e for _i, e in sorted(failed, key=lambda x: x[0])]
        out = {"changed": False, "hosts": results, "depot_digest": run.depot.digest,
               "compliant": all(h.get("compliant") for h in results) if results else True,
               "warnings": run.warnings}
        if failures:
            first = failures[0]
            partial.update(out)
            raise type(first)("scan failed on %d of %d host(s): %s" % (len(failures), len(results), first.msg),
                              host=first.host, source=first.source)
        return out
    finally:
        if fleet is not None:
            fleet.close_prefetch()      # a scan that ended early: no reads left running after the logout
        run.close()
