# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: what esxi_vlcm_depot does: vLCM depots in vCenter (online depots, offline bundles imported by URL,
sync) and their content. Breaking changes at any time."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import VlcmClient
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import FleetpatchError, InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact_url

Factory = Callable[[Dict[str, Any]], VlcmClient]


def _client(params: Dict[str, Any]) -> VlcmClient:
    return VlcmClient.from_params(params, timeout=float(params.get("request_timeout") or 60))


def depots_view(c: VlcmClient) -> Dict[str, List[Dict[str, Any]]]:
    online = [{"id": i, "location": redact_url(d.get("location")), "enabled": d.get("enabled"),
               "description": d.get("description"), "system_defined": d.get("system_defined")}
              for i, d in sorted(c.online_depots().items())]
    offline = [{"id": i, "location": redact_url(d.get("location")), "description": d.get("description"),
                "source_type": d.get("source_type")} for i, d in sorted(c.offline_depots().items())]
    return {"online": online, "offline": offline}


def content_view(c: VlcmClient) -> Dict[str, Any]:
    """{base_images: [versions], components: {name: [versions]}, add_ons: {name: [versions]}}."""
    return {"base_images": sorted(b.get("version") for b in c.depot_content("base-images")),
            "components": {x.get("name"): sorted(v.get("version") for v in x.get("versions") or ())
                           for x in c.depot_content("components")},
            "add_ons": {x.get("name"): sorted(v.get("version") for v in x.get("versions") or ())
                        for x in c.depot_content("add-ons")}}


def _find(depots: Dict[str, Any], location: str) -> Optional[str]:
    for i, d in depots.items():
        if d.get("location") == location:
            return str(i)
    return None


def _online(c: VlcmClient, p: Dict[str, Any], check_mode: bool, actions: List[str]) -> None:
    loc, label = p["location"], redact_url(p["location"])
    found = _find(c.online_depots(), loc)
    if p["state"] == "absent":
        if found:
            actions.append("remove online depot %s" % label)
            if not check_mode:
                c.delete_online_depot(found)
        return
    enabled = p.get("enabled", True) is not False
    if not found:
        actions.append("add online depot %s" % label)
        if not check_mode:
            c.add_online_depot(loc, p.get("description") or "", enabled)
        return
    have = c.online_depots()[found]
    new_description = p.get("description") is not None and p["description"] != have.get("description")
    if bool(have.get("enabled")) != enabled or new_description:
        actions.append("%s online depot %s" % ("enable" if enabled else "disable", label))
        if not check_mode:
            c.update_online_depot(found, enabled=enabled, description=p.get("description"))


def _offline(c: VlcmClient, p: Dict[str, Any], check_mode: bool, actions: List[str], timeout: float) -> None:
    loc, label = p["location"], redact_url(p["location"])
    found = _find(c.offline_depots(), loc)
    if p["state"] == "absent":
        if found:
            actions.append("remove offline depot %s" % label)
            if not check_mode:
                c.delete_offline_depot(found)
        return
    if p.get("enabled") is False:
        raise InputError("enabled: false applies to online depots only; remove an offline depot with state: absent")
    if not found:
        actions.append("import offline bundle %s" % label)
        if not check_mode:
            c.wait_task(c.import_offline_depot(loc, p.get("description") or ""),
                        "import of the offline bundle %s" % label, timeout=timeout)


def run_depot(params: Dict[str, Any], check_mode: bool, factory: Factory = _client) -> Dict[str, Any]:
    actions: List[str] = []
    timeout = float(params.get("timeout") or 1800)
    with factory(params) as c:
        before = content_view(c)
        try:
            if params.get("location"):
                if params.get("kind") == "offline":
                    _offline(c, params, check_mode, actions, timeout)
                else:
                    _online(c, params, check_mode, actions)
            if params.get("sync"):
                actions.append("synchronize the online depots")
                if not check_mode:
                    c.wait_task(c.sync_depots(), "synchronization of the depots", timeout=timeout)
        except FleetpatchError as exc:
            exc.details.setdefault("partial", {"changed": bool(actions[:-1]), "actions": actions})
            raise
        after = content_view(c)
        result: Dict[str, Any] = {"actions": actions, "depots": depots_view(c), "content": after}
    changes = [a for a in actions if not a.startswith("synchronize")]
    result["changed"] = bool(changes) or (not check_mode and after != before) or (check_mode and bool(actions))
    return result
