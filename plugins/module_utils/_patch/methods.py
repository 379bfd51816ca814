# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: how a plan step is dry-run and applied on a host: ``PatchManagerMethod`` (HostPatchManager:
CheckHostPatch_Task, then InstallHostPatchV2_Task or StageHostPatch_Task with the VIB URLs) and ``EsxcliMethod``
(``esxcli software vib install|profile update --dry-run``, then the same without). Acceptance-level and removal
steps are the same for both. Breaking changes at any time.

``dry_run(host, step, rec, number)`` changes nothing on the host and returns what ``apply`` needs; a failing dry
run is a ``PrecheckError`` ("nothing of this step was applied"). ``apply(host, step, rec, ctx)`` returns the step's
summary ``{changed, installed, removed, skipped, reboot_required, message}``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Set

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    FleetpatchError, PrecheckError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._esxi.esxupdate import esxupdate_result, install_summary
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.precheck import compare_dry_run, evaluate_check


def esxcli_summary(res: Dict[str, Any]) -> Dict[str, Any]:
    """The summary of an ``esxcli software`` InstallationResult."""
    return {"changed": bool(res.get("changed")), "installed": list(res.get("vibs_installed") or ()),
            "removed": list(res.get("vibs_removed") or ()), "skipped": list(res.get("vibs_skipped") or ()),
            "reboot_required": bool(res.get("reboot_required")), "message": res.get("message")}


def patch_summary(res: Dict[str, Any]) -> Dict[str, Any]:
    """The summary of a HostPatchManager install/stage result (``_esxi.esxupdate.install_summary``); an error exit
    state of esxupdate raises."""
    summary = install_summary(res)
    err = summary["error"]
    if err:
        raise VSphereError("the host's update engine failed: %s (esxupdate error %s)%s"
                           % (err["class"], err["code"], ": " + "; ".join(err["messages"]) if err["messages"] else ""),
                           error_class=err["class"], error_code=err["code"], error_messages=list(err["messages"]))
    return summary


class StepMethod(object):
    """What both methods share: the acceptance and removal steps, the dry-run error wrapper."""

    name = ""

    def __init__(self, run: Any, info: Dict[str, Any]) -> None:
        self.run = run
        self.client = run.client
        self.params = run.params
        self.info = info

    def _dry(self, fn: Callable[[], Any], host: Any, step: Any, number: int) -> Any:
        try:
            return fn()
        except FleetpatchError as e:
            raise PrecheckError("dry run of step %s (%s) failed, nothing of this step was applied: %s"
                                % (number, step.kind, e.msg), host=host.name, step=number, cause=e.kind,
                                **{k: v for k, v in e.details.items() if k in ("error_class", "fault_type")})

    def dry_run(self, host: Any, step: Any, rec: Dict[str, Any], number: int) -> Any:
        if step.kind == "acceptance":
            return None
        if step.kind == "remove":
            names = sorted({v.name for v in step.remove})
            esxcli = self.client.esxcli
            rec["dry_run"] = esxcli_summary(self._dry(
                lambda: esxcli.vib_remove(host, names, dryrun=True, maintenancemode=True), host, step, number))
            return names
        return self.dry_run_install(host, step, rec, number)

    def apply(self, host: Any, step: Any, rec: Dict[str, Any], ctx: Any) -> Dict[str, Any]:
        if step.kind == "acceptance":
            res = self.client.acceptance_set(host, step.acceptance)
            rec["result"] = res
            return {"changed": res["changed"]}
        if step.kind == "remove":
            rec["result"] = esxcli_summary(self.client.esxcli.vib_remove(host, ctx))
            return rec["result"]
        rec["result"] = self.apply_install(host, step, ctx)
        return rec["result"]

    def dry_run_install(self, host: Any, step: Any, rec: Dict[str, Any], number: int) -> Any:
        raise NotImplementedError

    def apply_install(self, host: Any, step: Any, ctx: Any) -> Dict[str, Any]:
        raise NotImplementedError


class EsxcliMethod(StepMethod):
    """``esxcli software vib install -d <depot> -n name:version`` / ``profile update -d <depot> -p <profile>``."""

    name = "esxcli"

    def dry_run_install(self, host: Any, step: Any, rec: Dict[str, Any], number: int) -> Any:
        esxcli = self.client.esxcli
        depots = self.run.urls.depot_urls()
        call: Callable[[bool], Dict[str, Any]]
        if step.kind == "profile_update":
            def call(dry: bool) -> Dict[str, Any]:
                return esxcli.profile_update(host, depots, step.profile, dryrun=dry, maintenancemode=dry)
        else:
            specs = ["%s:%s" % (v.name, v.version) for v in step.install]

            def call(dry: bool) -> Dict[str, Any]:
                return esxcli.vib_install(host, depot=depots, vibname=specs, dryrun=dry, maintenancemode=dry)
        dry = esxcli_summary(self._dry(lambda: call(True), host, step, number))
        dry.pop("changed", None)
        rec["dry_run"] = dry
        notes = compare_dry_run({v.id for v in step.install}, set(dry["installed"]), set(dry["skipped"]))
        if notes:
            rec.setdefault("notes", []).extend(notes)
        return call

    def apply_install(self, host: Any, step: Any, ctx: Any) -> Dict[str, Any]:
        return esxcli_summary(ctx(False))


class PatchManagerMethod(StepMethod):
    """HostPatchManager: ``CheckHostPatch_Task`` with the metadata, then install or stage the step's VIB URLs."""

    name = "patch_manager"

    def dry_run_install(self, host: Any, step: Any, rec: Dict[str, Any], number: int) -> Any:
        meta, bundles = self.run.host_meta(host, self.info)
        check = self._dry(lambda: self.client.patch_check(host, meta_urls=meta, bundle_urls=bundles), host, step,
                          number)
        rec["dry_run"] = evaluate_check(check, list(step.bulletins), number, step.kind, host=host.name)
        return [self.run.urls.vib_url(v.id) for v in sorted(step.install, key=lambda v: v.id)]

    def apply_install(self, host: Any, step: Any, ctx: Any) -> Dict[str, Any]:
        planned = {v.id for v in step.install}
        if self.params.get("stage_only"):
            if planned <= self.staged_ids(host):
                return {"changed": False, "staged": sorted(planned), "message": "already staged"}
            summary = patch_summary(self.client.patch_stage(host, vib_urls=ctx))
            summary["staged"] = sorted(planned)
            summary["changed"] = True
            return summary
        return patch_summary(self.client.patch_install(host, vib_urls=ctx))

    def staged_ids(self, host: Any) -> Set[str]:
        """VIB ids staged on the host (empty when unknown). esxupdate's ``query`` writes nothing; a scan without
        metadata lists the host's VIBs with their ``pkgstate``."""
        try:
            res = esxupdate_result(self.client.patch_scan(host).get("xml_result"))
        except FleetpatchError:
            return set()
        return set(res["staged_vibs"]) if res["vib_staged"] is not False else set()


def method_for(run: Any, info: Dict[str, Any], name: Optional[str] = None) -> StepMethod:
    """The step method of the run's ``method`` option."""
    name = name or run.params.get("method") or "patch_manager"
    cls = EsxcliMethod if name == "esxcli" else PatchManagerMethod
    return cls(run, info)


__all__: List[str] = ["EsxcliMethod", "PatchManagerMethod", "StepMethod", "esxcli_summary", "method_for",
                      "patch_summary"]
