# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: vLCM image semantics, pure (no I/O). Breaking changes at any time.

* ``image_view(software_info)``: vCenter's ``EsxSettingsSoftwareInfo`` as the modules return it.
* ``compliance_view(cluster_compliance)``: ``EsxSettingsClusterCompliance`` with hosts named by their vCenter names.
* ``desired_image(params)`` / ``desired_from_spec(doc)``: what the user asks for (module options, or a software
  specification document as ``?action=export`` writes it, for GitOps).
* ``plan_changes(current, desired)``: the draft edits that turn the current desired image into the wanted one
  (nothing for an unchanged image, so a second run creates no commit); ``after_image`` for the diff.
* ``missing_from_depots``: the versions no configured depot holds (checked before anything is committed).
* ``check_findings`` / ``apply_hosts``: the CIS task results of check and apply, per host by name.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError

ABSENT = object()      # "not given": leave as it is (``None`` means remove, where the option allows it)
COMPLIANCE = ("compliant", "non_compliant", "incompatible", "unavailable")


def image_view(info: Dict[str, Any]) -> Dict[str, Any]:
    """{base_image {version, display_name, display_version, release_date}, add_on or None, components
    {name: version}, hardware_support, solutions}."""
    base = info.get("base_image") or {}
    details = base.get("details") or {}
    add_on = info.get("add_on")
    hsp = info.get("hardware_support")
    return {
        "base_image": {"version": base.get("version"), "display_name": details.get("display_name"),
                       "display_version": details.get("display_version"), "release_date": details.get("release_date")},
        "add_on": {"name": add_on.get("name"), "version": add_on.get("version")} if isinstance(add_on, dict) else None,
        "components": {name: (c or {}).get("version") for name, c in sorted((info.get("components") or {}).items())},
        "hardware_support": dict((hsp or {}).get("packages") or {}) or None,
        "solutions": {name: (s or {}).get("version") for name, s in sorted((info.get("solutions") or {}).items())},
    }


def _lower(value: Any) -> Optional[str]:
    return str(value).lower() if value is not None else None


def compliance_view(comp: Dict[str, Any]) -> Dict[str, Any]:
    """{status, impact, commit, hosts: [{name, moid, status, impact, base_image {current, target}, components:
    [{name, current, target, status}]}]}: statuses and impacts in lower case, hosts sorted by name."""
    info = comp.get("host_info") or {}
    hosts = []
    for moid, h in (comp.get("hosts") or {}).items():
        base = h.get("base_image") or {}
        comps = []
        for name, c in sorted((h.get("components") or {}).items()):
            comps.append({"name": name, "current": ((c or {}).get("current") or {}).get("version"),
                          "target": ((c or {}).get("target") or {}).get("version"), "status": _lower(c.get("status"))})
        hosts.append({"name": (info.get(moid) or {}).get("name") or moid, "moid": moid,
                      "status": _lower(h.get("status")), "impact": _lower(h.get("impact")),
                      "base_image": {"current": (base.get("current") or {}).get("version"),
                                     "target": (base.get("target") or {}).get("version")},
                      "components": comps})
    hosts.sort(key=lambda h: h["name"])
    return {"status": _lower(comp.get("status")), "impact": _lower(comp.get("impact")), "commit": comp.get("commit"),
            "hosts": hosts}


def host_ids(comp: Dict[str, Any], names: Optional[List[str]], cluster: str) -> List[str]:
    """The moids of hosts named by their vCenter names (through the compliance ``host_info``)."""
    if not names:
        return []
    by_name = {(v or {}).get("name"): moid for moid, v in (comp.get("host_info") or {}).items()}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise InputError("host(s) %s are not in cluster %s (its hosts: %s)"
                         % (", ".join(unknown), cluster, ", ".join(sorted(n for n in by_name if n)) or "none"))
    return [by_name[n] for n in names]


# ---- the wanted image ----------------------------------------------------------------------------------
def desired_image(params: Dict[str, Any]) -> Dict[str, Any]:
    """The wanted image from module options: keys only for what was given (``spec`` wins if set)."""
    if params.get("spec") is not None:
        return desired_from_spec(params["spec"])
    out: Dict[str, Any] = {}
    if params.get("base_image"):
        out["base_image"] = str(params["base_image"])
    if params.get("add_on") is not None:      # {} removes the add-on (Ansible cannot tell null from omitted)
        out["add_on"] = _add_on(params["add_on"] or None)
    if params.get("components") is not None:
        out["components"] = {str(k): (None if v is None else str(v)) for k, v in params["components"].items()}
    if params.get("hardware_support") is not None:
        out["hardware_support"] = params["hardware_support"] or None
    return out


def _add_on(value: Any) -> Optional[Dict[str, str]]:
    if value is None:
        return None
    if not isinstance(value, dict) or not value.get("name") or not value.get("version"):
        raise InputError("add_on must be null or a dict with name and version, got %r" % (value,))
    return {"name": str(value["name"]), "version": str(value["version"])}


def desired_from_spec(doc: Any) -> Dict[str, Any]:
    """A software specification document (``?action=export``: base_image, add_on, components, hardware_support)
    as a complete wanted image: what it does not list is removed."""
    if not isinstance(doc, dict):
        raise InputError("spec must be a software specification document (a dict), got %s" % type(doc).__name__)
    unknown = sorted(set(doc) - {"base_image", "add_on", "components", "hardware_support", "solutions"})
    if unknown:
        raise InputError("spec: unknown key(s) %s (a software specification has base_image, add_on, components, "
                         "hardware_support, solutions)" % ", ".join(unknown))
    base = doc.get("base_image")
    if not isinstance(base, dict) or not base.get("version"):
        raise InputError("spec: base_image.version is required")
    comps = doc.get("components") or {}
    if not isinstance(comps, dict):
        raise InputError("spec: components must be a dict name -> version")
    hsp = doc.get("hardware_support")
    return {"base_image": str(base["version"]), "add_on": _add_on(doc.get("add_on")),
            "components": {str(k): str(v) for k, v in comps.items()}, "components_exact": True,
            "hardware_support": (hsp or {}).get("packages") if isinstance(hsp, dict) else None}


def plan_changes(current: Dict[str, Any], desired: Dict[str, Any]) -> Dict[str, Any]:
    """The draft edits (only what differs): base_image (version), add_on ({name, version} or None to remove),
    components_to_set {name: version}, components_to_delete [names], hardware_support (packages or None)."""
    plan: Dict[str, Any] = {}
    if desired.get("base_image") and desired["base_image"] != current["base_image"]["version"]:
        plan["base_image"] = desired["base_image"]
    if "add_on" in desired and desired["add_on"] != current.get("add_on"):
        plan["add_on"] = desired["add_on"]
    have = current.get("components") or {}
    want = desired.get("components")
    if want is not None:
        to_set = {n: v for n, v in want.items() if v is not None and have.get(n) != v}
        to_delete = sorted(n for n, v in want.items() if v is None and n in have)
        if desired.get("components_exact"):
            to_delete = sorted(set(to_delete) | {n for n in have if n not in want})
        if to_set:
            plan["components_to_set"] = to_set
        if to_delete:
            plan["components_to_delete"] = to_delete
    if "hardware_support" in desired and (desired["hardware_support"] or None) != current.get("hardware_support"):
        plan["hardware_support"] = desired["hardware_support"] or None
    return plan


def after_image(current: Dict[str, Any], plan: Dict[str, Any]) -> Dict[str, Any]:
    """The image ``current`` becomes with ``plan`` (for the diff and check mode)."""
    comps: Dict[str, Any] = dict(current.get("components") or {})
    out: Dict[str, Any] = {"base_image": dict(current["base_image"]), "add_on": current.get("add_on"),
                           "hardware_support": current.get("hardware_support"),
                           "solutions": dict(current.get("solutions") or {})}
    if "base_image" in plan:
        out["base_image"] = {"version": plan["base_image"], "display_name": None, "display_version": None,
                             "release_date": None}
    if "add_on" in plan:
        out["add_on"] = plan["add_on"]
    comps.update(plan.get("components_to_set") or {})
    for n in plan.get("components_to_delete") or ():
        comps.pop(n, None)
    out["components"] = dict(sorted(comps.items()))
    if "hardware_support" in plan:
        out["hardware_support"] = plan["hardware_support"]
    return out


def missing_from_depots(plan: Dict[str, Any], base_images: List[Dict[str, Any]], components: List[Dict[str, Any]],
                        add_ons: List[Dict[str, Any]], current_base: Optional[str] = None) -> List[str]:
    """What the plan sets that no depot holds, one sentence each (empty: everything is available). The cluster's
    current base image counts as available."""
    out = []
    if plan.get("base_image"):
        have = {b.get("version") for b in base_images} | ({current_base} if current_base else set())
        if plan["base_image"] not in have:
            held = ", ".join(sorted(v for v in have if v)) or "none"
            out.append("base image %s (depots hold: %s)" % (plan["base_image"], held))
    versions = {c.get("name"): {v.get("version") for v in c.get("versions") or ()} for c in components}
    for name, ver in sorted((plan.get("components_to_set") or {}).items()):
        if ver not in versions.get(name, set()):
            held = ", ".join(sorted(v for v in versions.get(name, set()) if v)) or "no version"
            out.append("component %s %s (depots hold %s)" % (name, ver, held))
    if plan.get("add_on"):
        a = plan["add_on"]
        held_addons = {(x.get("name"), v.get("version")) for x in add_ons for v in x.get("versions") or ()}
        if (a["name"], a["version"]) not in held_addons:
            out.append("add-on %s %s" % (a["name"], a["version"]))
    return out


# ---- task results --------------------------------------------------------------------------------------
def _texts(messages: Any) -> List[str]:
    return [str(m.get("default_message")) for m in messages or () if isinstance(m, dict) and m.get("default_message")]


def check_findings(result: Dict[str, Any]) -> Dict[str, Any]:
    """A check task result: {status (lower case), issues: [{entity, status, message}]}; hosts by name."""
    info = result.get("host_info") or {}
    issues = []
    for ent in result.get("entity_results") or ():
        who = ((info.get(ent.get("host")) or {}).get("name") or ent.get("host")) if ent.get("type") == "HOST" \
            else "cluster"
        for cs in ent.get("check_statuses") or ():
            for text in _texts(cs.get("issues")):
                issues.append({"entity": who, "status": _lower(cs.get("status")), "message": text})
    return {"status": _lower(result.get("status")), "issues": issues}


def apply_hosts(result: Dict[str, Any]) -> List[Dict[str, Any]]:
    """An apply task result per host: [{name, moid, status (ok|skipped|error|...), messages}], by name."""
    info = result.get("host_info") or {}
    out = []
    for moid, st in (result.get("host_status") or {}).items():
        notes = (st or {}).get("notifications") or {}
        msgs = [str((n.get("message") or {}).get("default_message")) for kind in ("errors", "warnings", "info")
                for n in notes.get(kind) or () if isinstance(n, dict) and n.get("message")]
        out.append({"name": (info.get(moid) or {}).get("name") or moid, "moid": moid,
                    "status": _lower((st or {}).get("status")), "messages": msgs})
    out.sort(key=lambda h: h["name"])
    return out
