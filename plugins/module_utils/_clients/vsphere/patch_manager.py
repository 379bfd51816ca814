# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VSphereClient: HostPatchManager (scan, check, stage, install, uninstall, query). Breaking changes at any time."""

from __future__ import annotations


from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    InputError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import (  # noqa: F401 (re-exports)
    HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR, backoff_delays, endpoint_label, redact, require_pyvmomi, translate, vim, vmodl,
    wait_for_task)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.convert import (
    parse_xml_result, patch_status_dict)

if HAS_PYVMOMI:
    from pyVmomi import SoapStubAdapter, VmomiSupport
else:  # pragma: no cover
    SoapStubAdapter = VmomiSupport = None



class PatchManagerMixin(object):
    """VSphereClient: HostPatchManager (scan, check, stage, install, uninstall, query)."""

    # ---- PatchManager ------------------------------------------------------------------------------
    def _config_manager(self, host, attr, what):
        """``host.configManager.<attr>``, or a clear error when the host has none."""
        mgr = self._call(host, "find the " + what, lambda: getattr(host._mo.configManager, attr))
        if mgr is None:
            raise VSphereError("the host has no " + what, host=host.label)
        return mgr

    def _patch_manager(self, host):
        return self._config_manager(host, "patchManager", "patch manager")

    @staticmethod
    def _patch_spec(cmd_options=None, proxy=None, proxy_port=None, proxy_user=None, proxy_password=None):
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

    def _patch_result(self, result, secrets):
        xml_text = getattr(result, "xmlResult", None) if result is not None else None
        xml_text = redact(xml_text, list(self.secrets) + list(secrets)) if xml_text else xml_text
        parsed = parse_xml_result(xml_text)
        return {
            "version": getattr(result, "version", None) if result is not None else None,
            "xml_result": xml_text,
            "status": [patch_status_dict(s) for s in (getattr(result, "status", None) or ())],
            "errors": parsed["errors"], "messages": parsed["messages"], "vibs": parsed["vibs"],
            "added_vibs": parsed["added_vibs"], "removed_vibs": parsed["removed_vibs"],
            "skipped_vibs": parsed["skipped_vibs"], "reboot_required": parsed["reboot_required"],
            "xml_parse_error": parsed["parse_error"],
        }

    def _patch_op(self, host, action, method, timeout, proxy_password=None, **kwargs):
        host = self.host(host)
        pm = self._patch_manager(host)
        secrets = [proxy_password] if proxy_password else []
        args = {k: v for k, v in kwargs.items() if v is not None}
        result = self._run_task(host, action, lambda: getattr(pm, method)(**args), timeout, secrets)
        return self._patch_result(result, secrets)

    def patch_scan(self, host, meta_urls=None, bundle_urls=None, cmd_options=None, proxy=None, proxy_port=None,
                   proxy_user=None, proxy_password=None, timeout=1800):
        """``ScanHostPatchV2_Task``: {version, xml_result, status: [...], errors, messages, vibs, reboot_required}."""
        spec = self._patch_spec(cmd_options, proxy, proxy_port, proxy_user, proxy_password)
        return self._patch_op(host, "scan for patches", "ScanHostPatchV2_Task", timeout, proxy_password,
                              metaUrls=list(meta_urls or []) or None, bundleUrls=list(bundle_urls or []) or None,
                              spec=spec)

    def patch_check(self, host, meta_urls=None, bundle_urls=None, cmd_options=None, proxy=None, proxy_port=None,
                    proxy_user=None, proxy_password=None, timeout=1800):
        """``CheckHostPatch_Task`` (pre-install check); same result shape as ``patch_scan``."""
        spec = self._patch_spec(cmd_options, proxy, proxy_port, proxy_user, proxy_password)
        return self._patch_op(host, "check patches", "CheckHostPatch_Task", timeout, proxy_password,
                              metaUrls=list(meta_urls or []) or None, bundleUrls=list(bundle_urls or []) or None,
                              spec=spec)

    def patch_stage(self, host, meta_urls=None, bundle_urls=None, vib_urls=None, cmd_options=None, proxy=None,
                    proxy_port=None, proxy_user=None, proxy_password=None, timeout=3600):
        """``StageHostPatch_Task``; same result shape as ``patch_scan``."""
        spec = self._patch_spec(cmd_options, proxy, proxy_port, proxy_user, proxy_password)
        return self._patch_op(host, "stage patches", "StageHostPatch_Task", timeout, proxy_password,
                              metaUrls=list(meta_urls or []) or None, bundleUrls=list(bundle_urls or []) or None,
                              vibUrls=list(vib_urls or []) or None, spec=spec)

    def patch_install(self, host, meta_urls=None, bundle_urls=None, vib_urls=None, cmd_options=None, proxy=None,
                      proxy_port=None, proxy_user=None, proxy_password=None, timeout=3600):
        """``InstallHostPatchV2_Task``. ``cmd_options`` e.g. ``["--maintenancemode"]`` (passed to esxupdate)."""
        spec = self._patch_spec(cmd_options, proxy, proxy_port, proxy_user, proxy_password)
        return self._patch_op(host, "install patches", "InstallHostPatchV2_Task", timeout, proxy_password,
                              metaUrls=list(meta_urls or []) or None, bundleUrls=list(bundle_urls or []) or None,
                              vibUrls=list(vib_urls or []) or None, spec=spec)

    def patch_uninstall(self, host, bulletin_ids, cmd_options=None, timeout=3600):
        """``UninstallHostPatch_Task(bulletinIds)``."""
        if not bulletin_ids:
            raise InputError("patch_uninstall needs at least one bulletin id")
        spec = self._patch_spec(cmd_options)
        return self._patch_op(host, "uninstall patches", "UninstallHostPatch_Task", timeout,
                              bulletinIds=list(bulletin_ids), spec=spec)

    def patch_query(self, host, timeout=600):
        """``QueryHostPatch_Task``: what the host reports as installed."""
        return self._patch_op(host, "query installed patches", "QueryHostPatch_Task", timeout)
