# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VSphereClient: property collector, inventory, host lookup and facts. Breaking changes at any time."""

from __future__ import annotations

from typing import Union, Any, Dict, List, Optional, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    InputError, NotFoundError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import fastsoap as _fast
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.base import ClientBase
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import (
    vim, vmodl,
    vsphere_call)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.convert import (
    iso)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host import Host

try:
    from pyVmomi import VmomiSupport as _vmomi_support
except ImportError:  # pragma: no cover - the client needs pyVmomi; the import error is reported where it connects
    _vmomi_support = None  # type: ignore[assignment]


def _managed(ref: Any, stub: Any) -> Any:
    """pyVmomi's managed object for a ``fastsoap.MoRef`` (Unreadable for a type pyVmomi does not know)."""
    try:
        cls = _vmomi_support.GetWsdlType("urn:vim25", ref._wsdlName)
    except (KeyError, AttributeError, TypeError):
        raise _fast.Unreadable("managed object type %r" % (ref._wsdlName,))
    return cls(ref._moId, stub)


MAX_DEPTH = 64  # inventory trees are shallow; a cycle in a broken inventory must not hang us


def datacenter_of(nodes: Dict[str, Any], moid: Optional[str]) -> Optional[Tuple[str, str, str]]:
    """The one datacenter walk: from inventory node ``moid`` (``nodes``: moid -> {obj, kind, name, parent}) up to
    its datacenter. Returns ``(name, moid, path)`` where ``path`` is the folders below the root and the
    datacenter's name joined by ``/`` (``dcfolder/DC1``), or None when no datacenter is above it."""
    p = nodes.get(moid) if moid is not None else None
    for _depth in range(MAX_DEPTH):
        if p is None:
            return None
        if p["kind"] == "Datacenter":
            path = [p["name"]]
            q = nodes.get(p["parent"])
            while q is not None and q["parent"] is not None and len(path) < MAX_DEPTH:  # folders up to the root
                path.insert(0, q["name"])
                q = nodes.get(q["parent"])
            return p["name"], p["obj"]._moId, "/".join(path)
        p = nodes.get(p["parent"])
    return None


HOST_FACT_PATHS = ("name", "summary.config.product", "runtime.bootTime", "runtime.connectionState",
                   "runtime.powerState", "runtime.inMaintenanceMode", "summary.managementServerIp")


class InventoryMixin(ClientBase):
    """VSphereClient: property collector, inventory, host lookup and facts."""

    # ---- property collector ----------------------------------------------------------------------
    def _retrieve(self, specs, objects=None, container=None):
        """RetrievePropertiesEx. ``specs``: [(vim type, [paths])]; ``objects`` list or ``container`` view.
        Returns [(managed object, {path: value})]. Missing properties are left out."""
        self._ensure()
        pc = self._content.propertyCollector
        result = pc.RetrievePropertiesEx(specSet=[self._filter_spec(specs, objects, container)],
                                         options=vmodl.query.PropertyCollector.RetrieveOptions())
        return self._collect(pc, result)

    @staticmethod
    def _filter_spec(specs, objects=None, container=None):
        prop_specs = [vmodl.query.PropertyCollector.PropertySpec(type=t, pathSet=list(paths), all=False)
                      for t, paths in specs]
        if container is not None:
            trav = vmodl.query.PropertyCollector.TraversalSpec(name="view", path="view", skip=False,
                                                               type=vim.view.ContainerView)
            obj_specs = [vmodl.query.PropertyCollector.ObjectSpec(obj=container, skip=True, selectSet=[trav])]
        else:
            obj_specs = [vmodl.query.PropertyCollector.ObjectSpec(obj=o, skip=False) for o in objects]
        return vmodl.query.PropertyCollector.FilterSpec(objectSet=obj_specs, propSet=prop_specs,
                                                        reportMissingObjectsInResults=False)

    @staticmethod
    def _collect(pc, result):
        """[(managed object, {path: value})] of a RetrieveResult and the pages after it."""
        out = []
        while result is not None:
            for oc in result.objects or ():
                out.append((oc.obj, {p.name: p.val for p in oc.propSet or ()}))
            if not result.token:
                break
            result = pc.ContinueRetrievePropertiesEx(token=result.token)
        return out

    def _retrieve_fast(self, specs, objects):
        """``_retrieve`` of ``objects`` with the answer read by ``fastsoap.read_properties`` (objects are then
        ``fastsoap.MoRef``, data objects ``fastsoap.Data``); pyVmomi reads a paged or unusual answer."""
        self._ensure()
        pc = self._content.propertyCollector
        return _fast.call(self._stub, pc, "RetrievePropertiesEx", _fast.read_properties,
                          lambda result: self._collect(pc, result),
                          args=[[self._filter_spec(specs, objects)], vmodl.query.PropertyCollector.RetrieveOptions()])

    @staticmethod
    def _inventory_filter(root, specs):
        """The filter of ``_inventory_rows``: from the root folder down every folder (``childEntity``), each
        datacenter's four folders and each compute resource's hosts, reporting ``specs``' types: the objects a
        recursive container view of those types holds, in ONE property-collector call (no view to create and
        destroy: two round trips fewer)."""
        pc = vmodl.query.PropertyCollector

        def sel(name):
            return pc.SelectionSpec(name=name)
        folders = pc.TraversalSpec(name="folderChildren", type=vim.Folder, path="childEntity", skip=False,
                                   selectSet=[sel("folderChildren"), sel("dcHostFolder"), sel("dcVmFolder"),
                                              sel("dcDatastoreFolder"), sel("dcNetworkFolder"), sel("crHosts")])
        traversals = [folders]
        for name, path in (("dcHostFolder", "hostFolder"), ("dcVmFolder", "vmFolder"),
                           ("dcDatastoreFolder", "datastoreFolder"), ("dcNetworkFolder", "networkFolder")):
            traversals.append(pc.TraversalSpec(name=name, type=vim.Datacenter, path=path, skip=False,
                                               selectSet=[sel("folderChildren")]))
        traversals.append(pc.TraversalSpec(name="crHosts", type=vim.ComputeResource, path="host", skip=False))
        prop_specs = [pc.PropertySpec(type=t, pathSet=list(paths), all=False) for t, paths in specs]
        return pc.FilterSpec(objectSet=[pc.ObjectSpec(obj=root, skip=True, selectSet=traversals)],
                             propSet=prop_specs, reportMissingObjectsInResults=False)

    def _retrieve_tree_fast(self, specs):
        """The inventory objects of ``specs``' types (``_inventory_filter``) with their properties, the answer read
        by ``fastsoap.read_properties`` and its references made pyVmomi's managed objects (the same types and
        moids pyVmomi's reading gives); pyVmomi reads a paged or unusual answer."""
        pc = self._content.propertyCollector
        stub = self._stub

        def read(body):
            rows = _fast.read_properties(body)
            return [(_managed(obj, stub), {k: _managed(v, stub) if isinstance(v, _fast.MoRef) else v
                                           for k, v in props.items()}) for obj, props in rows]
        return _fast.call(stub, pc, "RetrievePropertiesEx", read, lambda result: self._collect(pc, result),
                          args=[[self._inventory_filter(self._content.rootFolder, specs)],
                                vmodl.query.PropertyCollector.RetrieveOptions()])

    def _host_props(self, host: Host, paths: List[str], action: str) -> Dict[Any, bool]:
        res = self._call(host, action, self._retrieve, [(vim.HostSystem, paths)], objects=[host._mo])
        if not res:
            raise NotFoundError("host %s (%s) no longer exists" % (host.name, host.moid), host=host.label)
        return res[0][1]

    # ---- inventory ---------------------------------------------------------------------------------
    @vsphere_call("read the inventory")
    def _inventory_rows(self) -> List[Tuple[Any, Dict[str, Any]]]:
        # each host's ImageConfigManager too (one reference per host): a fleet scan starts its calls with it
        # while the facts of the hosts are read (``image_config_managers``)
        specs = [(vim.HostSystem, ["name", "parent", "configManager.imageConfigManager"]),
                 (vim.ComputeResource, ["name", "parent"]),
                 (vim.Datacenter, ["name", "parent"]), (vim.Folder, ["name", "parent"])]
        return self._retrieve_tree_fast(specs)

    def _load_inventory(self):
        if self._inventory is not None:
            return self._inventory
        self._ensure()
        rows = self._inventory_rows()
        nodes = {}
        for obj, props in rows:
            parent = props.get("parent")
            nodes[obj._moId] = {"obj": obj, "kind": type(obj).__name__.split(".")[-1], "name": props.get("name"),
                                "parent": parent._moId if parent is not None else None,
                                "icm": getattr(props.get("configManager.imageConfigManager"), "_moId", None)}
        hosts = []
        for moid, n in nodes.items():
            if n["kind"] != "HostSystem":
                continue
            p = nodes.get(n["parent"])
            cluster = p["name"] if p is not None and p["kind"] == "ClusterComputeResource" else None
            datacenter, dc_moid, dc_path = datacenter_of(nodes, n["parent"]) or (None, None, None)
            hosts.append({"name": n["name"], "moid": moid, "cluster": cluster, "datacenter": datacenter,
                          "datacenter_moid": dc_moid, "datacenter_path": dc_path,
                          "image_config_manager": n["icm"]})
        hosts.sort(key=lambda h: (h["name"] or "", h["moid"]))
        datacenters = sorted({(n["name"], n["obj"]._moId) for n in nodes.values() if n["kind"] == "Datacenter"})
        clusters = sorted({n["name"] for n in nodes.values() if n["kind"] == "ClusterComputeResource"})
        self._inventory = {"hosts": hosts, "datacenters": datacenters, "clusters": clusters, "nodes": nodes,
                           "by_moid": {h["moid"]: h for h in hosts}}
        return self._inventory

    def refresh_inventory(self):
        self._inventory = None
        return self._load_inventory()

    def image_config_managers(self) -> Dict[str, Optional[str]]:
        """``{host moid: moid of its ImageConfigManager}`` as the inventory read them (None where vCenter gave
        none, a host being added for example)."""
        return {h["moid"]: h["image_config_manager"] for h in self._load_inventory()["hosts"]}

    def _host_record(self, moid: str) -> Optional[Dict[str, Any]]:
        return self._load_inventory()["by_moid"].get(moid)

    def find_targets(self, names: Optional[List[str]] = None, cluster: Optional[Any] = None, datacenter: Optional[Any] = None) -> List[Host]:
        """``find_hosts`` for a module's target options (``esxi_hostname``, ``cluster_name``, ``datacenter``).

        Through vCenter one of them is required, so that a task never acts on every host by accident; no match
        at all is a ``NotFoundError``."""
        names = list(names or []) or None
        if self.is_vcenter and not (names or cluster or datacenter):
            raise InputError("connected to vCenter: name the target hosts with esxi_hostname, cluster_name or "
                             "datacenter (a task never acts on every host of a vCenter by default)",
                             host=self.endpoint)
        hosts = self.find_hosts(names=names, cluster=cluster, datacenter=datacenter)
        if not hosts:
            raise NotFoundError("no host matches (esxi_hostname=%s, cluster_name=%s, datacenter=%s)"
                                % (", ".join(names or []) or "-", cluster or "-", datacenter or "-"),
                                host=self.endpoint)
        return hosts

    def find_hosts(self, names: Optional[List[str]] = None, cluster: Optional[str] = None,
                   datacenter: Optional[str] = None) -> List[Host]:
        """Hosts to work on, sorted by name.

        Via vCenter: the hosts named in ``names`` (host names or moids), of ``cluster`` (name), of ``datacenter``
        (name), all filters combined; with none of them, every host. ``NotFoundError`` lists names, clusters or
        datacenters that do not exist (``missing``). On ESXi directly: always the one host (filters ignored).
        """
        inv = self._load_inventory()
        hosts = inv["hosts"]
        if not self.is_vcenter:
            if not hosts:
                raise NotFoundError("no host found in the inventory", host=self.endpoint)
            return [Host(self, h["name"], h["moid"]) for h in hosts[:1]]
        if isinstance(names, str):
            names = [names]
        sel = list(hosts)
        if datacenter:
            if datacenter not in {d[0] for d in inv["datacenters"]}:
                raise NotFoundError("datacenter %s not found (datacenters: %s)"
                                    % (datacenter, ", ".join(d[0] for d in inv["datacenters"]) or "none"),
                                    host=self.endpoint, missing=[datacenter])
            sel = [h for h in sel if h["datacenter"] == datacenter]
        if cluster:
            if cluster not in inv["clusters"]:
                raise NotFoundError("cluster %s not found (clusters: %s)"
                                    % (cluster, ", ".join(inv["clusters"]) or "none"),
                                    host=self.endpoint, missing=[cluster])
            sel = [h for h in sel if h["cluster"] == cluster]
        if names:
            wanted = list(dict.fromkeys(names))
            by_key: Dict[Any, Any] = {}
            for h in sel:
                by_key.setdefault(h["name"], h)
                by_key.setdefault(h["moid"], h)
            missing = [n for n in wanted if n not in by_key]
            if missing:
                scope = (" in cluster %s" % cluster) if cluster else (
                    " in datacenter %s" % datacenter if datacenter else "")
                raise NotFoundError("host(s) not found%s: %s" % (scope, ", ".join(missing)), host=self.endpoint,
                                    missing=missing)
            picked = {}
            for n in wanted:
                picked[by_key[n]["moid"]] = by_key[n]
            sel = sorted(picked.values(), key=lambda h: (h["name"], h["moid"]))
        return [Host(self, h["name"], h["moid"]) for h in sel]

    def host(self, ref: Union[Host, str]) -> Host:
        """A ``Host`` from a handle, a host name or a moid (NotFoundError if unknown)."""
        if isinstance(ref, Host):
            if ref.client is not self:
                return Host(self, ref.name, ref.moid)
            return ref
        if ref is None and self.is_vcenter:
            raise InputError("a host name is required when connected to vCenter")
        if not self.is_vcenter:
            return self.find_hosts()[0]
        return self.find_hosts(names=[ref])[0]

    def host_facts(self, host):
        """Plain facts of a host: name, moid, version, build, patch_level, product_line, full_name, api_version,
        boot_time (ISO), connection_state, power_state, in_maintenance_mode, cluster, datacenter,
        vcenter_managed, management_server_ip, endpoint."""
        host = self.host(host)
        return self._facts_of(host, self._host_props(host, list(HOST_FACT_PATHS), "read host facts"))

    def _facts_of(self, host, props):
        """``host_facts`` from the properties read (``HOST_FACT_PATHS``)."""
        prod = props.get("summary.config.product")
        rec = self._host_record(host.moid) or {}
        mgmt_ip = props.get("summary.managementServerIp")
        return {
            "name": props.get("name") or host.name, "moid": host.moid,
            "version": getattr(prod, "version", None), "build": getattr(prod, "build", None),
            "patch_level": getattr(prod, "patchLevel", None), "product_line": getattr(prod, "productLineId", None),
            "full_name": getattr(prod, "fullName", None), "api_version": getattr(prod, "apiVersion", None),
            "boot_time": iso(props.get("runtime.bootTime")),
            "connection_state": props.get("runtime.connectionState"),
            "power_state": props.get("runtime.powerState"),
            "in_maintenance_mode": bool(props.get("runtime.inMaintenanceMode")),
            "cluster": rec.get("cluster"), "datacenter": rec.get("datacenter"),
            "vcenter_managed": bool(self.is_vcenter or mgmt_ip),
            "management_server_ip": mgmt_ip or None,
            "endpoint": self.endpoint,
        }

    # ---- fleet scale: every host in one call ---------------------------------------------------------
    def hosts_facts(self, hosts):
        """``host_facts`` of many hosts in ONE property-collector call (instead of one call per host), plus, under
        ``image_config_manager``, the moid of each host's ImageConfigManager (so that later calls need not read
        ``configManager`` again). Returns ``{moid: facts}``; a host the collector did not return (removed
        meanwhile) is left out, and the caller reads it on its own."""
        hosts = [self.host(h) for h in hosts]
        if not hosts:
            return {}
        action = "read the facts of %d host(s)" % len(hosts)
        try:
            paths = list(HOST_FACT_PATHS) + ["configManager.imageConfigManager"]
            rows = self._retrieve_fast([(vim.HostSystem, paths)], objects=[h._mo for h in hosts])
        except Exception as exc:
            raise self._err(exc, action)
        by_moid = {mo._moId: props for mo, props in rows}
        out = {}
        for h in hosts:
            props = by_moid.get(h.moid)
            if props is None:
                continue
            facts = self._facts_of(h, props)
            icm = props.get("configManager.imageConfigManager")
            facts["image_config_manager"] = getattr(icm, "_moId", None)
            out[h.moid] = facts
        return out

    def _datacenter_of(self, parent):
        inv = self._load_inventory()
        found = datacenter_of(inv["nodes"], parent._moId if parent is not None else None)
        if found:
            return found
        if inv["datacenters"]:
            name, moid = inv["datacenters"][0]
            return name, moid, name
        return None, None, None

    def _mo(self, vim_type, moid):
        self._ensure()
        return vim_type(moid, self._stub)
