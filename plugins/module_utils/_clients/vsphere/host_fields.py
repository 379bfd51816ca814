# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VSphereClient: custom attributes of hosts (CustomFieldsManager) and the VMs on a host.

The deploy keeps its per-host marker and lock in custom attributes (``_patch/hostlock.py``). vCenter has a
``CustomFieldsManager``; ESXi reached directly has none (``ServiceContent.customFieldsManager`` unset), so
``host_fields_supported`` is False there and the deploy uses its controller-side store instead.

OBSERVED (vSphere API reference): ``CustomFieldsManager.AddCustomFieldDef(name, moType)`` raises ``DuplicateName``
when the field exists; ``SetField(entity, key, value)`` sets the value of one entity; values are read from the
entity's ``customValue`` (``CustomFieldStringValue``). govmomi's simulator appends a new value on every
``SetField`` instead of replacing it, so the LAST value of a key is the current one (also right for vCenter, which
keeps one). Breaking changes at any time.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import VSphereError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import vim


class HostFieldsMixin(object):
    """VSphereClient: custom attributes of HostSystem objects; the VMs of a host."""

    _content: Any
    _field_keys: Optional[Dict[str, int]] = None

    @property
    def host_fields_supported(self) -> bool:
        self._ensure()  # type: ignore[attr-defined]
        return getattr(self._content, "customFieldsManager", None) is not None

    def _field_key(self, name: str, create: bool) -> Optional[int]:
        if self._field_keys is None:
            self._field_keys = {}
        if name in self._field_keys:
            return self._field_keys[name]
        self._ensure()  # type: ignore[attr-defined]
        cfm = self._content.customFieldsManager
        if cfm is None:
            raise VSphereError("the endpoint has no custom attributes (ESXi without vCenter)",
                               host=self.endpoint)  # type: ignore[attr-defined]

        def find() -> Optional[int]:
            for f in cfm.field or ():
                if f.name == name and f.managedObjectType in (None, vim.HostSystem):
                    return int(f.key)
            return None

        try:
            key = find()
            if key is None and create:
                try:
                    key = int(cfm.AddCustomFieldDef(name=name, moType=vim.HostSystem).key)
                except vim.fault.DuplicateName:
                    key = find()               # another run created it at the same time
        except VSphereError:
            raise
        except Exception as exc:
            raise self._err(exc, "read the custom attribute %s" % name)  # type: ignore[attr-defined]
        if key is not None:
            self._field_keys[name] = key
        return key

    def host_field_get(self, host: Any, name: str) -> Optional[str]:
        """The value of the custom attribute ``name`` of ``host`` (None when unset or empty)."""
        host = self.host(host)  # type: ignore[attr-defined]
        key = self._field_key(name, create=False)
        if key is None:
            return None
        props = self._host_props(host, ["customValue"], "read the custom attribute %s" % name)  # type: ignore
        value = None
        for v in props.get("customValue") or ():
            if int(v.key) == key:
                value = getattr(v, "value", None)
        return value or None

    def host_field_set(self, host: Any, name: str, value: str) -> None:
        """Set the custom attribute ``name`` of ``host`` (created on first use; "" clears it)."""
        host = self.host(host)  # type: ignore[attr-defined]
        key = self._field_key(name, create=True)
        cfm = self._content.customFieldsManager
        self._call(host, "set the custom attribute %s" % name,  # type: ignore[attr-defined]
                   lambda: cfm.SetField(entity=host._mo, key=key, value=value or ""))

    def host_vms(self, host: Any) -> List[Dict[str, Any]]:
        """The VMs registered on ``host``: [{name, power_state}] sorted by name."""
        host = self.host(host)  # type: ignore[attr-defined]
        props = self._host_props(host, ["vm"], "list the VMs of the host")  # type: ignore[attr-defined]
        refs = list(props.get("vm") or ())
        if not refs:
            return []
        try:
            rows = self._retrieve([(vim.VirtualMachine, ["name", "runtime.powerState"])],  # type: ignore
                                  objects=refs)
        except Exception as exc:
            raise self._err(exc, "list the VMs of the host", host=host.label)  # type: ignore[attr-defined]
        return sorted(({"name": p.get("name"), "power_state": str(p.get("runtime.powerState"))}
                       for _obj, p in rows), key=lambda r: str(r["name"]))


class HostFields(HostFieldsMixin):
    """A VSphereClient with the methods above, for a client class that does not mix them in (yet): every other
    attribute is the client's."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._field_keys = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
