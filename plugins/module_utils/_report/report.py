# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the compliance report: scan results -> JSON, JUnit XML and a self-contained HTML page.

Pure Python (standard library only); no Ansible, no network. Breaking changes at any time.

* ``build_report(results, ...)`` turns the per-host results of ``esxi_patch_scan`` (one registered result, a
  list of them, a loop's ``results`` or the bare per-host list) into one JSON-safe report: every host with its
  status (``compliant``, ``non_compliant`` or ``error``) and the reasons, its missing bulletins grouped by
  severity, every cluster with its hosts, and fleet-wide summary counts.
* A *compliance line* (``minimum_build``, ``required_bulletins``) decides compliance when given: a host below
  it is ``non_compliant``. Without a line, a host is compliant when the scan says so (no selected bulletin
  missing).
* ``render_json``/``render_junit``/``render_html`` return text. Every rendering carries the report's
  ``digest``: a sha256 over the content without timestamps, so a rescan with the same outcome gives the same
  digest and ``write_reports`` leaves the files alone (idempotent).
"""

from __future__ import annotations

import datetime
import hashlib
import html
import json
import os
import re
import xml.etree.ElementTree as ET

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.fileutil import write_atomic
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError

REPORT_FORMAT = 1
SEVERITY_ORDER = ("critical", "security", "important", "moderate", "low", "general")
STATUSES = ("non_compliant", "error", "compliant")
STATUS_LABELS = {"compliant": "Compliant", "non_compliant": "Non-compliant", "error": "Scan failed"}
FORMATS = ("json", "junit", "html")
EXTENSIONS = {"json": ".json", "junit": "-junit.xml", "html": ".html"}
STANDALONE = "Standalone hosts"
_GROUPS = ("installed", "missing", "superseded", "not_applicable")
_TIME_KEYS = ("generated_at", "scanned_at", "scanned_from", "scanned_to")


# ---- small helpers -------------------------------------------------------------------------------------
def _name_of(value):
    """A name from a string or a ``{name: ...}`` dict (``host: {name, moid}``)."""
    if isinstance(value, dict):
        value = value.get("name")
    return str(value) if value not in (None, "") else None


def severity_key(severity):
    sev = (severity or "").strip().lower() or "unknown"
    if sev in SEVERITY_ORDER:
        return (SEVERITY_ORDER.index(sev), sev)
    if sev == "unknown":
        return (len(SEVERITY_ORDER) + 1, sev)
    return (len(SEVERITY_ORDER), sev)


def _norm_severity(severity):
    return (severity or "").strip().lower() or "unknown"


def _build_int(build):
    """``22380479``, ``"22380479"``, ``"Releasebuild-22380479"``, ``"8.0.2-22380479"`` -> 22380479 (None if none)."""
    if build is None or isinstance(build, bool):
        return None
    if isinstance(build, int):
        return build
    m = re.search(r"(\d+)\s*$", str(build).strip())
    return int(m.group(1)) if m else None


def _version_matches(prefix, version):
    """``"8.0"`` matches ``8.0.2``; ``"8.0.2"`` matches ``8.0.2`` only; ``"*"`` matches anything."""
    prefix = str(prefix).strip()
    if prefix in ("*", ""):
        return True
    version = str(version or "")
    return version == prefix or version.startswith(prefix + ".")


def minimum_build_for(minimum_build, version):
    """The minimum build that applies to a host of ``version`` (None: no line for it).

    ``minimum_build`` is a build number (one line for every host) or a dict mapping a version prefix
    (``"8.0"``, ``"7.0.3"``, ``"*"``) to a build; the longest matching prefix wins."""
    if minimum_build in (None, "", {}):
        return None
    if not isinstance(minimum_build, dict):
        b = _build_int(minimum_build)
        if b is None:
            raise InputError("minimum_build: %r is not a build number" % (minimum_build,))
        return b
    best = None
    for prefix, build in minimum_build.items():
        if _version_matches(prefix, version):
            rank = -1 if str(prefix).strip() in ("*", "") else len(str(prefix))
            if best is None or rank > best[0]:
                b = _build_int(build)
                if b is None:
                    raise InputError("minimum_build[%s]: %r is not a build number" % (prefix, build))
                best = (rank, b)
    return best[1] if best else None


def parse_minimum_build(value):
    """``minimum_build`` as given: a number, a dict, or the JSON text of one (survey answers are text)."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            raise InputError("minimum_build: %r is neither a build number nor a JSON object" % (value,))
    return value


def _check_minimum_build(minimum_build):
    if isinstance(minimum_build, dict):
        for prefix, build in minimum_build.items():
            if _build_int(build) is None:
                raise InputError("minimum_build[%s]: %r is not a build number" % (prefix, build))
    elif minimum_build not in (None, ""):
        minimum_build_for(minimum_build, "")


# ---- reading scan results ------------------------------------------------------------------------------
def _looks_like_host(rec):
    return isinstance(rec, dict) and not isinstance(rec.get("hosts"), (list, dict)) \
        and not isinstance(rec.get("results"), list) \
        and any(k in rec for k in ("missing", "installed", "compliant", "build", "failed", "error")) \
        and any(_name_of(rec.get(k)) for k in ("name", "host", "hostname", "esxi_hostname"))


def _target_names(obj):
    names = obj.get("failed_hosts") or obj.get("esxi_hostname") \
        or ((obj.get("invocation") or {}).get("module_args") or {}).get("esxi_hostname") or obj.get("item")
    if isinstance(names, (str, dict)):
        names = [names]
    return [n for n in (_name_of(x) for x in names or []) if n]


def _iter_records(obj, depth=0):
    """Yield host records from any of the accepted shapes (see ``build_report``)."""
    if depth > 6 or obj is None:
        return
    if isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _iter_records(item, depth + 1)
        return
    if not isinstance(obj, dict):
        raise InputError("results: expected scan results (dicts), got %s" % type(obj).__name__)
    if _looks_like_host(obj):
        yield obj
        return
    found = set()
    hosts = obj.get("hosts")
    if isinstance(hosts, dict):
        for name in sorted(hosts):
            rec = hosts[name]
            if isinstance(rec, dict):
                rec = dict(rec, name=_name_of(rec.get("name")) or name)
                found.add(rec["name"])
                yield rec
    elif isinstance(hosts, list):
        for rec in _iter_records(hosts, depth + 1):
            found.add(_name_of(rec.get("name")) or _name_of(rec.get("host")))
            yield rec
    if isinstance(obj.get("results"), list):
        for rec in _iter_records(obj["results"], depth + 1):
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


def _entry(e):
    """A missing/installed bulletin entry reduced to what the report shows."""
    if isinstance(e, str):
        e = {"id": e}
    out = {
        "id": str(e.get("id") or e.get("bulletin") or "?"),
        "summary": e.get("summary") or "",
        "severity": _norm_severity(e.get("severity")),
        "category": e.get("category") or "",
        "release_date": e.get("release_date") or None,
        "reason": e.get("reason") or "",
    }
    if e.get("kb_url"):
        out["kb_url"] = e["kb_url"]
    if e.get("update") is not None:
        out["update"] = bool(e.get("update"))
    if e.get("acceptance_blocked"):
        out["acceptance_blocked"] = list(e["acceptance_blocked"])
    return out


def _groups_of(rec):
    src = rec
    for key in ("bulletins", "scan"):
        if isinstance(rec.get(key), dict) and any(g in rec[key] for g in _GROUPS):
            src = rec[key]
            break
    return {g: [_entry(e) for e in (src.get(g) or [])] for g in _GROUPS}


def normalize_host(rec, clusters=None):
    """One host record of any accepted shape -> the report's host dict (before evaluation)."""
    name = _name_of(rec.get("name")) or _name_of(rec.get("host")) or _name_of(rec.get("hostname")) \
        or _name_of(rec.get("esxi_hostname")) or "(unknown host)"
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
    groups = _groups_of(rec)
    scan_compliant = rec.get("compliant")
    if isinstance(rec.get("scan"), dict) and scan_compliant is None:
        scan_compliant = rec["scan"].get("compliant")
    profile = rec.get("image_profile")
    if isinstance(profile, dict):
        profile = profile.get("name")
    return {
        "name": name,
        "cluster": cluster,
        "datacenter": datacenter,
        "version": str(rec["version"]) if rec.get("version") not in (None, "") else None,
        "build": str(rec["build"]) if rec.get("build") not in (None, "") else None,
        "image_profile": profile or None,
        "acceptance_level": rec.get("acceptance_level") or None,
        "scanned_at": rec.get("scanned_at") or None,
        "depot_digest": rec.get("depot_digest") or rec.get("metadata_digest") or None,
        "scan_compliant": None if scan_compliant is None else bool(scan_compliant),
        "error": error,
        "groups": groups,
    }


# ---- evaluation ------------------------------------------------------------------------------------------
def _by_severity(entries):
    out = {}
    for e in sorted(entries, key=lambda x: (severity_key(x["severity"]), x["id"])):
        out.setdefault(e["severity"], []).append(e)
    return out


def evaluate_host(h, minimum_build=None, required_bulletins=None):
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


def _worst(statuses):
    for s in STATUSES:
        if s in statuses:
            return s
    return "compliant"


def _host_sort_key(h):
    return h["name"].lower()


def _cluster_key(h):
    return (h["datacenter"] or "", h["cluster"] or "")


def build_report(results, title="ESXi patch compliance", minimum_build=None, required_bulletins=None,
                 clusters=None, generated_at=None):
    """The report dict (JSON-safe) for scan ``results``.

    ``results``: the registered result of ``esxi_patch_scan`` (a dict with ``hosts``), a list of such results,
    a loop's registered result (``results``), or a list of per-host results. A failed scan result becomes an
    ``error`` host. ``clusters`` maps a host name to a cluster name (or ``{cluster, datacenter}``) for results
    that do not carry one. Raises ``InputError`` for unusable input.
    """
    minimum_build = parse_minimum_build(minimum_build)
    _check_minimum_build(minimum_build)
    required = [str(b) for b in (required_bulletins or [])]
    if clusters is not None and not isinstance(clusters, dict):
        raise InputError("clusters: expected a dict mapping host names to cluster names")
    hosts = {}
    for rec in _iter_records(results):
        h = normalize_host(rec, clusters)
        prev = hosts.get(h["name"])
        # the same host twice (two registered results): keep the newest scan, errors lose to data
        if prev is not None:
            if h["error"] and not prev["error"]:
                continue
            if not h["error"] and not prev["error"] and (h["scanned_at"] or "") < (prev["scanned_at"] or ""):
                continue
        hosts[h["name"]] = h
    host_list = [evaluate_host(hosts[n], minimum_build, required) for n in sorted(hosts, key=str.lower)]

    cluster_map = {}
    for h in host_list:
        cluster_map.setdefault(_cluster_key(h), []).append(h)
    cluster_list = []

    def cluster_order(kv):
        return (kv[0][1] == "", kv[0][0].lower(), kv[0][1].lower())

    for (dc, cl), members in sorted(cluster_map.items(), key=cluster_order):
        counts = {s: sum(1 for h in members if h["status"] == s) for s in STATUSES}
        sev = {}
        for h in members:
            for s, entries in h["missing_by_severity"].items():
                sev.setdefault(s, set()).update(e["id"] for e in entries)
        cluster_list.append({
            "name": cl or STANDALONE,
            "cluster": cl or None,
            "datacenter": dc or None,
            "standalone": not cl,
            "status": _worst({h["status"] for h in members}),
            "hosts": [h["name"] for h in members],
            "counts": dict(counts, hosts=len(members)),
            "missing_by_severity": {s: len(sev[s]) for s in sorted(sev, key=severity_key)},
        })

    all_missing = {}
    pairs = 0
    for h in host_list:
        for s, entries in h["missing_by_severity"].items():
            for e in entries:
                all_missing.setdefault(e["id"], e)
                pairs += 1
    sev_counts = {}
    for e in all_missing.values():
        sev_counts[e["severity"]] = sev_counts.get(e["severity"], 0) + 1
    n = len(host_list)
    counts = {s: sum(1 for h in host_list if h["status"] == s) for s in STATUSES}
    times = sorted(h["scanned_at"] for h in host_list if h["scanned_at"])
    summary = {
        "hosts": n,
        "compliant": counts["compliant"],
        "non_compliant": counts["non_compliant"],
        "error": counts["error"],
        "compliance_percent": round(100.0 * counts["compliant"] / n, 1) if n else 100.0,
        "clusters": sum(1 for c in cluster_list if not c["standalone"]),
        "clusters_compliant": sum(1 for c in cluster_list if not c["standalone"] and c["status"] == "compliant"),
        "missing_bulletins": len(all_missing),
        "missing_host_bulletins": pairs,
        "missing_by_severity": {s: sev_counts[s] for s in sorted(sev_counts, key=severity_key)},
        "non_compliant_hosts": [h["name"] for h in host_list if h["status"] == "non_compliant"],
        "error_hosts": [h["name"] for h in host_list if h["status"] == "error"],
        "status": _worst({k for k in STATUSES if counts[k]}),
    }
    report = {
        "format": REPORT_FORMAT,
        "title": title or "ESXi patch compliance",
        "generated_at": generated_at or utc_now(),
        "scanned_from": times[0] if times else None,
        "scanned_to": times[-1] if times else None,
        "line": {"minimum_build": minimum_build if minimum_build not in ("", {}) else None,
                 "required_bulletins": required},
        "depot_digests": sorted({h["depot_digest"] for h in host_list if h["depot_digest"]}),
        "summary": summary,
        "clusters": cluster_list,
        "hosts": host_list,
    }
    report["digest"] = report_digest(report)
    return report


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _strip_times(obj):
    if isinstance(obj, dict):
        return {k: _strip_times(v) for k, v in obj.items() if k not in _TIME_KEYS and k != "digest"}
    if isinstance(obj, list):
        return [_strip_times(v) for v in obj]
    return obj


def report_digest(report):
    """sha256 over the report without timestamps (equal outcome -> equal digest)."""
    data = json.dumps(_strip_times(report), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def result_view(report):
    """The compact part of the report a module returns (no bulletin details)."""
    hosts = []
    for h in report["hosts"]:
        hosts.append({
            "name": h["name"], "cluster": h["cluster"], "datacenter": h["datacenter"], "status": h["status"],
            "reasons": list(h["reasons"]), "version": h["version"], "build": h["build"],
            "missing": h["counts"]["missing"],
            "missing_by_severity": dict(h["counts"]["missing_by_severity"]),
        })
    clusters = [{k: c[k] for k in ("name", "datacenter", "standalone", "status", "hosts", "counts")}
                for c in report["clusters"]]
    return {"summary": report["summary"], "hosts": hosts, "clusters": clusters, "digest": report["digest"],
            "summary_lines": summary_lines(report)}


def summary_lines(report):
    """A few lines for people: the counts, each cluster, and every host below the line with its reasons."""
    s = report["summary"]
    lines = ["%d of %d hosts compliant (%s%%), %d non-compliant, %d not scanned"
             % (s["compliant"], s["hosts"], s["compliance_percent"], s["non_compliant"], s["error"])]
    sev = s["missing_by_severity"]
    lines.append("missing bulletins by severity: %s"
                 % (", ".join("%s %d" % (k, v) for k, v in sev.items()) if sev else "none"))
    for c in report["clusters"]:
        label = c["name"] if c["standalone"] else "cluster %s" % c["name"]
        lines.append("%s: %s (%d of %d hosts compliant)"
                     % (label, STATUS_LABELS[c["status"]].lower(), c["counts"]["compliant"], c["counts"]["hosts"]))
    for h in report["hosts"]:
        if h["status"] != "compliant":
            lines.append("%s %s: %s" % ("below the line:" if h["status"] == "non_compliant" else "not scanned:",
                                        h["name"], "; ".join(h["reasons"])))
    return lines


# ---- JSON ------------------------------------------------------------------------------------------------
def render_json(report):
    return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"


# ---- JUnit XML -------------------------------------------------------------------------------------------
def _junit_message(h):
    parts = list(h["reasons"])
    sev = h["counts"]["missing_by_severity"]
    if sev and h["status"] != "error":
        parts.append("missing: " + ", ".join("%d %s" % (sev[s], s) for s in sorted(sev, key=severity_key)))
    return "; ".join(parts) or STATUS_LABELS[h["status"]]


def _junit_body(h):
    lines = ["host %s: %s" % (h["name"], STATUS_LABELS[h["status"]])]
    if h["version"] or h["build"]:
        lines.append("version %s, build %s, image profile %s"
                     % (h["version"] or "?", h["build"] or "?", h["image_profile"] or "?"))
    for r in h["reasons"]:
        lines.append("- " + r)
    for sev, entries in h["missing_by_severity"].items():
        lines.append("missing %s (%d):" % (sev, len(entries)))
        for e in entries:
            lines.append("  %s  %s" % (e["id"], e["summary"]))
    return "\n".join(lines)


def render_junit(report):
    """JUnit XML: one ``testsuite`` per cluster (standalone hosts in their own), one ``testcase`` per host;
    a non-compliant host is a ``failure``, a host that could not be scanned an ``error``."""
    s = report["summary"]
    root = ET.Element("testsuites", {
        "name": report["title"], "tests": str(s["hosts"]), "failures": str(s["non_compliant"]),
        "errors": str(s["error"]), "time": "0",
    })
    by_name = {h["name"]: h for h in report["hosts"]}
    for c in report["clusters"]:
        label = "/".join(x for x in (c["datacenter"], c["name"]) if x)
        suite = ET.SubElement(root, "testsuite", {
            "name": label, "tests": str(c["counts"]["hosts"]), "failures": str(c["counts"]["non_compliant"]),
            "errors": str(c["counts"]["error"]), "skipped": "0", "time": "0",
            "timestamp": (report["scanned_to"] or report["generated_at"] or "")[:19],
        })
        props = ET.SubElement(suite, "properties")
        for k, v in (("fleetpatch.digest", report["digest"]), ("status", c["status"]),
                     ("minimum_build", json.dumps(report["line"]["minimum_build"], sort_keys=True)),
                     ("required_bulletins", ",".join(report["line"]["required_bulletins"]))):
            ET.SubElement(props, "property", {"name": k, "value": str(v)})
        classname = "esxi.compliance." + re.sub(r"[^A-Za-z0-9_.-]+", "_", label or "hosts")
        for name in c["hosts"]:
            h = by_name[name]
            case = ET.SubElement(suite, "testcase", {"classname": classname, "name": h["name"], "time": "0"})
            if h["status"] == "non_compliant":
                el = ET.SubElement(case, "failure", {"type": "non_compliant", "message": _junit_message(h)})
                el.text = _junit_body(h)
            elif h["status"] == "error":
                el = ET.SubElement(case, "error", {"type": "scan_failed", "message": _junit_message(h)})
                el.text = _junit_body(h)
            else:
                out = ET.SubElement(case, "system-out")
                out.text = _junit_body(h)
    if hasattr(ET, "indent"):
        ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---- HTML ------------------------------------------------------------------------------------------------
_CSS = """
:root{--bg:#f5f6f8;--fg:#1c2330;--muted:#5d6778;--card:#fff;--line:#dde1e7;
--ok:#1e7d45;--ok-bg:#e3f4ea;--bad:#b42318;--bad-bg:#fde8e6;--err:#8a5300;--err-bg:#fff2d6;
--critical:#b42318;--security:#6b3fa0;--important:#c4540a;--moderate:#a07800;--low:#3d6fb0;--general:#5d6778;
--unknown:#5d6778}
@media (prefers-color-scheme:dark){:root{--bg:#14181f;--fg:#e7eaf0;--muted:#9aa4b5;--card:#1d232c;--line:#2e3642;
--ok:#5fd08f;--ok-bg:#173325;--bad:#ff8a80;--bad-bg:#3a1a18;--err:#f3c26b;--err-bg:#3a2c10}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:0}
.meta{color:var(--muted);margin:0 0 2px;font-size:13px}
.verdict{display:flex;align-items:center;gap:14px;margin:18px 0;padding:16px 20px;border-radius:12px;
background:var(--card);border:1px solid var(--line);border-left:8px solid var(--ok)}
.verdict.status-non_compliant{border-left-color:var(--bad)}.verdict.status-error{border-left-color:var(--err)}
.verdict strong{font-size:20px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:0 0 14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 16px}
.card .num{display:block;font-size:32px;font-weight:700;line-height:1.1}
.card .lbl{color:var(--muted);font-size:13px;text-transform:uppercase;letter-spacing:.04em}
.card.status-compliant .num{color:var(--ok)}.card.status-non_compliant .num{color:var(--bad)}
.card.status-error .num{color:var(--err)}
.bar{display:flex;height:14px;border-radius:7px;overflow:hidden;background:var(--line);margin:4px 0 16px}
.bar span{display:block;height:100%}
.bar .seg-compliant{background:var(--ok)}.bar .seg-non_compliant{background:var(--bad)}
.bar .seg-error{background:var(--err)}
.pill{display:inline-block;padding:2px 10px;border-radius:999px;font-size:13px;font-weight:600;white-space:nowrap}
.pill.status-compliant{background:var(--ok-bg);color:var(--ok)}
.pill.status-non_compliant{background:var(--bad-bg);color:var(--bad)}
.pill.status-error{background:var(--err-bg);color:var(--err)}
.chip{display:inline-block;margin:1px 4px 1px 0;padding:1px 8px;border-radius:6px;font-size:12px;font-weight:600;
color:#fff;background:var(--general);white-space:nowrap}
.sev-critical{background:var(--critical)}.sev-security{background:var(--security)}
.sev-important{background:var(--important)}.sev-moderate{background:var(--moderate)}
.sev-low{background:var(--low)}.sev-general,.sev-unknown{background:var(--general)}
.attention{background:var(--bad-bg);border:1px solid var(--bad);border-radius:12px;padding:12px 18px;margin:0 0 18px}
.attention h2{color:var(--bad);font-size:16px;margin-bottom:6px}
.attention ul{margin:0;padding-left:20px}
section.cluster{background:var(--card);border:1px solid var(--line);border-radius:12px;margin:0 0 18px;
overflow:hidden}
section.cluster>header{display:flex;flex-wrap:wrap;align-items:center;gap:10px;padding:14px 18px;
border-bottom:1px solid var(--line)}
section.cluster>header .sub{color:var(--muted);font-size:13px}
table{width:100%;border-collapse:collapse;table-layout:fixed}
col.c-host{width:24%}col.c-status{width:27%}col.c-version{width:13%}col.c-missing{width:36%}
a{color:inherit}.card.zero .num{color:var(--muted)}
th{text-align:left;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);
padding:8px 18px;border-bottom:1px solid var(--line)}
td{padding:10px 18px;border-bottom:1px solid var(--line);vertical-align:top}
tr.host.status-non_compliant td:first-child{box-shadow:inset 5px 0 0 var(--bad)}
tr.host.status-error td:first-child{box-shadow:inset 5px 0 0 var(--err)}
tr.host.status-compliant td:first-child{box-shadow:inset 5px 0 0 var(--ok)}
.hostname{font-weight:600}.small{color:var(--muted);font-size:13px}
.reasons{margin:4px 0 0;padding-left:18px;color:var(--bad);font-size:13px}
tr.host.status-error .reasons{color:var(--err)}
details{margin:2px 0 0}summary{cursor:pointer;color:var(--muted);font-size:13px}
.bulletins h4{margin:10px 0 4px;font-size:13px}
.bulletins ul{margin:0;padding-left:18px}.bulletins li{margin:2px 0;font-size:13px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.none{color:var(--ok);font-size:13px}
footer{color:var(--muted);font-size:12px;margin-top:24px}
@media print{body{background:#fff}section.cluster,.card{break-inside:avoid}details>*{display:block}}
"""


def _e(text):
    return html.escape("" if text is None else str(text), quote=True)


def _pill(status):
    return '<span class="pill status-%s">%s</span>' % (status, _e(STATUS_LABELS[status]))


def _chips(sev_counts, empty="none missing"):
    if not sev_counts:
        return '<span class="none">%s</span>' % _e(empty)
    return "".join('<span class="chip sev-%s" data-severity="%s">%d %s</span>'
                   % (_e(_css_sev(s)), _e(s), n, _e(s)) for s, n in sorted(sev_counts.items(),
                                                                           key=lambda kv: severity_key(kv[0])))


def _css_sev(sev):
    return sev if sev in SEVERITY_ORDER or sev == "unknown" else "general"


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-") or "x"


def _line_text(line):
    parts = []
    mb = line.get("minimum_build")
    if isinstance(mb, dict):
        parts.append("minimum build " + ", ".join("%s: %s" % (k, v) for k, v in sorted(mb.items())))
    elif mb not in (None, ""):
        parts.append("minimum build %s" % mb)
    if line.get("required_bulletins"):
        parts.append("required bulletins " + ", ".join(line["required_bulletins"]))
    return "; ".join(parts)


def _host_rows(h):
    rows = []
    reasons = "".join("<li>%s</li>" % _e(r) for r in h["reasons"]) if h["status"] != "compliant" else ""
    ver = _e(h["version"] or "unknown")
    if h["build"]:
        ver += ' <span class="small">build %s</span>' % _e(h["build"])
    missing = h["counts"]["missing"]
    details = ""
    if missing:
        blocks = []
        for sev, entries in h["missing_by_severity"].items():
            items = []
            for e in entries:
                extra = []
                if e.get("release_date"):
                    extra.append(_e(e["release_date"][:10]))
                if e.get("category"):
                    extra.append(_e(e["category"]))
                items.append('<li data-bulletin="%s"><code>%s</code> %s <span class="small">%s</span></li>'
                             % (_e(e["id"]), _e(e["id"]), _e(e["summary"]), " &middot; ".join(extra)))
            blocks.append('<h4><span class="chip sev-%s">%s</span> %d bulletin%s</h4><ul>%s</ul>'
                          % (_e(_css_sev(sev)), _e(sev), len(entries), "" if len(entries) == 1 else "s",
                             "".join(items)))
        details = '<details%s><summary>%d missing bulletin%s</summary><div class="bulletins">%s</div></details>' % (
            " open" if h["status"] != "compliant" else "", missing, "" if missing == 1 else "s", "".join(blocks))
    rows.append(
        '<tr class="host status-{st}" data-host="{name}" data-status="{st}">'
        '<td><div class="hostname">{name}</div><div class="small">{profile}</div></td>'
        '<td>{pill}{reasons}</td><td>{ver}</td><td>{chips}{details}</td></tr>'.format(
            st=h["status"], name=_e(h["name"]), profile=_e(h["image_profile"] or ""), pill=_pill(h["status"]),
            reasons='<ul class="reasons">%s</ul>' % reasons if reasons else "", ver=ver,
            chips=_chips(h["counts"]["missing_by_severity"]) if h["status"] != "error" else
            '<span class="small">not scanned</span>', details=details))
    return "".join(rows)


def render_html(report):
    """A self-contained HTML page (inline CSS, no scripts, no external assets)."""
    s = report["summary"]
    by_name = {h["name"]: h for h in report["hosts"]}
    n = s["hosts"] or 1
    out = []
    w = out.append
    w('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
      '<meta name="viewport" content="width=device-width, initial-scale=1">'
      '<meta name="generator" content="fleetpatch.esxi compliance_report">'
      '<meta name="fleetpatch-report-digest" content="%s">' % _e(report["digest"]))
    w("<title>%s</title><style>%s</style></head><body><main>" % (_e(report["title"]), _CSS))
    w("<h1>%s</h1>" % _e(report["title"]))
    meta = "Generated %s" % _e(report["generated_at"])
    if report["scanned_from"]:
        meta += " &middot; hosts scanned %s" % _e(report["scanned_from"])
        if report["scanned_to"] != report["scanned_from"]:
            meta += " to %s" % _e(report["scanned_to"])
    w('<p class="meta">%s</p>' % meta)
    line = _line_text(report["line"])
    if not line:
        line = "none set (a host is compliant when no selected bulletin is missing)"
    w('<p class="meta">Compliance line: %s</p>' % _e(line))
    status = s["status"]
    if status == "compliant":
        verdict = "All %d host%s compliant" % (s["hosts"], " is" if s["hosts"] == 1 else "s are")
    else:
        bits = []
        if s["non_compliant"]:
            bits.append("%d host%s non-compliant" % (s["non_compliant"], "" if s["non_compliant"] == 1 else "s"))
        if s["error"]:
            bits.append("%d host%s not scanned" % (s["error"], "" if s["error"] == 1 else "s"))
        verdict = " and ".join(bits)
    w('<div class="verdict status-%s" data-summary-status="%s">%s<strong>%s</strong>'
      '<span class="small">%s%% of %d hosts compliant</span></div>'
      % (status, status, _pill(status), _e(verdict), _e(s["compliance_percent"]), s["hosts"]))
    w('<div class="cards">')
    for key, label in (("hosts", "hosts scanned"), ("compliant", "compliant"), ("non_compliant", "non-compliant"),
                       ("error", "scan failed"), ("missing_bulletins", "missing bulletins")):
        cls = " status-%s" % key if key in STATUSES else ""
        if not s[key] and key != "hosts":
            cls += " zero"
        w('<div class="card%s" data-count="%s"><span class="num">%d</span><span class="lbl">%s</span></div>'
          % (cls, key, s[key], _e(label)))
    w("</div>")
    w('<div class="bar" role="img" aria-label="%d compliant, %d non-compliant, %d not scanned">'
      % (s["compliant"], s["non_compliant"], s["error"]))
    for key in ("compliant", "non_compliant", "error"):
        if s[key]:
            w('<span class="seg-%s" style="width:%.2f%%"></span>' % (key, 100.0 * s[key] / n))
    w("</div>")
    w('<p><strong>Missing bulletins by severity:</strong> %s</p>'
      % _chips(s["missing_by_severity"], "none missing"))
    flagged = [by_name[x] for x in s["non_compliant_hosts"] + s["error_hosts"]]
    if flagged:
        w('<div class="attention"><h2>Hosts below the line</h2><ul>')
        for h in flagged:
            w('<li><a href="#host-%s"><strong>%s</strong></a> %s %s</li>'
              % (_slug(h["name"]), _e(h["name"]), _pill(h["status"]), _e("; ".join(h["reasons"]))))
        w("</ul></div>")
    for c in report["clusters"]:
        title = c["name"] if c["standalone"] else "Cluster %s" % c["name"]
        sub = []
        if c["datacenter"]:
            sub.append("datacenter %s" % c["datacenter"])
        sub.append("%d of %d host%s compliant" % (c["counts"]["compliant"], c["counts"]["hosts"],
                                                  "" if c["counts"]["hosts"] == 1 else "s"))
        w('<section class="cluster status-%s" id="cluster-%s" data-cluster="%s" data-status="%s"><header>'
          '<h2>%s</h2>%s<span class="sub">%s</span><span>%s</span></header>'
          % (c["status"], _slug("%s-%s" % (c["datacenter"], c["name"])), _e(c["name"]), c["status"], _e(title),
             _pill(c["status"]), _e(" \u00b7 ".join(sub)), _chips(c["missing_by_severity"], "")))
        w('<table><colgroup><col class="c-host"><col class="c-status"><col class="c-version">'
          '<col class="c-missing"></colgroup><thead><tr><th>Host</th><th>Status</th><th>Version</th>'
          '<th>Missing bulletins</th></tr></thead><tbody>')
        for name in c["hosts"]:
            row = _host_rows(by_name[name])
            w(row.replace('<tr class="host', '<tr id="host-%s" class="host' % _slug(name), 1))
        w("</tbody></table></section>")
    if not report["hosts"]:
        w('<p class="small">No hosts in the scan results.</p>')
    depots = ""
    if report["depot_digests"]:
        depots = " &middot; depot " + ", ".join("<code>%s</code>" % _e(d[:16]) for d in report["depot_digests"])
    w('<footer>fleetpatch.esxi compliance report &middot; digest <code>%s</code>%s</footer>'
      % (_e(report["digest"][:16]), depots))
    w("</main></body></html>\n")
    return "".join(out)


RENDERERS = {"json": render_json, "junit": render_junit, "html": render_html}


# ---- files -----------------------------------------------------------------------------------------------
_DIGEST_RES = {
    "junit": re.compile(r'<property name="fleetpatch\.digest" value="([0-9a-f]{64})"'),
    "html": re.compile(r'<meta name="fleetpatch-report-digest" content="([0-9a-f]{64})"'),
}


def existing_digest(path, fmt):
    """The digest recorded in an existing report file (None if absent or unreadable)."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read(4 * 1024 * 1024 if fmt == "json" else 64 * 1024)
    except (OSError, UnicodeDecodeError):
        return None
    if fmt == "json":
        try:
            return json.loads(text).get("digest")
        except (ValueError, AttributeError):
            return None
    m = _DIGEST_RES[fmt].search(text)
    return m.group(1) if m else None


def report_paths(dest, basename="compliance", formats=FORMATS):
    if not basename or "/" in basename or basename in (".", ".."):
        raise InputError("basename: %r is not a plain file name" % (basename,))
    return {f: os.path.join(dest, basename + EXTENSIONS[f]) for f in formats}


def _write_atomic(path, text, mode):
    write_atomic(path, text, mode=mode)


def write_reports(report, dest, formats=FORMATS, basename="compliance", mode=0o644, check_mode=False):
    """Write the report files whose recorded digest differs from ``report['digest']``.

    Returns ``(paths, before)``: every path by format, and for each format (re)written (or that would be, in
    check mode) the digest the file had before (None when it did not exist). Raises ``InputError`` when
    ``dest`` cannot be created or written.
    """
    formats = [f for f in FORMATS if f in set(formats or FORMATS)]
    paths = report_paths(dest, basename, formats)
    before = {}
    for f in formats:
        old = existing_digest(paths[f], f)
        if old != report["digest"]:
            before[f] = old
    if check_mode or not before:
        return paths, before
    try:
        os.makedirs(dest, exist_ok=True)
        for f in formats:
            if f in before:
                _write_atomic(paths[f], RENDERERS[f](report), mode)
    except OSError as e:
        raise InputError("cannot write the report: %s" % (e.strerror or e), source=dest)
    return paths, before


def compliance_report(params, check_mode=False, diff=False):
    """The ``compliance_report`` module's result for its ``params``."""
    mode = params.get("mode")
    try:
        mode_int = int(str(mode), 8) if mode not in (None, "") else 0o644
    except ValueError:
        raise InputError("mode: %r is not an octal file mode such as '0644'" % (mode,))
    report = build_report(params.get("results"), title=params.get("title"),
                          minimum_build=params.get("minimum_build"),
                          required_bulletins=params.get("required_bulletins"), clusters=params.get("clusters"))
    paths, before = write_reports(report, params["dest"], params.get("formats"),
                                  params.get("basename") or "compliance", mode_int, check_mode)
    written = [f for f in FORMATS if f in before]
    out = result_view(report)
    out.update(changed=bool(written), paths=paths, written=written, generated_at=report["generated_at"])
    if diff:
        out["diff"] = {"before": {"digest": {f: before[f] for f in written}},
                       "after": {"digest": {f: report["digest"] for f in written}}}
    return out
