# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the state every ``VSphereClient`` mixin shares. Breaking changes at any time.

``VSphereClient`` (``client.py``) is composed of mixins (inventory, patch manager, image config, host ops,
events, datastores); each uses the session state and the helpers of the others through ``self``. This base names
that state with its types, for readers and for mypy; ``VSphereClient.__init__``/``_open`` set it. Methods that a
mixin calls on a sibling mixin resolve through ``__getattr__`` for the type checker only (``TYPE_CHECKING``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional


class ClientBase(object):
    """Session state of a ``VSphereClient`` (see the module docstring)."""

    hostname: str
    port: int
    username: str
    validate_certs: bool
    ca_path: Optional[str]
    timeout: float
    long_timeout: float
    generation: int
    reconnects: int
    _si: Any                                  # vim.ServiceInstance, None when not connected
    _stub: Any                                # pyVmomi SoapStubAdapter
    _content: Any                             # vim.ServiceInstanceContent
    _inventory: Optional[Dict[str, Any]]
    _about: Optional[Dict[str, Any]]
    _esxcli: Any                              # the Esxcli helper, created on first use

    if TYPE_CHECKING:
        @property
        def endpoint(self) -> str:
            ...

        @property
        def is_vcenter(self) -> bool:
            ...

        @property
        def secrets(self) -> List[str]:
            ...

        def __getattr__(self, name: str) -> Any:  # methods of the sibling mixins

            ...
