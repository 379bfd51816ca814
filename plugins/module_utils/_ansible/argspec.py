# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the one connection argument spec. Breaking changes at any time.

Documented by the ``fleetpatch.esxi.connection`` doc fragment; keep both in step (validate-modules checks).
Names, aliases and environment variables are those of vmware.vmware, so inventories, ``module_defaults`` and
AWX "VMware vCenter" credentials work unchanged; the ``session_cache*`` options (the controller-side session cache,
``_clients/session_cache.py``) are this collection's own, with ``FLEETPATCH_SESSION_CACHE*`` variables.
"""

from __future__ import annotations

from typing import Any, Mapping

from ansible.module_utils.basic import env_fallback

CONNECTION_OPTIONS = ("hostname", "username", "password", "port", "validate_certs", "ca_path", "proxy_host",
                      "proxy_port", "session_cache", "session_cache_dir", "session_cache_ttl")


def connection_argument_spec() -> dict[str, dict[str, Any]]:
    """A new dict with the connection options, to merge into a module's ``argument_spec``.

    ``hostname``, ``username`` and ``password`` are not ``required`` in the spec (they may come from the
    environment, and not every module needs a connection); ``require_connection()`` checks them at use.
    """
    spec: dict[str, dict[str, Any]] = dict(
        hostname=dict(type="str", fallback=(env_fallback, ["VMWARE_HOST"])),
        username=dict(type="str", aliases=["user", "admin"], fallback=(env_fallback, ["VMWARE_USER"])),
        password=dict(type="str", aliases=["pass", "pwd"], no_log=True, fallback=(env_fallback, ["VMWARE_PASSWORD"])),
        port=dict(type="int", default=443, fallback=(env_fallback, ["VMWARE_PORT"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["VMWARE_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["VMWARE_CA_PATH"])),
        proxy_host=dict(type="str", fallback=(env_fallback, ["VMWARE_PROXY_HOST"])),
        proxy_port=dict(type="int", fallback=(env_fallback, ["VMWARE_PROXY_PORT"])),
        # ours (issue 14), not vmware.vmware's: reuse the vSphere session across module runs on the controller
        session_cache=dict(type="bool", default=False, fallback=(env_fallback, ["FLEETPATCH_SESSION_CACHE"])),
        session_cache_dir=dict(type="path", fallback=(env_fallback, ["FLEETPATCH_SESSION_CACHE_DIR"])),
        session_cache_ttl=dict(type="int", default=3600, fallback=(env_fallback, ["FLEETPATCH_SESSION_CACHE_TTL"])),
    )
    return spec


def target_argument_spec() -> dict[str, dict[str, Any]]:
    """The hosts a module acts on (documented by the ``fleetpatch.esxi.targets`` doc fragment)."""
    return dict(
        esxi_hostname=dict(type="list", elements="str", aliases=["esxi_hostnames"]),
        cluster_name=dict(type="str", aliases=["cluster"]),
        datacenter=dict(type="str", aliases=["datacenter_name"]),
    )


_ENV = {"hostname": "VMWARE_HOST", "username": "VMWARE_USER", "password": "VMWARE_PASSWORD"}


def missing_connection_params(params: Mapping[str, Any]) -> list[str]:
    """Names of the connection options a connection needs but ``params`` lacks (empty list when complete)."""
    return [name for name in ("hostname", "username", "password") if not params.get(name)]


def require_connection(module: Any) -> None:
    """Fail the module with one clear message if ``hostname``/``username``/``password`` are not all set."""
    missing = missing_connection_params(module.params)
    if missing:
        module.fail_json(
            msg="Missing connection option(s): %s. Set them on the task, with module_defaults "
                "(group/fleetpatch.esxi.esxi or group/fleetpatch.esxi.vmware) or in the environment (%s)."
                % (", ".join(missing), ", ".join(_ENV[m] for m in missing)),
            error_kind="input",
        )
