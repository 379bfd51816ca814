# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the host handle the vSphere client returns. Breaking changes at any time."""

from __future__ import annotations

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import vim
from typing import Any, Dict


# ==== host handle ================================================================================

class Host(object):
    """A host of the client's inventory: ``name``, ``moid``. ``label`` names it in messages (the host name via
    vCenter, ``hostname:port`` on ESXi directly)."""

    __slots__ = ("client", "name", "moid")

    def __init__(self, client: Any, name: str, moid: str) -> None:
        self.client = client
        self.name = name
        self.moid = moid

    @property
    def _mo(self) -> Any:
        self.client._ensure()
        return vim.HostSystem(self.moid, self.client._stub)

    @property
    def label(self) -> str:
        if self.client.is_vcenter:
            return self.name
        return self.client.endpoint

    def to_dict(self) -> Dict[str, str]:
        return {"name": self.name, "moid": self.moid}

    def __repr__(self) -> str:
        return "Host(%r, %r)" % (self.name, self.moid)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Host) and other.moid == self.moid and other.client is self.client

    def __hash__(self) -> int:
        return hash((id(self.client), self.moid))
