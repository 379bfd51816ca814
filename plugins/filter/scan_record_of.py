# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleetpatch.esxi.scan_record_of: one host's own scan result out of the results of batch scans (documented in
scan_record_of.yml)."""

from __future__ import annotations


def _results(results):
    for r in results or []:
        if not isinstance(r, dict):
            continue
        if isinstance(r.get("results"), list):     # a registered loop
            yield from _results(r["results"])
        else:
            yield r


def scan_record_of(name, results, missing=None, missing_msg=""):
    own = None
    for r in _results(results):
        for entry in r.get("hosts") or []:
            if isinstance(entry, dict) and entry.get("name") == name:
                return {"changed": False, "hosts": [entry], "failed": bool(entry.get("failed")),
                        "msg": entry.get("msg") or "", "compliant": bool(entry.get("compliant")),
                        "depot_digest": r.get("depot_digest")}
        if r.get("item") == name and own is None:
            own = r
    if name in (missing or []):
        return {"name": name, "failed": True, "msg": missing_msg or "host not found in vCenter"}
    msg = (own or {}).get("msg") or "the scan returned no result"
    return {"name": name, "failed": True, "msg": msg}


class FilterModule(object):
    def filters(self):
        return {"scan_record_of": scan_record_of}
