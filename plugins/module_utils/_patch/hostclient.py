# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the client methods that patch scan and deploy use, as ``typing.Protocol`` classes.

``VSphereClient`` (``_clients/vsphere/client.py``) satisfies them; the unit tests use an in-memory
``FakeHostClient`` (``tests/unit/patch/fake_client.py``) that satisfies them too. Nothing here does I/O.
Breaking changes at any time.
"""

from __future__ import annotations

from typing import Any, ContextManager, Dict, List, Optional, Sequence, Tuple

try:
    from typing import Protocol
except ImportError:  # pragma: no cover  (Python < 3.8)
    Protocol = object  # type: ignore[assignment,misc]


class HostRef(Protocol):
    """A host handle: ``name`` and ``moid`` (``_clients.vsphere.host.Host``)."""

    name: str
    moid: str


class EsxcliClient(Protocol):
    """The ``esxcli software`` commands deploy uses (``_clients.vsphere.esxcli``)."""

    def vib_list(self, host: Any, rebooting_image: bool = False) -> List[Dict[str, Any]]:

        ...

    def vib_install(self, host: Any, depot: Any = None, viburl: Any = None, vibname: Any = None,
                    dryrun: bool = False, maintenancemode: bool = False) -> Dict[str, Any]:
        ...

    def vib_remove(self, host: Any, vibname: Any, dryrun: bool = False,
                   maintenancemode: bool = False) -> Dict[str, Any]:
        ...

    def profile_update(self, host: Any, depot: Any, profile: str, dryrun: bool = False,
                       maintenancemode: bool = False) -> Dict[str, Any]:
        ...


class HostClient(Protocol):
    """The ~25 client methods of patch scan and deploy (all on ``VSphereClient``)."""

    endpoint: str
    is_vcenter: bool

    @property
    def esxcli(self) -> EsxcliClient:
        ...

    # inventory and facts
    def find_targets(self, names: Optional[Sequence[str]] = None, cluster: Optional[str] = None,
                     datacenter: Optional[str] = None) -> List[Any]:
        ...

    def host_facts(self, host: Any) -> Dict[str, Any]:

        ...

    def wait_connected(self, host: Any, timeout: float = 600, poll_max: float = 5.0) -> Dict[str, Any]:

        ...

    def acceptance_get(self, host: Any) -> str:

        ...

    def acceptance_set(self, host: Any, level: str) -> Dict[str, Any]:

        ...

    def image_profile(self, host: Any) -> Dict[str, Any]:

        ...

    def software_vibs(self, host: Any) -> List[Any]:

        ...

    # HostPatchManager
    def patch_scan(self, host: Any, meta_urls: Any = None, bundle_urls: Any = None) -> Dict[str, Any]:
        ...

    def patch_check(self, host: Any, meta_urls: Any = None, bundle_urls: Any = None) -> Dict[str, Any]:

        ...

    def patch_stage(self, host: Any, vib_urls: Any = None) -> Dict[str, Any]:

        ...

    def patch_install(self, host: Any, vib_urls: Any = None) -> Dict[str, Any]:

        ...

    def patch_query(self, host: Any) -> Dict[str, Any]:

        ...

    # maintenance mode, reboot
    def in_maintenance_mode(self, host: Any) -> bool:
        ...

    def enter_maintenance_mode(self, host: Any, timeout: int = 0, evacuate_powered_off_vms: bool = False,
                               vsan_mode: Optional[str] = None, wait_timeout: Optional[float] = None) -> bool:
        ...

    def exit_maintenance_mode(self, host: Any, timeout: int = 0, wait_timeout: Optional[float] = None) -> bool:

        ...

    def reboot(self, host: Any, force: bool = False, timeout: float = 1800) -> Tuple[Any, Dict[str, Any]]:

        ...

    def host_vms(self, host: Any) -> List[Dict[str, Any]]:

        ...

    # firewall
    def firewall_ruleset_enabled(self, host: Any, ruleset: str) -> bool:
        ...

    def set_firewall_ruleset(self, host: Any, ruleset: str, enabled: bool) -> bool:

        ...

    def ruleset_open(self, host: Any, ruleset: str = "httpClient") -> ContextManager[bool]:

        ...

    # events and the host's custom attributes (the deploy marker and the host lock)
    def log_user_event(self, host: Any, message: str) -> None:
        ...

    def host_field_get(self, host: Any, name: str) -> Optional[str]:

        ...

    def host_field_set(self, host: Any, name: str, value: str) -> None:

        ...

    def close(self) -> None:

        ...
