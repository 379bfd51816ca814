# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of image validation (``_validate``/``_resolve``). ``run()`` returns a dict for bench/run.py.

* ``real_profile_ms``: ``validate_profile`` of VMware's real ESXi-6.7.0-8169922-standard profile (136 VIBs) on the
  depot read from the real image database, signatures off, after the depot is parsed (median). Target < 50 ms.
* ``real_profile_signatures_ms``: the same with the 136 signatures verified against VMware's certificates (info).
* ``synthetic_2000_ms``: ``validate_profile`` of a 2,000-VIB set (median). The set is the 136 real records plus renamed
  copies of the 135 records other than esx-base (their depends/conflicts/replaces/provides renamed consistently,
  so the set stays valid and keeps VMware's real relation shapes). Target < 500 ms.
* ``synthetic_2000_broken_ms``: the same with one provider removed (findings are produced).
* ``apply_2000_ms``: ``apply_candidates`` of 2,000 candidates (newer versions of half of them) on the 2,000 set.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (ROOT, os.path.join(ROOT, ".collections")):
    if p not in sys.path:
        sys.path.insert(0, p)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder import resolve as R  # noqa: E402
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot  # noqa: E402
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import (  # noqa: E402
    Depot, Provide, Relation, Vib)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.validation import validate_profile  # noqa: E402

REAL = os.path.join(ROOT, "tests", "fixtures", "real")
ESXIMG = os.path.join(REAL, "ljvblfz__ESXi", "var", "db", "esximg")
TRUST = [os.path.join(REAL, "trust", "vmware.cert"), os.path.join(REAL, "trust", "vmpartner.cert")]
PROFILE = "ESXi-6.7.0-8169922-standard"
TARGET_REAL_MS = 50.0
TARGET_2000_MS = 500.0


def _median_ms(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return round(statistics.median(times), 3), out


def _renamed(vib, suffix, local_names):
    def n(name):
        return name + suffix if name in local_names else name

    def rel(r):
        return Relation(n(r.name), r.relation, r.version)

    name = vib.name + suffix
    return dataclasses.replace(
        vib, id=Vib.make_id(vib.vendor, vib.type, name, vib.version), name=name,
        depends=tuple(rel(r) for r in vib.depends), conflicts=tuple(rel(r) for r in vib.conflicts),
        replaces=tuple(rel(r) for r in vib.replaces),
        provides=tuple(Provide(n(p.name), p.version) for p in vib.provides))


def synthetic_set(real_vibs, total=2000):
    """``total`` VIBs: the real set + renamed copies of its records other than esx-base (relations renamed alike). VIBs outside
    the image that a record conflicts with or replaces keep their names."""
    base = [v for v in real_vibs if v.name == "esx-base"][0]
    others = [v for v in real_vibs if v.name != "esx-base"]
    # providers first, so that the last, partial copy still holds what its members depend on
    wanted = {r.name for v in others for r in v.depends}
    others.sort(key=lambda v: (not ({v.name} | {p.name for p in v.provides}) & wanted, v.name))
    local = {v.name for v in others} | {p.name for v in others for p in v.provides}
    out = [base] + others          # the real image itself, then renamed copies
    copy_no = 0
    while len(out) < total:
        suffix = "-c%02d" % copy_no
        for v in others:
            if len(out) >= total:
                break
            out.append(_renamed(v, suffix, local))
        copy_no += 1
    return out


def run():
    t = time.perf_counter()
    depot = load_depot(ESXIMG)
    parse_ms = round((time.perf_counter() - t) * 1000.0, 1)

    real_ms, res = _median_ms(lambda: validate_profile(depot, profile=PROFILE), 15)
    assert res["valid"] and len(res["profile"]["vib_ids"]) == 136
    sig_ms, res = _median_ms(lambda: validate_profile(depot, profile=PROFILE, verify_signatures=True,
                                                      trust_store=TRUST), 3)
    assert res["checks"]["signatures"]["verified"] == 136

    vibs = synthetic_set(list(depot.vibs.values()))
    synth = Depot(vibs={v.id: v for v in vibs})
    ids = [v.id for v in vibs]
    s_ms, res = _median_ms(lambda: validate_profile(synth, vibs=ids), 5)
    assert res["valid"], res["findings"][:3]
    libata = [v.id for v in vibs if v.name == "ata-libata-92"][0]
    b_ms, res = _median_ms(lambda: validate_profile(synth, vibs=ids, remove_vibs=[libata]), 5)
    broken_findings = res["counts"]["error"]

    cands = []
    for i, v in enumerate(vibs):
        if i % 2 == 0:
            newer = v.version + ".1"
            cands.append(dataclasses.replace(v, version=newer, id=Vib.make_id(v.vendor, v.type, v.name, newer)))
        else:
            cands.append(v)
    a_ms, plan = _median_ms(lambda: R.apply_candidates(vibs, cands, "partner"), 3)

    return {
        "depot_parse_ms": parse_ms,
        "real_profile_vibs": 136,
        "real_profile_ms": real_ms,
        "real_profile_target_ms": TARGET_REAL_MS,
        "real_profile_within_target": real_ms < TARGET_REAL_MS,
        "real_profile_signatures_ms": sig_ms,
        "synthetic_vibs": len(vibs),
        "synthetic_2000_ms": s_ms,
        "synthetic_2000_target_ms": TARGET_2000_MS,
        "synthetic_2000_within_target": s_ms < TARGET_2000_MS,
        "synthetic_2000_broken_ms": b_ms,
        "synthetic_2000_broken_errors": broken_findings,
        "apply_2000_ms": a_ms,
        "apply_2000_install": len(plan.install),
        "apply_2000_skipped": len(plan.skipped),
    }


if __name__ == "__main__":
    import json
    print(json.dumps(run(), indent=2))
