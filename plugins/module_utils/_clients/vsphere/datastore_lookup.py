# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VSphereClient: datastore lookup. Breaking changes at any time."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    NotFoundError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.base import ClientBase
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import (
    vim, vsphere_call)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.convert import (
    datastore_uuid)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host import Host


class DatastoresMixin(ClientBase):
    """VSphereClient: datastore lookup."""

    @vsphere_call("list datastores")
    def _datastore_rows(self, host: Optional[Host]) -> List[Tuple[Any, Dict[str, Any]]]:
        """(datastore, {name, summary, parent}) of ``host``, or of the whole inventory."""
        if host is not None:
            objs = self._host_props(host, ["datastore"], "list datastores").get("datastore") or []
            return self._retrieve([(vim.Datastore, ["name", "summary", "parent"])], objects=list(objs)) \
                if objs else []
        view = self._content.viewManager.CreateContainerView(self._content.rootFolder, [vim.Datastore], True)
        try:
            return self._retrieve([(vim.Datastore, ["name", "summary", "parent"])], container=view)
        finally:
            try:
                view.DestroyView()
            except Exception:  # best effort: the view dies with the session anyway
                pass

    """VSphereClient: datastore lookup."""

    # ---- datastores ----------------------------------------------------------------------------------
    def find_datastore(self, name: str, host: Optional[Host] = None) -> Dict[str, Any]:
        """Datastore ``name`` (of ``host`` when given): {name, moid, url, uuid, type, capacity, free_space,
        accessible, datacenter, datacenter_moid, datacenter_path}. NotFoundError lists the known datastores."""
        self._ensure()
        if host is not None:
            host = self.host(host)
        rows = self._datastore_rows(host)
        names = sorted(str(p["name"]) for _o, p in rows if p.get("name"))
        for obj, props in rows:
            if props.get("name") != name:
                continue
            summ = props.get("summary")
            dc = self._datacenter_of(props.get("parent"))
            url = getattr(summ, "url", None)
            return {"name": name, "moid": obj._moId, "url": url, "uuid": datastore_uuid(url),
                    "type": getattr(summ, "type", None), "capacity": getattr(summ, "capacity", None),
                    "free_space": getattr(summ, "freeSpace", None),
                    "accessible": bool(getattr(summ, "accessible", False)),
                    "datacenter": dc[0], "datacenter_moid": dc[1], "datacenter_path": dc[2]}
        where = host.label if isinstance(host, Host) else self.endpoint
        raise NotFoundError("datastore %s not found (datastores: %s)" % (name, ", ".join(names) or "none"),
                            host=where, missing=[name])
