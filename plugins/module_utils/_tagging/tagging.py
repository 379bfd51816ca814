# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: vCenter tags on ESXi hosts (the ``esxi_host_tag`` module). Breaking changes at any time.

Tags live in vCenter (vSphere Automation API), not on the hosts: a host reached directly has none. The hosts are
found through the SOAP session (``VSphereClient.find_targets``), their tags are read and changed through the vAPI
session (``clients/_vapi.py``). Only the tags of one category are considered; tags of other categories are never
touched.

Per host, for ``state=present``: with ``exclusive`` the other tags of the category are detached first (a category
with SINGLE cardinality refuses a second tag: "Tagging cardinality violation"), then the tag is attached. For
``state=absent``: the tag (or, without one, every tag of the category) is detached. A failing host does not stop the
others; the error at the end names every failed host and the result keeps every host's record.
"""

from __future__ import annotations

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    FleetpatchError, InputError, NotFoundError, VSphereError)
from typing import TYPE_CHECKING, Any, Dict, List, Optional

if TYPE_CHECKING:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host import Host

DEFAULT_CATEGORY = "fleetpatch-compliance"
CATEGORY_DESCRIPTION = "ESXi patch compliance (fleetpatch.esxi): one tag per host"
TAG_DESCRIPTION = "ESXi patch compliance status set by fleetpatch.esxi"
HOST_TYPE = "HostSystem"


def check_options(params: Dict[str, Any]) -> Dict[str, Any]:
    """The request from the module options; InputError for what cannot work."""
    state = params.get("state") or "present"
    category = (params.get("category") or "").strip()
    tag = (params.get("tag") or "").strip() or None
    if not category:
        raise InputError("category must name a tag category")
    if state == "present" and not tag:
        raise InputError("state=present needs tag (the tag to put on the hosts)")
    return {"state": state, "category": category, "tag": tag, "exclusive": bool(params.get("exclusive", True)),
            "create": bool(params.get("create", True)), "names": params.get("esxi_hostname") or None,
            "cluster": params.get("cluster_name"), "datacenter": params.get("datacenter")}


def connect(params: Dict[str, Any]) -> Any:
    """The default SOAP client (host lookup)."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
    return VSphereClient.from_params(params)


def connect_vapi(params: Dict[str, Any]) -> Any:
    """The default vAPI client (tags)."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vapi import VapiClient
    return VapiClient.from_params(params)


def not_vcenter_error(client: Any) -> InputError:
    """The error for a connection to an ESXi host: tags exist only in vCenter."""
    managed_by = None
    try:
        hosts = client.find_hosts()
        if hosts:
            managed_by = client.host_facts(hosts[0]).get("management_server_ip")
    except FleetpatchError:
        pass
    hint = (" The host is managed by the vCenter Server at %s: connect to it instead." % managed_by
            if managed_by else " Connect to the vCenter Server that manages the host.")
    return InputError("connected to an ESXi host directly, not to vCenter Server: vCenter tags exist only in "
                      "vCenter Server, a host reached directly has none.%s" % hint, host=client.endpoint,
                      vcenter_required=True, managed_by=managed_by)


def manage(params: Dict[str, Any], check_mode: bool = False, partial: Optional[Dict[str, Any]] = None, diff: bool = False,
           client_factory: Optional[Any] = None, vapi_factory: Optional[Any] = None) -> Dict[str, Any]:
    """Bring the tags of the category on the selected hosts to the requested state; returns the module result.

    ``partial`` (a dict) is kept up to date with ``changed``, ``hosts``, ``category`` and ``tag`` so that a failure
    reports what was done. Raises a ``FleetpatchError`` when anything fails (after every host was handled).
    """
    req = check_options(params)
    partial = partial if partial is not None else {}
    client = (client_factory or connect)(params)
    try:
        if not client.is_vcenter:
            raise not_vcenter_error(client)
        hosts = client.find_targets(req["names"], req["cluster"], req["datacenter"])
        vapi = (vapi_factory or connect_vapi)(params)
        try:
            return _Job(vapi, req, hosts, check_mode, partial, diff).run()
        finally:
            vapi.close()
    finally:
        client.close()


class _Job(object):
    """One run over the selected hosts. See ``manage``."""

    def __init__(self, vapi: Any, req: Dict[str, Any], hosts: List[Host], check_mode: bool, partial: Dict[Any, Any],
                 diff: bool) -> None:
        self.vapi = vapi
        self.req = req
        self.hosts = hosts
        self.check_mode = check_mode
        self.partial = partial
        self.diff = diff
        self.records: List[Any] = []
        self.category: Optional[Dict[str, Any]] = None      # public record
        self.tag: Optional[Dict[str, Any]] = None
        self.created = False

    def _publish(self) -> None:
        self.partial["hosts"] = list(self.records)
        self.partial["category"] = self.category
        self.partial["tag"] = self.tag
        self.partial["changed"] = self._changed()

    def _changed(self) -> bool:
        return self.created or any(r.get("changed") for r in self.records)

    # ---- category and tag ------------------------------------------------------------------------
    def _ensure_category(self) -> Optional[Dict[str, Any]]:
        name = self.req["category"]
        cat = self.vapi.find_category(name)
        if cat is not None:
            types = cat["associable_types"]
            if types and HOST_TYPE not in types:
                raise InputError("tag category %s cannot hold hosts: its associable types are %s. Add HostSystem to "
                                 "them in vCenter, or choose another category"
                                 % (name, ", ".join(types)), host=self.vapi.endpoint)
            cat["created"] = False
            return cat
        if self.req["state"] == "absent":
            return None
        if not self.req["create"]:
            raise NotFoundError("tag category %s does not exist in vCenter (create: false)" % name,
                                host=self.vapi.endpoint)
        self.created = True
        if self.check_mode:
            return {"id": None, "name": name, "description": CATEGORY_DESCRIPTION, "cardinality": "SINGLE",
                    "associable_types": [HOST_TYPE], "created": True}
        cat = self.vapi.create_category(name, description=CATEGORY_DESCRIPTION, cardinality="SINGLE",
                                        associable_types=[HOST_TYPE])
        cat["created"] = True
        return cat

    def _ensure_tag(self, cat: Dict[str, Any], tags: List[Any]) -> Optional[Dict[str, Any]]:
        name = self.req["tag"]
        if not name:
            return None
        for t in tags:
            if t["name"] == name:
                return dict(t, created=False)
        if self.req["state"] == "absent":
            return None
        if not self.req["create"]:
            raise NotFoundError("tag %s does not exist in category %s (create: false)" % (name, cat["name"]),
                                host=self.vapi.endpoint)
        self.created = True
        if self.check_mode or cat["id"] is None:
            return {"id": None, "name": name, "description": TAG_DESCRIPTION, "category_id": cat["id"],
                    "created": True}
        tag = self.vapi.create_tag(cat["id"], name, description=TAG_DESCRIPTION)
        tag["created"] = True
        return tag

    # ---- the run -------------------------------------------------------------------------------------
    def run(self) -> Dict[str, Any]:
        req = self.req
        cat = self._ensure_category()
        self.category = cat
        tags = self.vapi.tags_of_category(cat["id"]) if cat and cat["id"] else []
        tag = self._ensure_tag(cat, tags) if cat else None
        self.tag = tag
        names = {t["id"]: t["name"] for t in tags}
        if tag and tag["id"] and tag["id"] not in names:
            names[tag["id"]] = tag["name"]
        self._publish()
        failed = []
        for host in self.hosts:
            rec = {"name": host.name, "moid": host.moid, "tags_before": [], "tags_after": [], "attached": [],
                   "detached": [], "changed": False}
            self.records.append(rec)
            try:
                self._host(host, rec, cat, tag, names)
            except FleetpatchError as exc:
                rec["failed"] = True
                rec["msg"] = exc.msg
                rec["error_kind"] = exc.kind
                failed.append((host.name, exc))
            self._publish()
        result = {"changed": self._changed(), "hosts": list(self.records), "category": cat, "tag": tag}
        if self.diff:
            result["diff"] = {
                "before": {"category": req["category"], "hosts": {r["name"]: r["tags_before"] for r in self.records}},
                "after": {"category": req["category"], "hosts": {r["name"]: r["tags_after"] for r in self.records}},
            }
        if failed:
            kinds = {type(e) for _n, e in failed}
            cls = kinds.pop() if len(kinds) == 1 else VSphereError
            raise cls("tagging failed on %d of %d host(s): %s"
                      % (len(failed), len(self.records), "; ".join("%s: %s" % (n, e.msg) for n, e in failed)),
                      host=self.vapi.endpoint, failed_hosts=[n for n, _e in failed],
                      partial=dict(result, changed=self._changed()))
        return result

    def _host(self, host: Host, rec: Dict[str, Any], cat: Optional[Dict[str, Any]], tag: Optional[Dict[str, Any]],
              names: Dict[str, str]) -> None:
        req = self.req
        cat_name = cat["name"] if cat else ""
        attached = set(self.vapi.attached_tag_ids(host.moid)) if cat and cat["id"] else set()
        mine = sorted(i for i in attached if i in names)        # this category's tags on the host
        before = sorted(names[i] for i in mine)
        rec["tags_before"] = before
        rec["tags_after"] = list(before)      # what the host has, until something changes
        detach, attach = [], None
        if req["state"] == "present":
            if tag is None:   # _ensure_tag always gives one for state present (a placeholder in check mode)
                raise FleetpatchError("internal error: no tag record to attach", host=host.name)
            others = [i for i in mine if i != tag["id"]]
            if req["exclusive"]:
                detach = others
            elif others and (cat or {}).get("cardinality") == "SINGLE":
                raise InputError("tag category %s allows one tag per host (cardinality SINGLE) and the host has %s; "
                                 "set exclusive: true to replace it"
                                 % (cat_name, ", ".join(names[i] for i in others)), host=host.name)
            if tag["id"] is None or tag["id"] not in attached:
                attach = tag
        elif tag is not None:
            detach = [tag["id"]] if tag["id"] in attached else []
        elif not req["tag"]:
            detach = list(mine)
        planned = set(before) - {names[i] for i in detach}
        if attach is not None:
            planned.add(attach["name"])
        if self.check_mode:
            rec["tags_after"] = sorted(planned)
            rec["detached"] = sorted(names[i] for i in detach)
            rec["attached"] = [attach["name"]] if attach is not None else []
            rec["changed"] = bool(detach or attach is not None)
            return
        # the record follows each step, so a failure in the middle reports what the host has now
        current = set(before)
        # SINGLE cardinality: detach first, or vCenter refuses the new tag ("Tagging cardinality violation")
        for i in detach:
            self.vapi.detach(i, host.moid, what="detach tag %s/%s from host %s" % (cat_name, names[i], host.name))
            current.discard(names[i])
            rec["detached"].append(names[i])
            rec["tags_after"] = sorted(current)
            rec["changed"] = True
        if attach is not None:
            self.vapi.attach(attach["id"], host.moid,
                             what="attach tag %s/%s to host %s" % (cat_name, attach["name"], host.name))
            current.add(attach["name"])
            rec["attached"] = [attach["name"]]
            rec["tags_after"] = sorted(current)
            rec["changed"] = True
