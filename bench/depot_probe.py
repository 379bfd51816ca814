# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One depot measurement in a fresh interpreter (used by bench_depot.py for the 1x/2x/4x figures).

``python bench/depot_probe.py MODE ZIP CACHE_DIR`` prints one JSON object:
* ``make N``: write the synthetic metadata.zip of ``N`` x 60 releases to ZIP (stats printed);
* ``fill``: load ZIP once with CACHE_DIR (parses and writes the disk cache);
* ``warm``: CPU seconds of ``load_depot`` from the filled disk cache (imports excluded), best of 3 fresh states;
* ``kept_warm`` / ``kept_cold``: bytes still allocated (tracemalloc) after a load from the disk cache / a
  parse with no cache, with the Depot alive, divided by the VIB count; ``kept_touched`` additionally reads
  every VIB, bulletin and profile once (what a full-catalog consumer such as a scan then holds).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for p in (ROOT, os.path.join(ROOT, ".collections"), HERE):
    if p not in sys.path:
        sys.path.insert(0, p)


def _touch(depot):
    n = 0
    for v in depot.vibs.values():
        n += len(v.id) + len(v.files)
    for b in depot.bulletins.values():
        n += len(b.vib_ids)
    for pr in depot.profiles.values():
        n += len(pr.vib_ids)
    return n


def main(argv):
    mode, mzip, cache_dir = argv[1], argv[2], argv[3]
    if mode == "make":
        import synth
        k = int(argv[4])
        files, stats = synth.generate(releases=60 * k)
        with open(mzip, "wb") as f:
            f.write(synth.metadata_zip(files))
        stats["metadata_zip_bytes"] = os.path.getsize(mzip)
        print(json.dumps(stats))
        return
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import cache as _depot_cache
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot
    if mode == "fill":
        t = time.process_time()
        d = load_depot([mzip], cache_dir=cache_dir)
        print(json.dumps({"fill_s": round(time.process_time() - t, 4), "vibs": len(d.vibs)}))
        return
    if mode == "warm":
        best = None
        for _ in range(3):
            _depot_cache.clear_memory()
            gc.collect()
            t = time.process_time()
            d = load_depot([mzip], cache_dir=cache_dir)
            dt = time.process_time() - t
            assert d.cache_stats.get("disk") == 1, d.cache_stats
            best = dt if best is None else min(best, dt)
            t = time.process_time()
            _touch(d)
            touch_s = time.process_time() - t
            del d
        print(json.dumps({"warm_s": round(best, 4), "warm_touch_all_s": round(touch_s, 4)}))
        return
    import tracemalloc
    tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    d = load_depot([mzip], cache_dir=cache_dir if mode in ("kept_warm", "kept_touched") else None)
    if mode == "kept_touched":
        _touch(d)
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    print(json.dumps({mode + "_kb_per_vib": round(kept / 1024.0 / max(1, len(d.vibs)), 2), "vibs": len(d.vibs)}))


if __name__ == "__main__":
    main(sys.argv)
