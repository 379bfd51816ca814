# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the compliance report model: scan results -> one JSON-safe report. Breaking changes at any time.

Pure Python (standard library only); no Ansible, no network, no disk.

* ``build_report(results, ...)`` turns the per-host results of ``esxi_patch_scan`` (one registered result, a
  list of them, a loop's ``results``, the bare per-host list, or the per-host scan records of every slice) into
  one report: every host with its status (``compliant``, ``non_compliant`` or ``error``) and the reasons, its
  missing bulletins grouped by severity, every cluster with its hosts, and fleet-wide summary counts.
* Fail closed: results that hold no host (``[]``, ``{}``, ``{"hosts": []}``), a malformed host record
  (``missing: [None]``, ``missing: "notalist"``, a build that is not a build number) and an expected host
  without a result are input errors (``InputError``) naming what is wrong, or an ``error`` host: never an empty
  "all compliant" report.
* A *compliance line* (``minimum_build``, ``required_bulletins``) decides compliance when given: a host below
  it is ``non_compliant``. Without a line, a host is compliant when the scan says so (no selected bulletin
  missing).
* ``report['digest']`` is a sha256 over the content without timestamps, so a rescan with the same outcome gives
  the same digest and the writer leaves the files alone (idempotent).
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._report.vlcm import (
    cluster_entry, cluster_views, evaluate_image_managed)

REPORT_FORMAT = 1
SEVERITY_ORDER = ("critical", "security", "important", "moderate", "low", "general")
STATUSES = ("non_compliant", "error", "compliant")
STATUS_LABELS = {"compliant": "Compliant", "non_compliant": "Non-compliant", "error": "Scan failed"}
FORMATS = ("json", "junit", "html")
EXTENSIONS = {"json": ".json", "junit": "-junit.xml", "html": ".html"}
STANDALONE = "Standalone hosts"
_GROUPS = ("installed", "missing", "superseded", "not_applicable")
_TIME_KEYS = ("generated_at", "scanned_at", "scanned_from", "scanned_to", "recorded_at")
_MAX_BUILD_DIGITS = 12          # ESXi/vCenter builds have 7-8 digits; more is not a build number
Host = Dict[str, Any]


# ---- small helpers -------------------------------------------------------------------------------------
def _show(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters for error messages (a 5,000-digit build stays readable)."""
    text = repr(value)
    return text if len(text) <= limit else "%s... (%d characters)" % (text[:limit], len(text))


def _name_of(value: Any) -> Optional[str]:
    """A name from a string or a ``{name: ...}`` dict (``host: {name, moid}``)."""
    if isinstance(value, dict):
        value = value.get("name")
    return str(value) if value not in (None, "") else None


def severity_key(severity: Optional[str]) -> Tuple[int, str]:
    sev = (severity or "").strip().lower() or "unknown"
    if sev in SEVERITY_ORDER:
        return (SEVERITY_ORDER.index(sev), sev)
    if sev == "unknown":
        return (len(SEVERITY_ORDER) + 1, sev)
    return (len(SEVERITY_ORDER), sev)


def _norm_severity(severity: Optional[str]) -> str:
    return (severity or "").strip().lower() or "unknown"


def _build_int(build: Any) -> Optional[int]:
    """``22380479``, ``"22380479"``, ``"Releasebuild-22380479"``, ``"8.0.2-22380479"`` -> 22380479.

    None when there is no build number: nothing numeric at the end, or more than 12 digits (never parsed, so a
    5,000-digit value cannot hit Python's integer-string limit)."""
    if build is None or isinstance(build, bool):
        return None
    if isinstance(build, int):
        return build if 0 <= build < 10 ** _MAX_BUILD_DIGITS else None
    if not isinstance(build, str):
        return None
    text = build.strip()
    run = len(text) - len(text.rstrip("0123456789"))
    if run == 0 or run > _MAX_BUILD_DIGITS:
        return None
    return int(text[-run:])


def _version_matches(prefix: Any, version: Any) -> bool:
    """``"8.0"`` matches ``8.0.2``; ``"8.0.2"`` matches ``8.0.2`` only; ``"*"`` matches anything."""
    prefix = str(prefix).strip()
    if prefix in ("*", ""):
        return True
    version = str(version or "")
    return version == prefix or version.startswith(prefix + ".")


def minimum_build_for(minimum_build: Any, version: Any) -> Optional[int]:
    """The minimum build that applies to a host of ``version`` (None: no line for it).

    ``minimum_build`` is a build number (one line for every host) or a dict mapping a version prefix
    (``"8.0"``, ``"7.0.3"``, ``"*"``) to a build; the longest matching prefix wins."""
    if minimum_build in (None, "", {}):
        return None
    if not isinstance(minimum_build, dict):
        b = _build_int(minimum_build)
        if b is None:
            raise InputError("minimum_build: %s is not a build number" % _show(minimum_build))
        return b
    best = None
    for prefix, build in minimum_build.items():
        if _version_matches(prefix, version):
            rank = -1 if str(prefix).strip() in ("*", "") else len(str(prefix))
            if best is None or rank > best[0]:
                b = _build_int(build)
                if b is None:
                    raise InputError("minimum_build[%s]: %s is not a build number" % (prefix, _show(build)))
                best = (rank, b)
    return best[1] if best else None


def parse_minimum_build(value: Any) -> Any:
    """``minimum_build`` as given: a number, a dict, or the JSON text of one (survey answers are text)."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            raise InputError("minimum_build: %s is neither a build number nor a JSON object" % _show(value))
    return value


def _check_minimum_build(minimum_build: Any) -> None:
    if isinstance(minimum_build, (list, tuple, bool)):
        raise InputError("minimum_build: %s is neither a build number nor a dict of version: build"
                         % _show(minimum_build))
    if isinstance(minimum_build, dict):
        for prefix, build in minimum_build.items():
            if _build_int(build) is None:
                raise InputError("minimum_build[%s]: %s is not a build number" % (prefix, _show(build)))
    elif minimum_build not in (None, ""):
        minimum_build_for(minimum_build, "")


# ---- reading scan results ------------------------------------------------------------------------------
def _looks_like_host(rec: Any) -> bool:
    return isinstance(rec, dict) and not isinstance(rec.get("hosts"), (list, dict)) \
        and not isinstance(rec.get("results"), list) \
        and any(k in rec for k in ("missing", "installed", "compliant", "build", "failed", "error")) \
        and any(_name_of(rec.get(k)) for k in ("name", "host", "hostname", "esxi_hostname"))


def _target_names(obj: Dict[str, Any]) -> List[str]:
    names = obj.get("failed_hosts") or obj.get("esxi_hostname") \
        or ((obj.get("invocation") or {}).get("module_args") or {}).get("esxi_hostname") or obj.get("item")
    if isinstance(names, (str, dict)):
        names = [names]
    return [n for n in (_name_of(x) for x in names or []) if n]


def _where(path: str) -> str:
    return "results%s" % path if path else "results"


def _iter_records(obj: Any, depth: int = 0, path: str = "") -> Iterator[Dict[str, Any]]:
    """Yield host records from any of the accepted shapes (see ``build_report``); ``path`` names the place in
    ``results`` for error messages. A dict that is neither a host result nor a scan result is an input error."""
    if depth > 6 or obj is None:
        return
    if isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from _iter_records(item, depth + 1, "%s[%d]" % (path, i))
        return
    if not isinstance(obj, dict):
        raise InputError("%s: expected scan results (dicts), got %s %s"
                         % (_where(path), type(obj).__name__, _show(obj)))
    if _looks_like_host(obj):
        yield dict(obj, _where=_where(path))
        return
    if not obj:
        return          # {}: nothing in it (reported as "no host results in an empty dict" when nothing else is)
    if obj.get("skipped") and not obj.get("hosts") and not obj.get("results"):
        return          # a loop item skipped by `when`: no scan ran, nothing to report for it
    hosts, results = obj.get("hosts"), obj.get("results")
    if hosts is None and not isinstance(results, list) and not obj.get("failed"):
        raise InputError("%s: a dict that is neither a host result nor a scan result (keys: %s); expected the "
                         "registered result of esxi_patch_scan (with 'hosts') or a host record (with 'name' and "
                         "'missing'/'installed'/'build')" % (_where(path), ", ".join(sorted(map(str, obj))) or "none"))
    if hosts is not None and not isinstance(hosts, (dict, list)):
        raise InputError("%s.hosts: expected a list or dict of host results, got %s %s"
                         % (_where(path), type(hosts).__name__, _show(hosts)))
    found = set()
    if isinstance(hosts, dict):
        for name in sorted(hosts, key=str):
            rec = hosts[name]
            if not isinstance(rec, dict):
                raise InputError("%s.hosts[%s]: expected a host result (dict), got %s"
                                 % (_where(path), name, _show(rec)))
            rec = dict(rec, name=_name_of(rec.get("name")) or str(name), _where="%s.hosts[%s]" % (_where(path), name))
            found.add(rec["name"])
            yield rec
    elif isinstance(hosts, list):
        for rec in _iter_records(hosts, depth + 1, path + ".hosts"):
            found.add(_name_of(rec.get("name")) or _name_of(rec.get("host")))
            yield rec
    if isinstance(results, list):
        for rec in _iter_records(results, depth + 1, path + ".results"):
            found.add(_name_of(rec.get("name")) or _name_of(rec.get("host")))
            yield rec
    if obj.get("failed"):
        # a failed scan task: an error record for each target without a result, so the failure shows
        names = [n for n in _target_names(obj) if n not in found]
        if not names and not found:
            names = ["(unknown host)"]
        for n in names:
            yield {"name": n, "failed": True, "msg": obj.get("msg") or "scan failed",
                   "cluster": obj.get("cluster") or obj.get("cluster_name"), "datacenter": obj.get("datacenter")}


def _entry(e: Any, where: str) -> Dict[str, Any]:
    """A missing/installed bulletin entry reduced to what the report shows; anything else is an input error."""
    if isinstance(e, str) and e.strip():
        e = {"id": e}
    bid = e.get("id") or e.get("bulletin") if isinstance(e, dict) else None
    if not isinstance(bid, str) or not bid.strip():
        raise InputError("%s is %s; expected a bulletin ID or a dict with a non-empty 'id'" % (where, _show(e)))
    out = {
        "id": bid,
        "summary": str(e.get("summary") or ""),
        "severity": _norm_severity(str(e.get("severity") or "")),
        "category": str(e.get("category") or ""),
        "release_date": e.get("release_date") or None,
        "reason": str(e.get("reason") or ""),
    }
    if e.get("kb_url"):
        out["kb_url"] = str(e["kb_url"])
    if e.get("is_update") is not None:
        out["is_update"] = bool(e.get("is_update"))
    if e.get("acceptance_blocked"):
        blocked = e["acceptance_blocked"]
        out["acceptance_blocked"] = [str(x) for x in blocked] if isinstance(blocked, list) else [str(blocked)]
    return out


def _groups_of(rec: Dict[str, Any], where: str) -> Dict[str, List[Dict[str, Any]]]:
    src = rec
    for key in ("bulletins", "scan"):
        if isinstance(rec.get(key), dict) and any(g in rec[key] for g in _GROUPS):
            src = rec[key]
            where = "%s.%s" % (where, key)
            break
    out = {}
    for g in _GROUPS:
        entries = src.get(g)
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            raise InputError("%s.%s is %s; expected a list of bulletins" % (where, g, _show(entries)))
        out[g] = [_entry(e, "%s.%s[%d]" % (where, g, i)) for i, e in enumerate(entries)]
    return out


def _text_field(rec: Dict[str, Any], key: str, where: str) -> Optional[str]:
    value = rec.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError("%s.%s is %s; expected text" % (where, key, _show(value)))
    return str(value)


def normalize_host(rec: Dict[str, Any], clusters: Optional[Dict[str, Any]] = None) -> Host:
    """One host record of any accepted shape -> the report's host dict (before evaluation).

    Raises ``InputError`` naming the host and the field for a malformed record."""
    name = _name_of(rec.get("name")) or _name_of(rec.get("host")) or _name_of(rec.get("hostname")) \
        or _name_of(rec.get("esxi_hostname")) or "(unknown host)"
    where = "%s (host %s)" % (rec.get("_where") or "results", name)
    cluster = _name_of(rec.get("cluster")) or _name_of(rec.get("cluster_name"))
    datacenter = _name_of(rec.get("datacenter"))
    if clusters and name in clusters:
        mapped = clusters[name]
        if isinstance(mapped, dict):
            cluster = _name_of(mapped.get("cluster")) or cluster
            datacenter = _name_of(mapped.get("datacenter")) or datacenter
        else:
            cluster = _name_of(mapped) or cluster
    error = None
    if rec.get("failed") or rec.get("error"):
        err = rec.get("error")
        if isinstance(err, dict):
            err = err.get("msg") or err.get("message") or json.dumps(err, sort_keys=True)
        error = str(err or rec.get("msg") or "scan failed")
    groups = _groups_of(rec, where) if error is None else {g: [] for g in _GROUPS}
    build = _text_field(rec, "build", where)
    if build is not None and error is None and _build_int(build) is None:
        raise InputError("%s.build is %s; expected a build number such as 24022510" % (where, _show(rec["build"])))
    scan_compliant = rec.get("compliant")
    if isinstance(rec.get("scan"), dict) and scan_compliant is None:
        scan_compliant = rec["scan"].get("compliant")
    profile = rec.get("image_profile")
    if isinstance(profile, dict):
        profile = profile.get("name")
    image_managed = rec.get("image_managed")
    return {
        "name": name,
        "cluster": cluster,
        "datacenter": datacenter,
        "version": _text_field(rec, "version", where),
        "build": build,
        "image_profile": str(profile) if profile else None,
        "acceptance_level": _text_field(rec, "acceptance_level", where),
        "scanned_at": _text_field(rec, "scanned_at", where),
        "depot_digest": _text_field(rec, "depot_digest", where) or _text_field(rec, "metadata_digest", where),
        "scan_compliant": None if scan_compliant is None else bool(scan_compliant),
        "error": error,
        "groups": groups,
        "image_managed": image_managed if isinstance(image_managed, bool) else None,
    }


# ---- evaluation ------------------------------------------------------------------------------------------
def _by_severity(entries: List[Dict[str, Any]]) -> Dict[str, List[Dict[str, Any]]]:
    out: Dict[str, List[Dict[str, Any]]] = {}
    for e in sorted(entries, key=lambda x: (severity_key(x["severity"]), x["id"])):
        out.setdefault(e["severity"], []).append(e)
    return out


def evaluate_host(h: Host, minimum_build: Any = None, required_bulletins: Optional[List[str]] = None) -> Host:
    """Add ``status``, ``reasons``, ``missing_by_severity`` and ``counts`` to a normalized host (in place)."""
    groups = h.pop("groups")
    missing = groups["missing"]
    h["missing_by_severity"] = _by_severity(missing)
    h["counts"] = {g: len(groups[g]) for g in _GROUPS}
    h["counts"]["missing_by_severity"] = {s: len(v) for s, v in h["missing_by_severity"].items()}
    reasons = []
    line = minimum_build not in (None, "", {}) or bool(required_bulletins)
    if h["error"]:
        h["status"] = "error"
        h["reasons"] = [h["error"]]
        h["below_line"] = None
        return h
    if minimum_build not in (None, "", {}):
        need = minimum_build_for(minimum_build, h["version"])
        have = _build_int(h["build"])
        if need is None:
            reasons.append("no minimum build is set for version %s" % (h["version"] or "unknown"))
        elif have is None:
            reasons.append("build unknown (minimum %d)" % need)
        elif have < need:
            reasons.append("build %d is below the minimum build %d" % (have, need))
    if required_bulletins:
        state = {}
        for g in ("not_applicable", "superseded", "installed", "missing"):
            for e in groups[g]:
                state[e["id"]] = g
        for bid in required_bulletins:
            s = state.get(bid)
            if s == "missing":
                reasons.append("required bulletin %s is missing" % bid)
            elif s is None:
                reasons.append("required bulletin %s is not in the scanned depot" % bid)
    if line:
        h["below_line"] = bool(reasons)
        h["status"] = "non_compliant" if reasons else "compliant"
    else:
        h["below_line"] = None
        not_ok = h["scan_compliant"] is False or (h["scan_compliant"] is None and bool(missing))
        h["status"] = "non_compliant" if not_ok else "compliant"
        if not_ok:
            reasons.append("%d bulletin(s) missing" % len(missing) if missing else "the scan reports the host "
                                                                                   "non-compliant")
    h["reasons"] = reasons
    return h


def _worst(statuses: Iterable[str]) -> str:
    for s in STATUSES:
        if s in statuses:
            return s
    return "compliant"


def _host_sort_key(h: Host) -> str:
    return h["name"].lower()


def _cluster_key(h: Host) -> Tuple[str, str]:
    return (h["datacenter"] or "", h["cluster"] or "")


def _describe(results: Any) -> str:
    """What an input without hosts looked like, for the error message."""
    if results is None:
        return "nothing (results is not set)"
    if isinstance(results, (list, tuple)):
        return "an empty list" if not results else "a list of %d item(s) without host results" % len(results)
    if isinstance(results, dict):
        if not results:
            return "an empty dict"
        if "hosts" in results and not results["hosts"]:
            return "a scan result whose 'hosts' is empty"
        return "a dict without host results (keys: %s)" % ", ".join(sorted(map(str, results)))
    return "%s %s" % (type(results).__name__, _show(results))


def collect_hosts(results: Any, clusters: Optional[Dict[str, Any]] = None,
                  expected_hosts: Optional[List[str]] = None) -> Dict[str, Host]:
    """The normalized hosts of ``results`` by name (fail closed: see the module docstring).

    The same host twice (two registered results, two slices): the newest scan is kept, errors lose to data.
    A host of ``expected_hosts`` without a result becomes an ``error`` host ("no scan result")."""
    if clusters is not None and not isinstance(clusters, dict):
        raise InputError("clusters: expected a dict mapping host names to cluster names")
    if expected_hosts is not None and (not isinstance(expected_hosts, (list, tuple))
                                       or not all(isinstance(n, str) and n for n in expected_hosts)):
        raise InputError("expected_hosts: %s is not a list of host names" % _show(expected_hosts))
    hosts: Dict[str, Host] = {}
    for rec in _iter_records(results):
        h = normalize_host(rec, clusters)
        prev = hosts.get(h["name"])
        if prev is not None:
            if h["error"] and not prev["error"]:
                continue
            if not h["error"] and not prev["error"] and (h["scanned_at"] or "") < (prev["scanned_at"] or ""):
                continue
        hosts[h["name"]] = h
    for name in expected_hosts or ():
        if name not in hosts:
            hosts[name] = normalize_host({"name": name, "failed": True,
                                          "msg": "no scan result for this host (expected in expected_hosts)"},
                                         clusters)
    if not hosts:
        raise InputError("results: no host results in %s; give the registered result of "
                         "fleetpatch.esxi.esxi_patch_scan (or a list of them), its per-host results, or "
                         "record_dir (the folder of the scan records)" % _describe(results))
    return hosts


def _cluster_list(host_list: List[Host], views: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
    cluster_map: Dict[Tuple[str, str], List[Host]] = {}
    for h in host_list:
        cluster_map.setdefault(_cluster_key(h), []).append(h)
    out = []

    def cluster_order(kv: Tuple[Tuple[str, str], List[Host]]) -> Tuple[bool, str, str]:
        return (kv[0][1] == "", kv[0][0].lower(), kv[0][1].lower())

    for (dc, cl), members in sorted(cluster_map.items(), key=cluster_order):
        counts = {s: sum(1 for h in members if h["status"] == s) for s in STATUSES}
        sev: Dict[str, set] = {}
        for h in members:
            for s, entries in h["missing_by_severity"].items():
                sev.setdefault(s, set()).update(e["id"] for e in entries)
        entry = {
            "name": cl or STANDALONE,
            "cluster": cl or None,
            "datacenter": dc or None,
            "standalone": not cl,
            "status": _worst({h["status"] for h in members}),
            "hosts": [h["name"] for h in members],
            "counts": dict(counts, hosts=len(members)),
            "missing_by_severity": {s: len(sev[s]) for s in sorted(sev, key=severity_key)},
        }
        if any(h["image_managed"] for h in members):
            entry["image_managed"] = True
            entry["vlcm"] = cluster_entry((views or {}).get(cl))
        out.append(entry)
    return out


def _summary(host_list: List[Host], cluster_list: List[Dict[str, Any]]) -> Dict[str, Any]:
    all_missing: Dict[str, Dict[str, Any]] = {}
    pairs = 0
    for h in host_list:
        for entries in h["missing_by_severity"].values():
            for e in entries:
                all_missing.setdefault(e["id"], e)
                pairs += 1
    sev_counts: Dict[str, int] = {}
    for e in all_missing.values():
        sev_counts[e["severity"]] = sev_counts.get(e["severity"], 0) + 1
    n = len(host_list)
    counts = {s: sum(1 for h in host_list if h["status"] == s) for s in STATUSES}
    return {
        "hosts": n,
        "compliant": counts["compliant"],
        "non_compliant": counts["non_compliant"],
        "error": counts["error"],
        "compliance_percent": round(100.0 * counts["compliant"] / n, 1) if n else 0.0,
        "clusters": sum(1 for c in cluster_list if not c["standalone"]),
        "clusters_compliant": sum(1 for c in cluster_list if not c["standalone"] and c["status"] == "compliant"),
        "missing_bulletins": len(all_missing),
        "missing_host_bulletins": pairs,
        "missing_by_severity": {s: sev_counts[s] for s in sorted(sev_counts, key=severity_key)},
        "non_compliant_hosts": [h["name"] for h in host_list if h["status"] == "non_compliant"],
        "error_hosts": [h["name"] for h in host_list if h["status"] == "error"],
        "image_managed_hosts": sum(1 for h in host_list if h["image_managed"]),
        "status": _worst({k for k in STATUSES if counts[k]}),
    }


def build_report(results: Any, title: Optional[str] = "ESXi patch compliance", minimum_build: Any = None,
                 required_bulletins: Optional[List[str]] = None, clusters: Optional[Dict[str, Any]] = None,
                 generated_at: Optional[str] = None, expected_hosts: Optional[List[str]] = None,
                 cluster_images: Any = None) -> Dict[str, Any]:
    """The report dict (JSON-safe) for scan ``results``.

    ``results``: the registered result of ``esxi_patch_scan`` (a dict with ``hosts``), a list of such results,
    a loop's registered result (``results``), a list of per-host results or of per-host scan records. A failed
    scan result becomes an ``error`` host, and so does every host of ``expected_hosts`` without a result.
    ``clusters`` maps a host name to a cluster name (or ``{cluster, datacenter}``) for results that do not carry
    one. ``cluster_images``: the results of ``esxi_cluster_image_info`` for the image-managed clusters (see
    ``_report.vlcm``); a host of an image-managed cluster is evaluated by its vLCM compliance, and is ``error``
    (unknown) without it. Raises ``InputError`` for unusable input, including results without any host.
    """
    minimum_build = parse_minimum_build(minimum_build)
    _check_minimum_build(minimum_build)
    if required_bulletins is not None and (not isinstance(required_bulletins, (list, tuple))
                                           or not all(isinstance(b, str) and b for b in required_bulletins)):
        raise InputError("required_bulletins: %s is not a list of bulletin IDs" % _show(required_bulletins))
    required = list(required_bulletins or [])
    hosts = collect_hosts(results, clusters, expected_hosts)
    views = cluster_views(cluster_images)
    host_list = [evaluate_host(hosts[n], minimum_build, required) for n in sorted(hosts, key=str.lower)]
    for h in host_list:
        if h["image_managed"] is None and h["cluster"] in views:
            h["image_managed"] = True          # older scan results without the flag: the cluster's image says it
        if h["image_managed"]:
            evaluate_image_managed(h, views)
    cluster_list = _cluster_list(host_list, views)
    times = sorted(h["scanned_at"] for h in host_list if h["scanned_at"])
    report = {
        "format": REPORT_FORMAT,
        "title": title or "ESXi patch compliance",
        "generated_at": generated_at or utc_now(),
        "scanned_from": times[0] if times else None,
        "scanned_to": times[-1] if times else None,
        "line": {"minimum_build": minimum_build if minimum_build not in ("", {}) else None,
                 "required_bulletins": required},
        "depot_digests": sorted({h["depot_digest"] for h in host_list if h["depot_digest"]}),
        "summary": _summary(host_list, cluster_list),
        "clusters": cluster_list,
        "hosts": host_list,
    }
    report["digest"] = report_digest(report)
    return report


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _strip_times(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_times(v) for k, v in obj.items() if k not in _TIME_KEYS and k != "digest"}
    if isinstance(obj, list):
        return [_strip_times(v) for v in obj]
    return obj


def report_digest(report: Dict[str, Any]) -> str:
    """sha256 over the report without timestamps (equal outcome -> equal digest)."""
    data = json.dumps(_strip_times(report), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def result_view(report: Dict[str, Any]) -> Dict[str, Any]:
    """The compact part of the report a module returns (no bulletin details)."""
    hosts = []
    for h in report["hosts"]:
        hosts.append({
            "name": h["name"], "cluster": h["cluster"], "datacenter": h["datacenter"], "status": h["status"],
            "reasons": list(h["reasons"]), "version": h["version"], "build": h["build"],
            "missing": h["counts"]["missing"],
            "missing_by_severity": dict(h["counts"]["missing_by_severity"]),
            "image_managed": h["image_managed"], "vlcm": h.get("vlcm"),
        })
    clusters = [dict({k: c[k] for k in ("name", "datacenter", "standalone", "status", "hosts", "counts")},
                     image_managed=bool(c.get("image_managed")), vlcm=c.get("vlcm"))
                for c in report["clusters"]]
    return {"summary": report["summary"], "hosts": hosts, "clusters": clusters, "digest": report["digest"],
            "summary_lines": summary_lines(report)}


def summary_lines(report: Dict[str, Any]) -> List[str]:
    """A few lines for people: the counts, each cluster, and every host below the line with its reasons."""
    s = report["summary"]
    lines = ["%d of %d hosts compliant (%s%%), %d non-compliant, %d not scanned"
             % (s["compliant"], s["hosts"], s["compliance_percent"], s["non_compliant"], s["error"])]
    sev = s["missing_by_severity"]
    lines.append("missing bulletins by severity: %s"
                 % (", ".join("%s %d" % (k, v) for k, v in sev.items()) if sev else "none"))
    for c in report["clusters"]:
        label = c["name"] if c["standalone"] else "cluster %s" % c["name"]
        if c.get("image_managed"):
            image = (c.get("vlcm") or {}).get("image") or {}
            label += " (image-managed, base image %s)" % ((image.get("base_image") or {}).get("version") or "unknown")
        lines.append("%s: %s (%d of %d hosts compliant)"
                     % (label, STATUS_LABELS[c["status"]].lower(), c["counts"]["compliant"], c["counts"]["hosts"]))
    for h in report["hosts"]:
        if h["status"] != "compliant":
            lines.append("%s %s: %s" % ("below the line:" if h["status"] == "non_compliant" else "not scanned:",
                                        h["name"], "; ".join(h["reasons"])))
    return lines
