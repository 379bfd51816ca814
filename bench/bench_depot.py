# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Depot engine benchmark: parse a synthetic full-size depot (bench/synth.py) cold, from the cache, and
compare with the bare lxml parse of the same XML bytes.

Figures (seconds are CPU time of this process, best of ``REPEAT`` runs, so other load on the machine
disturbs them less):
* ``lxml_floor_s``: ``lxml.etree.fromstring`` over every XML file of the metadata, nothing else;
* ``depot_cold_s``: safe parse + models + index of the same bytes (``parse_metadata_files``);
* ``depot_cold_zip_s``: ``load_depot`` of the metadata.zip with empty caches (adds unzip + sha256);
* ``depot_warm_s``: ``load_depot`` of the same metadata.zip in a fresh process state (in-process cache
  cleared) with the on-disk JSON cache filled by an earlier run: what the 2nd..500th host pays;
* ``depot_warm_fresh_process_s``: the same load timed inside a fresh Python process (imports excluded);
* ``depot_warm_memory_s``: ``load_depot`` again with the in-process cache warm;
* ``peak_rss_mb``: peak resident memory of the process;
* ``depot_kept_kb_per_vib``: memory still allocated per VIB after a load (tracemalloc, the Depot alive), the
  larger of a cold parse and a warm load whose every VIB, bulletin and profile was then read (a scan reads
  them all); ``scales``: the same figures and the warm load at 1x/2x/4x the synthetic depot (60/120/240
  releases), each measured in fresh interpreters by ``bench/depot_probe.py`` (``FLEETPATCH_BENCH_SCALES=1,2,4``).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for p in (ROOT, os.path.join(ROOT, ".collections"), HERE):
    if p not in sys.path:
        sys.path.insert(0, p)

REPEAT = 3


def _probe(mode, mzip, cache_dir, *extra):
    out = subprocess.run([sys.executable, os.path.join(HERE, "depot_probe.py"), mode, mzip, cache_dir] + list(extra),
                         stdout=subprocess.PIPE, check=True)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def scales(tmp, factors):
    """Per scale factor: VIB count, warm load (and the first full read), kept KB per VIB."""
    out = {}
    for k in factors:
        mzip = os.path.join(tmp, "x%d.zip" % k)
        cache_dir = os.path.join(tmp, "cache-x%d" % k)
        stats = _probe("make", mzip, cache_dir, str(k))
        row = {"vibs": stats["vibs"], "metadata_zip_bytes": stats["metadata_zip_bytes"]}
        row.update(_probe("fill", mzip, cache_dir))
        row.update(_probe("warm", mzip, cache_dir))
        for mode in ("kept_cold", "kept_warm", "kept_touched"):
            row.update({k2: v for k2, v in _probe(mode, mzip, cache_dir).items() if k2 != "vibs"})
        out["%dx" % k] = row
        os.unlink(mzip)
        shutil.rmtree(cache_dir, ignore_errors=True)
    return out


def _best(fn, repeat=REPEAT):
    """Best CPU time of ``fn()``; the result is released outside the timed region (loading is measured,
    not freeing what was loaded)."""
    best = None
    for _ in range(repeat):
        gc.collect()
        t = time.process_time()
        result = fn()
        dt = time.process_time() - t
        del result
        best = dt if best is None else min(best, dt)
    return best


def run():
    from lxml import etree

    import synth
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import cache as _depot_cache
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import (
        load_depot, parse_metadata_files,
    )

    files, stats = synth.generate()
    xml = [d for _, d in files]
    tmp = tempfile.mkdtemp(prefix="fleetpatch-bench-")
    try:
        mzip = os.path.join(tmp, "metadata.zip")
        with open(mzip, "wb") as f:
            f.write(synth.metadata_zip(files))
        stats["metadata_zip_bytes"] = os.path.getsize(mzip)
        cache_dir = os.path.join(tmp, "cache")

        def floor():
            fromstring = etree.fromstring
            for d in xml:
                fromstring(d)

        def cold():
            return parse_metadata_files(files, "synthetic")

        def cold_zip():
            _depot_cache.clear_memory()
            return load_depot([mzip])

        def warm():
            _depot_cache.clear_memory()
            return load_depot([mzip], cache_dir=cache_dir)

        def warm_memory():
            return load_depot([mzip], cache_dir=cache_dir)

        lxml_floor = _best(floor)
        depot_cold = _best(cold)
        depot_cold_zip = _best(cold_zip, 2)
        _depot_cache.clear_memory()
        t = time.process_time()
        depot = load_depot([mzip], cache_dir=cache_dir)      # fills the disk cache
        fill = time.process_time() - t
        counts = depot.counts()
        del depot
        depot_warm = _best(warm)
        # the same in a fresh interpreter (module-level caches empty), as each Ansible task process sees it
        code = ("import sys, time; sys.path[:0] = %r\n"
                "from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot\n"
                "t = time.process_time(); d = load_depot([%r], cache_dir=%r); dt = time.process_time() - t\n"
                "assert d.cache_stats['disk'] == 1, d.cache_stats\nprint(dt)\n"
                % ([ROOT, os.path.join(ROOT, ".collections")], mzip, cache_dir))
        fresh = []
        for _ in range(REPEAT):
            out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, check=True)
            fresh.append(float(out.stdout.decode().strip().splitlines()[-1]))
        depot_warm_fresh = min(fresh)
        warm_memory()
        depot_warm_memory = _best(warm_memory)
        cache_bytes = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(cache_dir) for f in fs)
        factors = [int(x) for x in os.environ.get("FLEETPATCH_BENCH_SCALES", "1,2,4").split(",") if x.strip()]
        by_scale = scales(tmp, factors)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "depot": {
            "synthetic": dict(stats, counts=counts),
            "lxml_floor_s": round(lxml_floor, 4),
            "depot_cold_s": round(depot_cold, 4),
            "depot_cold_over_floor": round(depot_cold / lxml_floor, 2),
            "depot_cold_zip_s": round(depot_cold_zip, 4),
            "depot_cache_fill_s": round(fill, 4),
            "depot_warm_s": round(depot_warm, 4),
            "depot_warm_fresh_process_s": round(depot_warm_fresh, 4),
            "depot_warm_memory_s": round(depot_warm_memory, 5),
            "cache_bytes": cache_bytes,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
            "depot_kept_kb_per_vib": max(by_scale[min(by_scale, key=lambda x: int(x[:-1]))].get(m, 0)
                                         for m in ("kept_cold_kb_per_vib", "kept_touched_kb_per_vib"))
            if by_scale else None,
            "scales": by_scale,
            "targets": {"cold_over_floor_max": 2.0, "warm_s_max": 0.05, "kept_kb_per_vib_max": 6.0},
            "timing": "CPU seconds (time.process_time), best of %d" % REPEAT,
        }
    }


if __name__ == "__main__":
    import json
    print(json.dumps(run(), indent=2))
