# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""record.RecordEncoder (the fleet scan's record writer): the text of every record is exactly
``json.dumps(record, sort_keys=True, separators=(",", ":"))``, also where hosts share group lists, where a
shared list is encoded from its memo, and after the items of a list changed (a different list is a different
memo)."""

from __future__ import annotations

import json

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import record


def _plain(d):
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def test_records_sharing_groups_encode_as_json_dumps():
    bulletin = {"id": "ESXi_8.0.2-0.0.22380479", "severity": "critical", "vib_ids": ["b", "a"], "z": None,
                "summary": "caf\u00e9 \u2013 \"quoted\" \\ <tag>", "n": 1.5}
    other = {"id": "VMW-esx-8.0.2", "release_date": "2023-09-21T00:00:00+00:00", "nested": {"b": 1, "a": [True]}}
    enc = record.RecordEncoder(("missing", "installed"))
    hosts = []
    for i in range(4):
        hosts.append({"name": "esx%02d" % i, "missing": [bulletin, other] if i % 2 else [other],
                      "installed": [], "counts": {"missing": 2 - i % 2, "installed": 0}, "vib_count": 136 + i,
                      "image_profile": None, "compliant": i == 3, "selected": ["x"]})
    for h in hosts + hosts:
        assert enc.dumps(h) == _plain(h)
    changed = dict(hosts[1], missing=[dict(bulletin, severity="low"), other])
    assert enc.dumps(changed) == _plain(changed) != _plain(hosts[1])


def test_non_string_keys_fall_back_to_json_dumps():
    enc = record.RecordEncoder(("missing",))
    d = {2: "b", 1: {"missing": []}}
    assert enc.dumps(d) == _plain(d) == '{"1":{"missing":[]},"2":"b"}'
