# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the deploy's pre-checks, pure (no client calls). Breaking changes at any time.

- ``plan_blockers``: what stops a plan before anything happens (the plan's own blockers and host-level checks;
  the single place where host-level refusals such as an image-managed cluster are added);
- ``url_problems``: everything the host must download has a URL it can reach;
- ``evaluate_check``: the host's dry run (``CheckHostPatch_Task``) of one step, bulletin by bulletin;
- ``compare_dry_run``: what an esxcli dry run would install against the plan.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import PrecheckError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact_url

# reasons of HostPatchManager.Status that block an install (missingPatch is fine inside a step that brings the
# other bulletin; obsoleted means the host has newer VIBs: the host skips them)
BLOCKING_REASONS = ("missingLib", "conflictLib", "conflictPatch", "hasDependentPatch")


def plan_blockers(plan: Any, host_checks: Optional[List[Dict[str, str]]] = None) -> List[Dict[str, str]]:
    """The blockers of ``plan`` plus host-level ones (``{"type", "detail"}``); empty = go."""
    return list(plan.blockers) + list(host_checks or [])


def image_managed_blockers(entry: Dict[str, Any], allow_image_drift: bool = False) -> List[Dict[str, str]]:
    """A host of a cluster managed with a single image (vLCM; the scan's ``image_managed``) takes no bulletins
    unless ``allow_image_drift``: they would be standalone VIBs that drift from the cluster's image."""
    if not entry.get("image_managed") or allow_image_drift:
        return []
    return [{"type": "image_managed", "cluster": str(entry.get("cluster") or ""), "host": str(entry.get("name") or ""),
             "detail": "cluster %s of host %s is managed with a single image (vLCM): installing bulletins would make "
                       "the host drift from the cluster image; set the image with esxi_cluster_image and remediate "
                       "with esxi_cluster_remediate (or set allow_image_drift: true)"
                       % (entry.get("cluster"), entry.get("name"))}]


def url_problems(method: str, steps: List[Any], depot_urls: List[str], unreachable: List[str],
                 vib_url: Any) -> Optional[PrecheckError]:
    """The error for a download the host cannot make (None when every URL is there)."""
    steps = [s for s in steps if s.kind in ("install", "profile_update")]
    if not steps:
        return None
    if method == "esxcli":
        if not depot_urls:
            return PrecheckError("esxcli needs a depot URL the host can reach; set depot_url for the local depot "
                                 "source(s) %s" % ", ".join(unreachable))
        return None
    missing = [v.id for s in steps for v in s.install if not vib_url(v.id)]
    if missing:
        return PrecheckError("the host cannot download VIB(s) %s: the depot gives no URL for them that the host can "
                             "reach (set depot_url, or use method: esxcli for a zipped offline bundle)"
                             % ", ".join(missing), vibs=missing)
    return None


def evaluate_check(check: Dict[str, Any], bulletins: List[str], number: int, kind: str,
                   host: Optional[str] = None) -> Dict[str, Any]:
    """``{"bulletins": {id: state}}`` of a ``CheckHostPatch_Task`` result, or ``PrecheckError`` when the host
    could not read the metadata or refuses a bulletin of the step."""
    if check.get("errors"):
        err = check["errors"][0]
        raise PrecheckError("dry run (CheckHostPatch_Task) of step %d (%s): the host could not read the depot "
                            "metadata: %s: %s" % (number, kind, err.get("error_class"),
                                                  redact_url(err.get("message") or "")), host=host, step=number)
    status = {s["id"]: s for s in check.get("status") or ()}
    out: Dict[str, Any] = {"bulletins": {}}
    refused = []
    for bid in bulletins:
        st = status.get(bid)
        if st is None:
            out["bulletins"][bid] = "not reported"
            continue
        reasons = list(st.get("reason") or ())
        out["bulletins"][bid] = "installed" if st.get("installed") else (
            "applicable" if st.get("applicable") else ", ".join(reasons) or "not applicable")
        if st.get("installed") or st.get("applicable"):
            continue
        bad = [r for r in reasons if r in BLOCKING_REASONS]
        if len(bulletins) >= 2:
            # the host checks each bulletin alone; within one transaction another bulletin of the step brings
            # what this one needs (missingPatch) or replaces the installed VIB it would break (hasDependentPatch),
            # which the plan's resolution of the whole step verified
            bad = [r for r in bad if r != "hasDependentPatch"]
        elif "missingPatch" in reasons:
            bad.append("missingPatch")
        if bad:
            refused.append("%s (%s)" % (bid, ", ".join(bad)))
    if refused:
        raise PrecheckError("dry run (CheckHostPatch_Task) of step %d (%s): the host refuses %s"
                            % (number, kind, "; ".join(refused)), host=host, step=number)
    return out


def compare_dry_run(planned: Set[str], would: Set[str], skipped: Set[str]) -> List[str]:
    """Notes when the host's dry run differs from the plan."""
    notes = []
    other = sorted(would - planned)
    left = sorted(planned - would - skipped)
    if other:
        notes.append("the host would also install %s" % ", ".join(other))
    if left:
        notes.append("the host would not install %s" % ", ".join(left))
    return notes
