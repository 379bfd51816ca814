# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: what the vLCM modules do (one function per module), over ``_clients.vlcm.VlcmClient``. Breaking
changes at any time.

Every function takes the module's ``params`` (and ``check_mode``), returns the module result, and raises the
exceptions of ``_common/errors.py``. The REST session is always logged out (``with`` client); a draft this code
created is deleted on any failure, so nothing is left behind.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import VlcmClient
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    FleetpatchError, InputError, PrecheckError, TaskFailedError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._vlcm.policy import wanted_policy
from ansible_collections.fleetpatch.esxi.plugins.module_utils._vlcm.image import (
    after_image, apply_hosts, check_findings, compliance_view, desired_image, host_ids, image_view,
    missing_from_depots, plan_changes)

Factory = Callable[[Dict[str, Any]], VlcmClient]


def client(params: Dict[str, Any]) -> VlcmClient:
    return VlcmClient.from_params(params, timeout=float(params.get("request_timeout") or 60))


def managed_cluster(c: VlcmClient, name: str) -> str:
    """The id of cluster ``name``; InputError when it is not managed with a single image."""
    cid = str(c.find_cluster(name)["cluster"])
    if not c.image_managed(cid):
        raise InputError("cluster %s is not managed with a single image (vLCM); it is patched with baselines: use "
                         "esxi_patch_scan / esxi_patch_deploy for its hosts" % name, cluster=name)
    return cid


# ---- esxi_cluster_image_info -----------------------------------------------------------------------------
def run_info(params: Dict[str, Any], factory: Factory = client) -> Dict[str, Any]:
    name = params["cluster"]
    with factory(params) as c:
        cid = managed_cluster(c, name)
        image = image_view(c.software(cid))
        compliance = compliance_view(c.compliance(cid))
        spec = c.export_spec(cid) if params.get("export_spec") else None
    result: Dict[str, Any] = {"changed": False, "cluster": name, "cluster_id": cid, "image": image,
                              "compliance": compliance}
    if spec is not None:
        result["spec"] = spec
    if params.get("depot"):
        explain(compliance, load_bulletins(params))
    return result


def load_bulletins(params: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The bulletins of the depot option (our depot engine), as dicts with their component."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot
    vc = params.get("depot_validate_certs")
    depot = load_depot(params["depot"], validate_certs=True if vc is None else vc, proxy=params.get("proxy"),
                       cache_dir=params.get("cache_dir"), timeout=params.get("depot_timeout") or 30)
    return [b.to_dict() for b in depot.bulletins.values()]


def _bulletin_facts(b: Dict[str, Any]) -> Dict[str, Any]:
    return {"id": b["id"], "summary": b.get("summary"), "severity": b.get("severity"), "category": b.get("category"),
            "release_date": b.get("release_date"), "kb": b.get("kb_url")}


def explain(compliance: Dict[str, Any], bulletins: List[Dict[str, Any]]) -> None:
    """Add ``bulletins`` (severity, category, release date, KB) to every non-compliant component and base image
    of ``compliance`` (in place): the bulletin of the target version, or ``[]`` when no depot given has it."""
    by_comp: Dict[tuple, List[Dict[str, Any]]] = {}
    for b in bulletins:
        comp = b.get("component") or {}
        if comp.get("name"):
            by_comp.setdefault((comp["name"], comp.get("version")), []).append(_bulletin_facts(b))
    for host in compliance["hosts"]:
        for comp in host["components"]:
            if comp["status"] != "compliant":
                comp["bulletins"] = by_comp.get((comp["name"], comp["target"]), [])
        base = host["base_image"]
        if base["current"] != base["target"]:
            base["bulletins"] = by_comp.get(("ESXi", base["target"]), [])


# ---- esxi_cluster_image ----------------------------------------------------------------------------------
def run_image(params: Dict[str, Any], check_mode: bool, diff: bool = False,
              factory: Factory = client) -> Dict[str, Any]:
    name = params["cluster"]
    desired = desired_image(params)
    with factory(params) as c:
        cid = managed_cluster(c, name)
        current = image_view(c.software(cid))
        plan = plan_changes(current, desired)
        result: Dict[str, Any] = {"changed": bool(plan), "cluster": name, "cluster_id": cid, "plan": plan,
                                  "commit": None, "image": after_image(current, plan) if plan else current}
        if diff:
            result["diff"] = {"before": current, "after": result["image"]}
        if not plan:
            return result
        missing = missing_from_depots(plan, c.depot_content("base-images"), c.depot_content("components"),
                                      c.depot_content("add-ons"), current_base=current["base_image"]["version"])
        if missing:
            raise InputError("cluster %s: not in any depot configured in vCenter: %s; nothing was changed (add the "
                             "depot with esxi_vlcm_depot first)" % (name, "; ".join(missing)), cluster=name,
                             missing=missing)
        if check_mode:
            return result
        message = params.get("commit_message") or "fleetpatch.esxi: image of %s" % name
        warnings: List[str] = []
        result["commit"] = commit_plan(c, cid, name, plan, message, warnings)
        if warnings:
            result["warnings"] = warnings
        result["image"] = image_view(c.software(cid))
        if diff:
            result["diff"]["after"] = result["image"]
    return result


def create_draft(c: VlcmClient, cid: str, name: str, warnings: List[str]) -> str:
    """A new draft. vCenter allows one draft per user and cluster: a draft of our user left by a run that could not
    clean up (killed controller) is deleted first, with a warning (converge from any state)."""
    try:
        return c.create_draft(cid)
    except VSphereError as exc:
        if exc.details.get("vapi_error") != "ALREADY_EXISTS":
            raise
        stale = [d for d, info in c.list_drafts(cid).items()
                 if ((info or {}).get("metadata") or {}).get("owner") == c.username]
        if not stale:
            raise
        for d in stale:
            c.delete_draft(cid, d)
        warnings.append("cluster %s: deleted draft %s of user %s left by an earlier run" % (name, ", ".join(stale),
                                                                                            c.username))
        return c.create_draft(cid)


def commit_plan(c: VlcmClient, cid: str, name: str, plan: Dict[str, Any], message: str,
                warnings: Optional[List[str]] = None) -> Optional[str]:
    """Draft -> edits -> validate -> commit; the draft is deleted on any failure. Returns the commit id."""
    draft = create_draft(c, cid, name, warnings if warnings is not None else [])
    try:
        if "base_image" in plan:
            c.set_base_image(cid, draft, plan["base_image"])
        if "add_on" in plan:
            if plan["add_on"] is None:
                c.delete_add_on(cid, draft)
            else:
                c.set_add_on(cid, draft, plan["add_on"]["name"], plan["add_on"]["version"])
        if plan.get("components_to_set") or plan.get("components_to_delete"):
            c.update_components(cid, draft, plan.get("components_to_set") or {}, plan.get("components_to_delete") or [])
        if "hardware_support" in plan:
            if plan["hardware_support"]:
                c.set_hardware_support(cid, draft, plan["hardware_support"])
            else:
                c.delete_hardware_support(cid, draft)
        info = c.wait_task(c.validate_draft(cid, draft), "validation of the draft image of cluster %s" % name,
                           timeout=600)
        errors = [str((n.get("message") or {}).get("default_message")) for n in
                  ((info.get("result") or {}).get("notifications") or {}).get("errors") or ()]
        if errors:
            raise InputError("cluster %s: vCenter refused the image: %s; nothing was committed"
                             % (name, " ".join(errors)), cluster=name, vcenter_messages=errors)
        info = c.wait_task(c.commit_draft(cid, draft, message), "commit of the image of cluster %s" % name, timeout=600)
    except BaseException:
        try:
            c.delete_draft(cid, draft)
        except FleetpatchError:
            pass        # gone already (a failed commit may delete it); the original error matters
        raise
    return (info.get("target") or {}).get("id")


# ---- esxi_cluster_remediate ------------------------------------------------------------------------------
def _progress_recorder(sink: List[Dict[str, Any]],
                       log: Optional[Callable[[str], None]]) -> Callable[[Dict[str, Any]], None]:
    def record(info: Dict[str, Any]) -> None:
        prog = info.get("progress") or {}
        entry = {"status": info.get("status"), "completed": prog.get("completed"), "total": prog.get("total"),
                 "message": (prog.get("message") or {}).get("default_message")}
        sink.append(entry)
        if log is not None:
            log("vLCM task %s: %s/%s %s" % (entry["status"], entry["completed"], entry["total"], entry["message"]))
    return record


def _selected(view: Dict[str, Any], names: Optional[List[str]]) -> List[Dict[str, Any]]:
    return [h for h in view["hosts"] if not names or h["name"] in names]


def run_remediate(params: Dict[str, Any], check_mode: bool, log: Optional[Callable[[str], None]] = None,
                  partial: Optional[Dict[str, Any]] = None, factory: Factory = client) -> Dict[str, Any]:
    name = params["cluster"]
    names = params.get("hosts") or None
    timeout = float(params.get("timeout") or 3600)
    partial = partial if partial is not None else {}
    with factory(params) as c:
        cid = managed_cluster(c, name)
        raw = c.compliance(cid)
        moids = host_ids(raw, names, name)
        before = compliance_view(raw)
        todo = [h for h in _selected(before, names) if h["status"] != "compliant"]
        result: Dict[str, Any] = {"changed": False, "cluster": name, "cluster_id": cid, "compliance_before": before,
                                  "check": None, "hosts": [], "progress": []}
        policy = c.apply_policy(cid)
        new_policy = wanted_policy(policy, params)
        if new_policy is not None:
            result["changed"] = True
            if not check_mode:
                c.set_apply_policy(cid, new_policy)
            policy = new_policy
        result["policy"] = policy
        partial.update(result)
        if not todo:
            result["compliance"] = before
            return result
        info = c.wait_task(c.check(cid, moids), "check of cluster %s" % name, timeout=timeout)
        findings = check_findings(info.get("result") or {})
        result["check"] = partial["check"] = findings
        if findings["status"] == "error":
            raise PrecheckError("cluster %s: the remediation check failed, nothing was applied: %s"
                                % (name, "; ".join("%s: %s" % (i["entity"], i["message"]) for i in findings["issues"]
                                                   if i["status"] == "error")), cluster=name)
        result["changed"] = True
        if check_mode:
            result["hosts"] = [{"name": h["name"], "moid": h["moid"], "status": "would_remediate", "messages": []}
                               for h in todo]
            result["compliance"] = before
            return result
        task = c.apply(cid, moids, accept_eula=bool(params.get("accept_eula")))
        partial["changed"] = True
        info = c.wait_task(task, "remediation of cluster %s" % name, timeout=timeout, fail=False,
                           on_progress=_progress_recorder(result["progress"], log))
        result["hosts"] = partial["hosts"] = apply_hosts(info.get("result") or {})
        partial["progress"] = result["progress"]
        if info.get("status") == "FAILED":
            partial["changed"] = any(h["status"] == "ok" for h in result["hosts"])
            raise TaskFailedError("cluster %s: remediation failed: %s" % (name, info.get("error") or "(no message)"),
                                  cluster=name, task=task)
        result["compliance"] = compliance_view(c.compliance(cid))
    return result
