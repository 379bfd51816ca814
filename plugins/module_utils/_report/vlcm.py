# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: image-managed (vLCM) clusters in the compliance report. Breaking changes at any time.

Pure Python (standard library only); no Ansible, no network, no disk.

* ``cluster_views(cluster_images)`` turns the results of ``esxi_cluster_image_info`` (one registered result, a
  list of them, a loop's ``results``, or the cluster records ``_report.write`` keeps) into one view per cluster:
  the desired image (base image, add-on, components) and each host's vLCM compliance. A failed result keeps its
  message, so the hosts of that cluster show why their compliance is unknown.
* ``evaluate_image_managed(host, views)`` decides the status of a host of an image-managed cluster from vLCM's
  compliance (the baseline line does not apply to it): ``compliant`` only when vLCM says the host is compliant;
  ``non_compliant`` for ``non_compliant`` / ``incompatible``; ``error`` (unknown) when its cluster's compliance is
  missing, failed, does not name the host, or says ``unavailable``. Fail closed: never compliant without vLCM
  saying so.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError

View = Dict[str, Any]
_NOT_COMPLIANT = ("non_compliant", "incompatible")


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else "%s... (%d characters)" % (text[:limit], len(text))


def _iter_results(obj: Any, path: str, depth: int = 0) -> Iterator[Any]:
    if depth > 4 or obj is None:
        return
    if isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from _iter_results(item, "%s[%d]" % (path, i), depth + 1)
        return
    if not isinstance(obj, dict):
        raise InputError("%s: expected results of esxi_cluster_image_info (dicts), got %s" % (path, _show(obj)))
    if isinstance(obj.get("results"), list) and "cluster" not in obj:
        yield from _iter_results(obj["results"], path + ".results", depth + 1)
        return
    if obj.get("skipped") and "cluster" not in obj:
        return
    yield path, obj


def _cluster_name(obj: Dict[str, Any]) -> Optional[str]:
    name = obj.get("cluster")
    if not name:
        args = (obj.get("invocation") or {}).get("module_args") or {}
        name = args.get("cluster") or obj.get("item")
    if isinstance(name, dict):
        name = name.get("name") or name.get("cluster")
    return str(name) if name not in (None, "") else None


def _text(value: Any) -> Optional[str]:
    return None if value in (None, "") else str(value)


def _component(c: Any, where: str) -> Dict[str, Any]:
    if not isinstance(c, dict) or not c.get("name"):
        raise InputError("%s is %s; expected a component {name, current, target, status}" % (where, _show(c)))
    out: Dict[str, Any] = {"name": str(c["name"]), "current": _text(c.get("current")),
                           "target": _text(c.get("target")), "status": _text(c.get("status")) or "unknown"}
    if isinstance(c.get("bulletins"), list):
        out["bulletins"] = [_bulletin(b) for b in c["bulletins"] if isinstance(b, dict) and b.get("id")]
    return out


def _bulletin(b: Dict[str, Any]) -> Dict[str, Any]:
    return {"id": str(b["id"]), "summary": _text(b.get("summary")) or "",
            "severity": (_text(b.get("severity")) or "unknown").lower(), "category": _text(b.get("category")) or "",
            "release_date": _text(b.get("release_date")), "kb": _text(b.get("kb") or b.get("kb_url"))}


def _host(h: Any, where: str) -> Dict[str, Any]:
    if not isinstance(h, dict) or not h.get("name"):
        raise InputError("%s is %s; expected a host {name, status, base_image, components}" % (where, _show(h)))
    base: Dict[str, Any] = h["base_image"] if isinstance(h.get("base_image"), dict) else {}
    comps = h.get("components") if h.get("components") is not None else []
    if not isinstance(comps, list):
        raise InputError("%s.components is %s; expected a list" % (where, _show(comps)))
    base_out: Dict[str, Any] = {"current": _text(base.get("current")), "target": _text(base.get("target"))}
    if isinstance(base.get("bulletins"), list):
        base_out["bulletins"] = [_bulletin(b) for b in base["bulletins"] if isinstance(b, dict) and b.get("id")]
    return {"name": str(h["name"]), "status": (_text(h.get("status")) or "unknown").lower(),
            "impact": _text(h.get("impact")), "base_image": base_out,
            "components": [_component(c, "%s.components[%d]" % (where, i)) for i, c in enumerate(comps)]}


def _image(image: Any) -> Dict[str, Any]:
    image = image if isinstance(image, dict) else {}
    base = image.get("base_image") if isinstance(image.get("base_image"), dict) else {}
    add_on = image.get("add_on") if isinstance(image.get("add_on"), dict) else None
    comps = image.get("components") if isinstance(image.get("components"), dict) else {}
    return {"base_image": {k: _text(base.get(k)) for k in ("version", "display_name", "display_version",
                                                           "release_date")},
            "add_on": {"name": _text(add_on.get("name")), "version": _text(add_on.get("version"))} if add_on else None,
            "components": {str(k): _text(v) for k, v in sorted(comps.items())}}


def cluster_view(obj: Dict[str, Any], where: str = "cluster_images") -> View:
    """One result of ``esxi_cluster_image_info`` -> ``{cluster, error, image, status, impact, commit, hosts}``."""
    name = _cluster_name(obj)
    if name is None:
        raise InputError("%s: a result without 'cluster'; expected the registered result of "
                         "fleetpatch.esxi.esxi_cluster_image_info" % where)
    view: View = {"cluster": name, "error": None, "image": None, "status": None, "impact": None, "commit": None,
                  "hosts": {}, "recorded_at": _text(obj.get("recorded_at"))}
    if obj.get("failed"):
        view["error"] = str(obj.get("msg") or "esxi_cluster_image_info failed")
        return view
    comp = obj.get("compliance")
    if not isinstance(comp, dict) or not isinstance(comp.get("hosts"), list):
        raise InputError("%s (cluster %s): no 'compliance' with 'hosts'; expected the registered result of "
                         "fleetpatch.esxi.esxi_cluster_image_info" % (where, name))
    view["image"] = _image(obj.get("image"))
    view["status"] = (_text(comp.get("status")) or "unknown").lower()
    view["impact"] = _text(comp.get("impact"))
    view["commit"] = _text(comp.get("commit"))
    for i, h in enumerate(comp["hosts"]):
        hv = _host(h, "%s (cluster %s).compliance.hosts[%d]" % (where, name, i))
        view["hosts"][hv["name"]] = hv
    return view


def cluster_views(cluster_images: Any) -> Dict[str, View]:
    """Every cluster of ``cluster_images`` by name; a later result of a cluster wins over an earlier one, also a
    failed one (fail closed: a failed read now is not hidden by an older good one)."""
    views: Dict[str, View] = {}
    if cluster_images in (None, "", [], {}):
        return views
    for where, obj in _iter_results(cluster_images, "cluster_images"):
        view = cluster_view(obj, where)
        views[view["cluster"]] = view
    return views


def _reasons(hv: Dict[str, Any]) -> List[str]:
    out = []
    base = hv["base_image"]
    if base["current"] != base["target"]:
        out.append("vLCM: base image %s -> %s" % (base["current"] or "unknown", base["target"] or "unknown"))
    for c in hv["components"]:
        if c["status"] != "compliant":
            out.append("vLCM: component %s %s -> %s (%s)" % (c["name"], c["current"] or "not installed",
                                                             c["target"] or "removed", c["status"]))
    if hv["status"] == "incompatible":
        out.append("vLCM: the host is incompatible with the cluster image")
    if not out:
        out.append("vLCM: the host is %s with the cluster image" % hv["status"].replace("_", "-"))
    return out


def evaluate_image_managed(h: Dict[str, Any], views: Dict[str, View]) -> Dict[str, Any]:
    """Set ``status``, ``reasons`` and ``vlcm`` of a host of an image-managed cluster (in place). A host whose scan
    failed stays ``error``."""
    cluster = h.get("cluster")
    view = views.get(cluster) if cluster else None
    h["below_line"] = None
    if h["status"] == "error":
        h["vlcm"] = None
        return h
    if view is None:
        h["vlcm"] = None
        h["status"] = "error"
        h["reasons"] = ["image-managed cluster %s: no vLCM compliance of the cluster in the report's input "
                        "(cluster_images): compliance unknown" % (cluster or "(unknown)")]
        return h
    if view["error"]:
        h["vlcm"] = None
        h["status"] = "error"
        h["reasons"] = ["image-managed cluster %s: its vLCM compliance could not be read: %s"
                        % (cluster, view["error"])]
        return h
    hv = view["hosts"].get(h["name"])
    if hv is None:
        h["vlcm"] = None
        h["status"] = "error"
        h["reasons"] = ["image-managed cluster %s: vLCM's compliance does not name this host: compliance unknown"
                        % cluster]
        return h
    non = [c for c in hv["components"] if c["status"] != "compliant"]
    h["vlcm"] = {"status": hv["status"], "impact": hv["impact"], "base_image": hv["base_image"],
                 "components": non}
    if hv["status"] == "compliant":
        h["status"], h["reasons"] = "compliant", []
    elif hv["status"] in _NOT_COMPLIANT:
        h["status"], h["reasons"] = "non_compliant", _reasons(hv)
    else:
        h["status"] = "error"
        h["reasons"] = ["vLCM: compliance of the host is %s" % hv["status"]]
    return h


def cluster_entry(view: Optional[View]) -> Optional[Dict[str, Any]]:
    """What a cluster of the report shows about its image (None for a cluster without a vLCM view)."""
    if view is None:
        return None
    return {"error": view["error"], "image": view["image"], "status": view["status"], "impact": view["impact"],
            "commit": view["commit"], "recorded_at": view["recorded_at"]}
