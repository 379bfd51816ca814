# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the compliance report renderings: JSON, JUnit XML and a self-contained HTML page. Breaking changes
at any time.

Pure Python (standard library only). Every rendering carries the report's ``digest`` (``model.report_digest``).
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from typing import Any, Callable, Dict

from ansible_collections.fleetpatch.esxi.plugins.module_utils._report.model import (
    SEVERITY_ORDER, STATUS_LABELS, STATUSES, severity_key)

# ---- JSON ------------------------------------------------------------------------------------------------


def render_json(report: Dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"


# ---- JUnit XML -------------------------------------------------------------------------------------------
def _junit_message(h: Dict[str, Any]) -> str:
    parts = list(h["reasons"])
    sev = h["counts"]["missing_by_severity"]
    if sev and h["status"] != "error":
        parts.append("missing: " + ", ".join("%d %s" % (sev[s], s) for s in sorted(sev, key=severity_key)))
    return "; ".join(parts) or STATUS_LABELS[h["status"]]


def vlcm_lines(h: Dict[str, Any]) -> list:
    """The vLCM compliance of a host of an image-managed cluster, as lines of text ([] for other hosts)."""
    if not h.get("image_managed"):
        return []
    v = h.get("vlcm")
    if not v:
        return ["image-managed (vLCM): compliance unknown"]
    base = v["base_image"]
    lines = ["image-managed (vLCM): %s, base image %s -> %s" % (v["status"], base["current"] or "?",
                                                                base["target"] or "?")]
    for b in base.get("bulletins") or ():
        lines.append("  base image bulletin %s (%s, %s)" % (b["id"], b["severity"], b["release_date"] or "?"))
    for c in v["components"]:
        lines.append("  component %s %s -> %s (%s)" % (c["name"], c["current"] or "not installed",
                                                       c["target"] or "removed", c["status"]))
        for b in c.get("bulletins") or ():
            lines.append("    bulletin %s (%s, %s)" % (b["id"], b["severity"], b["release_date"] or "?"))
    return lines


def _junit_body(h: Dict[str, Any]) -> str:
    lines = ["host %s: %s" % (h["name"], STATUS_LABELS[h["status"]])]
    if h["version"] or h["build"]:
        lines.append("version %s, build %s, image profile %s"
                     % (h["version"] or "?", h["build"] or "?", h["image_profile"] or "?"))
    lines.extend(vlcm_lines(h))
    for r in h["reasons"]:
        lines.append("- " + r)
    for sev, entries in h["missing_by_severity"].items():
        lines.append("missing %s (%d):" % (sev, len(entries)))
        for e in entries:
            lines.append("  %s  %s" % (e["id"], e["summary"]))
    return "\n".join(lines)


def _vlcm_properties(c: Dict[str, Any]) -> tuple:
    """JUnit properties of an image-managed cluster: its desired image (none for other clusters)."""
    if not c.get("image_managed"):
        return ()
    v = c.get("vlcm") or {}
    image = v.get("image") or {}
    return (("vlcm.image_managed", "true"), ("vlcm.status", v.get("status") or v.get("error") or "unknown"),
            ("vlcm.base_image", (image.get("base_image") or {}).get("version") or ""),
            ("vlcm.add_on", json.dumps(image.get("add_on"), sort_keys=True)),
            ("vlcm.components", json.dumps(image.get("components") or {}, sort_keys=True)))


def render_junit(report: Dict[str, Any]) -> str:
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
                     ("required_bulletins", ",".join(report["line"]["required_bulletins"]))) + _vlcm_properties(c):
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


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _pill(status: str) -> str:
    return '<span class="pill status-%s">%s</span>' % (status, _e(STATUS_LABELS[status]))


def _chips(sev_counts: Dict[str, int], empty: str = "none missing") -> str:
    if not sev_counts:
        return '<span class="none">%s</span>' % _e(empty)
    return "".join('<span class="chip sev-%s" data-severity="%s">%d %s</span>'
                   % (_e(_css_sev(s)), _e(s), n, _e(s)) for s, n in sorted(sev_counts.items(),
                                                                           key=lambda kv: severity_key(kv[0])))


def _css_sev(sev: str) -> str:
    return sev if sev in SEVERITY_ORDER or sev == "unknown" else "general"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-") or "x"


def _line_text(line: Dict[str, Any]) -> str:
    parts = []
    mb = line.get("minimum_build")
    if isinstance(mb, dict):
        parts.append("minimum build " + ", ".join("%s: %s" % (k, v) for k, v in sorted(mb.items())))
    elif mb not in (None, ""):
        parts.append("minimum build %s" % mb)
    if line.get("required_bulletins"):
        parts.append("required bulletins " + ", ".join(line["required_bulletins"]))
    return "; ".join(parts)


def _bulletin_items(bulletins: Any) -> str:
    items = []
    for b in bulletins or ():
        facts = [x for x in ((b.get("release_date") or "")[:10], b.get("category") or "", b.get("kb") or "") if x]
        items.append('<li data-bulletin="%s"><code>%s</code> <span class="chip sev-%s">%s</span> <span class="small">'
                     '%s</span></li>' % (_e(b["id"]), _e(b["id"]), _e(_css_sev(b["severity"])), _e(b["severity"]),
                                         _e(" \u00b7 ".join(facts))))
    return "".join(items)


def _vlcm_html(h: Dict[str, Any]) -> str:
    """The vLCM compliance of a host of an image-managed cluster ('' for other hosts)."""
    if not h.get("image_managed"):
        return ""
    v = h.get("vlcm")
    if not v:
        return '<div class="vlcm small" data-vlcm-status="unknown">image-managed (vLCM): compliance unknown</div>'
    base = v["base_image"]
    items = []
    if base["current"] != base["target"]:
        items.append("<li>base image <code>%s</code> &rarr; <code>%s</code><ul>%s</ul></li>"
                     % (_e(base["current"] or "?"), _e(base["target"] or "?"), _bulletin_items(base.get("bulletins"))))
    for c in v["components"]:
        items.append('<li data-component="%s">component <code>%s</code> %s &rarr; %s <span class="small">%s</span>'
                     '<ul>%s</ul></li>' % (_e(c["name"]), _e(c["name"]), _e(c["current"] or "not installed"),
                                           _e(c["target"] or "removed"), _e(c["status"]),
                                           _bulletin_items(c.get("bulletins"))))
    return ('<div class="vlcm small" data-vlcm-status="%s">image-managed (vLCM): %s, base image <code>%s</code>%s</div>'
            % (_e(v["status"]), _e(v["status"].replace("_", "-")), _e(base["current"] or "?"),
               '<ul class="reasons">%s</ul>' % "".join(items) if items else ""))


def _cluster_image_html(c: Dict[str, Any]) -> str:
    """The desired image of an image-managed cluster, under its header ('' for other clusters)."""
    if not c.get("image_managed"):
        return ""
    v = c.get("vlcm") or {}
    if not v.get("image"):
        return ('<p class="small vlcm-image" data-vlcm-image="unknown">Image-managed (vLCM): %s</p>'
                % _e(v.get("error") or "no compliance of the cluster in the report: its hosts count as unknown"))
    img = v["image"]
    base = img["base_image"]
    name = " (%s)" % _e(base["display_name"]) if base.get("display_name") else ""
    parts = ["base image <code>%s</code>%s" % (_e(base["version"] or "?"), name)]
    if img.get("add_on"):
        parts.append("add-on <code>%s %s</code>" % (_e(img["add_on"]["name"]), _e(img["add_on"]["version"])))
    if img.get("components"):
        parts.append("components " + ", ".join("<code>%s %s</code>" % (_e(k), _e(x))
                                               for k, x in img["components"].items()))
    return ('<p class="small vlcm-image" data-vlcm-image="%s">Image-managed (vLCM), desired image: %s; cluster %s</p>'
            % (_e(base["version"] or ""), "; ".join(parts), _e((v.get("status") or "unknown").replace("_", "-"))))


def _host_rows(h: Dict[str, Any]) -> str:
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
    details += _vlcm_html(h)
    unknown = "vLCM compliance unknown" if h.get("image_managed") and not h.get("error") else "not scanned"
    rows.append(
        '<tr class="host status-{st}" data-host="{name}" data-status="{st}">'
        '<td><div class="hostname">{name}</div><div class="small">{profile}</div></td>'
        '<td>{pill}{reasons}</td><td>{ver}</td><td>{chips}{details}</td></tr>'.format(
            st=h["status"], name=_e(h["name"]), profile=_e(h["image_profile"] or ""), pill=_pill(h["status"]),
            reasons='<ul class="reasons">%s</ul>' % reasons if reasons else "", ver=ver,
            chips=_chips(h["counts"]["missing_by_severity"]) if h["status"] != "error" else
            '<span class="small">%s</span>' % unknown, details=details))
    return "".join(rows)


def render_html(report: Dict[str, Any]) -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external assets)."""
    s = report["summary"]
    by_name = {h["name"]: h for h in report["hosts"]}
    n = s["hosts"] or 1
    out: list = []
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
        w(_cluster_image_html(c).replace('<p class', '<p style="padding:0 18px" class', 1))
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


RENDERERS: Dict[str, Callable[[Dict[str, Any]], str]] = {
    "json": render_json, "junit": render_junit, "html": render_html}
