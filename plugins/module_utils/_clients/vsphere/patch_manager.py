# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VSphereClient: HostPatchManager (scan, check, stage, install, uninstall, query).
Breaking changes at any time."""

from __future__ import annotations

import functools

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional


from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    InputError, TaskFailedError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._esxi.esxupdate import (
    SUCCESS_CLASSES, esxupdate_result, fault_error)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import (
    redact, vim)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.convert import (
    parse_xml_result, patch_status_dict)


def _failures(reader: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The older ``errors`` list from the reader: only real failures (the success exit states 80-83 are written as
    ``<error>`` too); ``message`` = the msg/problem lines, else the description."""
    out = []
    for e in reader["errors"]:
        if e["code"] in SUCCESS_CLASSES:
            continue
        lines = [m for m in e["messages"] if m != e["description"]] or [e["description"] or e["class"]]
        url = e["fields"].get("url")
        out.append({"error_class": e["class"], "error_code": e["code"], "message": "\n".join(lines),
                    "url": url if isinstance(url, str) and url else None, "fields": e["fields"]})
    return out


def _redacted(value: Any, secrets: List[str]) -> Any:
    """``value`` (dicts, lists, strings) with every string passed through ``redact``."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: _redacted(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v, secrets) for v in value]
    return value


def _esxupdate_fault(exc: TaskFailedError, action: str) -> TaskFailedError:
    """A failed patch task whose PlatformConfigFault carries an esxupdate error: the error with its class, esxupdate
    code and messages (``error_class``, ``error_code``, ``error_messages`` in the details). hostd's fault format is
    UNKNOWN beyond ``/usr/sbin/esxupdate returned with exit status: N`` (ESXi 8.0U3) and the API reference's
    "details ... within the payload of the exception as xml string"; our simulator's older ``Class: message`` text
    is read too. Other faults pass unchanged."""
    if exc.details.get("fault_type") != "PlatformConfigFault":
        return exc
    err = fault_error(exc.msg.split(": PlatformConfigFault: ", 1)[-1].split("PlatformConfigFault: ", 1)[-1])
    if err is None:
        return exc
    text = "; ".join(err["messages"])
    msg = "%s failed: %s (esxupdate error %d)%s" % (action, err["class"], err["code"], ": " + text if text else "")
    details = dict(exc.details)
    details.update(error_class=err["class"], error_code=err["code"], error_messages=list(err["messages"]))
    return TaskFailedError(msg, source=exc.source, host=exc.host, **details)


class PatchManagerMixin(object):
    """VSphereClient: HostPatchManager (scan, check, stage, install, uninstall, query)."""

    if TYPE_CHECKING:  # provided by the VSphereClient facade this mixin is composed into
        secrets: List[str]

        def host(self, host: Any) -> Any:

            ...

        def _call(self, host: Any, action: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            ...

        def _run_task(self, host: Any, action: str, start: Callable[[], Any], timeout: float,
                      secrets: Any = ()) -> Any:
            ...

    # ---- PatchManager ------------------------------------------------------------------------------
    def _config_manager(self, host: Any, attr: str, what: str) -> Any:
        """``host.configManager.<attr>``, or a clear error when the host has none."""
        mgr = self._call(host, "find the " + what, lambda: getattr(host._mo.configManager, attr))
        if mgr is None:
            raise VSphereError("the host has no " + what, host=host.label)
        return mgr

    def _patch_manager(self, host: Any) -> Any:
        return self._config_manager(host, "patchManager", "patch manager")

    @staticmethod
    def _patch_spec(cmd_options: Any = None, proxy: Optional[str] = None, proxy_port: Any = None,
                    proxy_user: Optional[str] = None, proxy_password: Optional[str] = None) -> Any:
        if isinstance(cmd_options, (list, tuple)):
            cmd_options = " ".join(str(o) for o in cmd_options if o)
        if not (cmd_options or proxy or proxy_port or proxy_user or proxy_password):
            return None
        spec = vim.host.PatchManager.PatchManagerOperationSpec()
        if cmd_options:
            spec.cmdOption = cmd_options
        if proxy:
            spec.proxy = proxy
        if proxy_port:
            spec.port = int(proxy_port)
        if proxy_user:
            spec.userName = proxy_user
        if proxy_password:
            spec.password = proxy_password
        return spec

    def _patch_result(self, result: Any, secrets: List[str]) -> Dict[str, Any]:
        """The client's answer: the raw keys (``xml_result``, ``status`` ...), the older summary
        (``errors``, ``messages``, ``added_vibs`` ...) and what ``_esxi.esxupdate.esxupdate_result`` reads
        (``changed``, ``outcome``, ``code``, ``error``, ``vibs``, ``image_pending``, ``vib_staged``, ``staged_vibs``;
        the whole reader dict also under ``esxupdate``)."""
        raw = getattr(result, "xmlResult", None) if result is not None else None
        hidden = list(self.secrets) + list(secrets)
        xml_text = redact(raw, hidden) if raw else raw
        # read the document as the host wrote it, then redact every string read from it: redacting the XML text
        # first can break its character references (a URL followed by "&#39;")
        parsed = _redacted(parse_xml_result(raw), hidden)
        reader = _redacted(esxupdate_result(raw), hidden)
        reboot = reader["reboot_required"] if reader["reboot_required"] is not None else parsed["reboot_required"]
        out = {
            "version": getattr(result, "version", None) if result is not None else None,
            "xml_result": xml_text,
            "status": [patch_status_dict(s) for s in (getattr(result, "status", None) or ())],
            "errors": _failures(reader) if reader["form"] == "esxupdate" else parsed["errors"],
            "messages": parsed["messages"], "vibs": reader["vibs"],
            "added_vibs": parsed["added_vibs"], "removed_vibs": parsed["removed_vibs"],
            "skipped_vibs": parsed["skipped_vibs"], "reboot_required": reboot,
            "xml_parse_error": parsed["parse_error"],
        }
        for key in ("changed", "live", "outcome", "code", "error", "image_pending", "vib_staged", "staged_vibs"):
            out[key] = reader[key]
        out["esxupdate"] = reader
        return out

    def _patch_op(self, host: Any, action: str, method: str, timeout: float, proxy_password: Optional[str] = None,
                  **kwargs: Any) -> Dict[str, Any]:
        host = self.host(host)
        pm = self._patch_manager(host)
        secrets = [proxy_password] if proxy_password else []
        args = {k: v for k, v in kwargs.items() if v is not None}
        try:
            result = self._run_task(host, action, functools.partial(getattr(pm, method), **args), timeout, secrets)
        except TaskFailedError as exc:
            raise _esxupdate_fault(exc, action)
        return self._patch_result(result, secrets)

    def patch_scan(self, host: Any, meta_urls: Optional[List[str]] = None, bundle_urls: Optional[List[str]] = None,
                   cmd_options: Any = None, proxy: Optional[str] = None, proxy_port: Any = None,
                   proxy_user: Optional[str] = None, proxy_password: Optional[str] = None,
                   timeout: float = 1800) -> Dict[str, Any]:
        """``ScanHostPatchV2_Task``: {version, xml_result, status: [...], errors, messages, vibs, reboot_required}."""
        spec = self._patch_spec(cmd_options, proxy, proxy_port, proxy_user, proxy_password)
        return self._patch_op(host, "scan for patches", "ScanHostPatchV2_Task", timeout, proxy_password,
                              metaUrls=list(meta_urls or []) or None, bundleUrls=list(bundle_urls or []) or None,
                              spec=spec)

    def patch_check(self, host: Any, meta_urls: Optional[List[str]] = None, bundle_urls: Optional[List[str]] = None,
                    cmd_options: Any = None, proxy: Optional[str] = None, proxy_port: Any = None,
                    proxy_user: Optional[str] = None, proxy_password: Optional[str] = None,
                    timeout: float = 1800) -> Dict[str, Any]:
        """``CheckHostPatch_Task`` (pre-install check); same result shape as ``patch_scan``."""
        spec = self._patch_spec(cmd_options, proxy, proxy_port, proxy_user, proxy_password)
        return self._patch_op(host, "check patches", "CheckHostPatch_Task", timeout, proxy_password,
                              metaUrls=list(meta_urls or []) or None, bundleUrls=list(bundle_urls or []) or None,
                              spec=spec)

    def patch_stage(self, host: Any, meta_urls: Optional[List[str]] = None, bundle_urls: Optional[List[str]] = None,
                    vib_urls: Optional[List[str]] = None, cmd_options: Any = None, proxy: Optional[str] = None,
                    proxy_port: Any = None, proxy_user: Optional[str] = None, proxy_password: Optional[str] = None,
                    timeout: float = 3600) -> Dict[str, Any]:
        """``StageHostPatch_Task``; same result shape as ``patch_scan``."""
        spec = self._patch_spec(cmd_options, proxy, proxy_port, proxy_user, proxy_password)
        return self._patch_op(host, "stage patches", "StageHostPatch_Task", timeout, proxy_password,
                              metaUrls=list(meta_urls or []) or None, bundleUrls=list(bundle_urls or []) or None,
                              vibUrls=list(vib_urls or []) or None, spec=spec)

    def patch_install(self, host: Any, meta_urls: Optional[List[str]] = None, bundle_urls: Optional[List[str]] = None,
                      vib_urls: Optional[List[str]] = None, cmd_options: Any = None, proxy: Optional[str] = None,
                      proxy_port: Any = None, proxy_user: Optional[str] = None, proxy_password: Optional[str] = None,
                      timeout: float = 3600) -> Dict[str, Any]:
        """``InstallHostPatchV2_Task``. ``cmd_options`` e.g. ``["--maintenancemode"]`` (passed to esxupdate)."""
        spec = self._patch_spec(cmd_options, proxy, proxy_port, proxy_user, proxy_password)
        return self._patch_op(host, "install patches", "InstallHostPatchV2_Task", timeout, proxy_password,
                              metaUrls=list(meta_urls or []) or None, bundleUrls=list(bundle_urls or []) or None,
                              vibUrls=list(vib_urls or []) or None, spec=spec)

    def patch_uninstall(self, host: Any, bulletin_ids: List[str], cmd_options: Any = None,
                        timeout: float = 3600) -> Dict[str, Any]:
        """``UninstallHostPatch_Task(bulletinIds)``."""
        if not bulletin_ids:
            raise InputError("patch_uninstall needs at least one bulletin id")
        spec = self._patch_spec(cmd_options)
        return self._patch_op(host, "uninstall patches", "UninstallHostPatch_Task", timeout,
                              bulletinIds=list(bulletin_ids), spec=spec)

    def patch_query(self, host: Any, timeout: float = 600) -> Dict[str, Any]:
        """``QueryHostPatch_Task``: what the host reports as installed."""
        return self._patch_op(host, "query installed patches", "QueryHostPatch_Task", timeout)
