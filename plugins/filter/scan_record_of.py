# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleetpatch.esxi.scan_record_of: one host's own scan result out of the results of batch scans."""

from __future__ import annotations

DOCUMENTATION = r'''
name: scan_record_of
short_description: One host's scan result out of batch scan results
version_added: 1.1.0
author: fleetpatch.esxi contributors
description:
  - The role C(fleetpatch.esxi.patch_scan) scans every host of a play batch with one
    M(fleetpatch.esxi.esxi_patch_scan) run. This filter hands each host back its own result, shaped as a scan of
    that one host would have returned it (V(hosts) holds its one entry; V(failed) and V(msg) are its own).
  - A host found in none of the results fails, with the message of the run that could not name it when the host
    is in O(missing), else with the message of its own run or V(the scan returned no result).
options:
  _input:
    description: The host name as vCenter knows it.
    type: str
    required: true
  results:
    description: Registered results of M(fleetpatch.esxi.esxi_patch_scan) runs (or loop results), newest first.
    type: list
    elements: dict
    required: true
  missing:
    description: Host names the batch run reported as unknown to vCenter.
    type: list
    elements: str
    default: []
  missing_msg:
    description: The message of the run that reported O(missing).
    type: str
    default: ""
'''

EXAMPLES = r'''
- name: The scan of this host out of a batch scan
  ansible.builtin.set_fact:
    my_scan: "{{ inventory_hostname | fleetpatch.esxi.scan_record_of([batch_result]) }}"
'''

RETURN = r'''
_value:
  description: The host's result (V(hosts), V(failed), V(msg), V(compliant), V(depot_digest), V(changed)).
  type: dict
'''


def _results(results):
    for r in results or []:
        if not isinstance(r, dict):
            continue
        if isinstance(r.get("results"), list):     # a registered loop
            for x in _results(r["results"]):
                yield x
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
