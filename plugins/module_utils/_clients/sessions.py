# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: log out the cached vSphere sessions of one endpoint and user (the ``vmware_session`` module, state
absent). Breaking changes at any time.

"Log out what we log in": with ``session_cache`` a module run keeps its session for the next run; at the end of
the play this ends them, for every kind the cache holds (SOAP ``/sdk``, vAPI ``/rest``, ``/api``), and deletes
their files. Only sessions of the given password are found (entries are keyed by it). Nothing cached: nothing to
do, no connection made, the cache directory not created.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.session_cache import (
    DEFAULT_TTL, ENV_DIR, KINDS, SessionCache)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import endpoint_label
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError

PATHS = {"soap": "/sdk", "rest": "/rest", "api": "/api"}


def _client(kind: str, params: Dict[str, Any], cache: SessionCache) -> Any:
    """A client of ``kind`` that does not log in (it only logs out)."""
    common: Dict[str, Any] = {"port": params.get("port") or 443, "validate_certs": params.get("validate_certs", True),
                              "ca_path": params.get("ca_path"), "proxy_host": params.get("proxy_host"),
                              "proxy_port": params.get("proxy_port"), "session_cache": cache}
    args = (params.get("hostname"), params.get("username"), params.get("password"))
    if kind == "soap":
        from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
        return VSphereClient(*args, connect=False, **common)
    if kind == "rest":
        from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vapi import VapiClient
        return VapiClient(*args, connect=False, **common)
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import VlcmClient
    return VlcmClient(*args, **common)


def end_sessions(params: Dict[str, Any], check_mode: bool = False,
                 client: Callable[[str, Dict[str, Any], SessionCache], Any] = _client) -> Dict[str, Any]:
    """Log out and forget the cached sessions of ``params`` (connection options). Returns the module result:
    ``changed``, ``sessions`` [{api, path, cached, logged_out}] and ``cache_dir``; never a session id."""
    if params.get("state", "absent") != "absent":
        raise InputError("state must be absent")
    host = params.get("hostname")
    if not host:
        raise InputError("hostname is required to log out of vCenter/ESXi")
    cache = SessionCache(params.get("session_cache_dir") or os.environ.get(ENV_DIR) or None,
                         ttl=int(params.get("session_cache_ttl") or DEFAULT_TTL))
    endpoint = endpoint_label(str(host), int(params.get("port") or 443))
    out: List[Dict[str, Any]] = []
    for kind in KINDS:
        key = cache.key(kind, endpoint, params.get("username"), params.get("password"))
        cached = cache.peek(key) is not None
        done = False
        if cached and not check_mode:
            done = bool(client(kind, params, cache).logout())
        out.append({"api": kind, "path": PATHS[kind], "cached": cached, "logged_out": done})
    return {"changed": any(s["cached"] for s in out), "sessions": out, "cache_dir": cache.directory}
