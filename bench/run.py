# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run every ``bench/bench_*.py`` (each exposes ``run() -> dict``) and merge the results into one JSON file.

Usage: ``python bench/run.py [--out bench/results.json] [--only depot]``. Each benchmark's figures are stored under
its name (``depot``, ``scan``, ``validate``); the depot headline figures are repeated at the top level. Existing
keys of the output file that no benchmark of this run produced are kept, so benchmarks can be run one at a time.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
HEADLINE = ("depot_cold_s", "lxml_floor_s", "depot_cold_over_floor", "depot_warm_s", "peak_rss_mb",
            "depot_kept_kb_per_vib")
ROOT = os.path.dirname(HERE)


def discover(only=None):
    out = []
    for name in sorted(os.listdir(HERE)):
        if name.startswith("bench_") and name.endswith(".py"):
            key = name[len("bench_"):-3]
            if only and key not in only:
                continue
            out.append((key, os.path.join(HERE, name)))
    return out


def load(path):
    spec = importlib.util.spec_from_file_location("fleetpatch_" + os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--only", action="append", help="run only bench_<NAME>.py (repeatable)")
    args = ap.parse_args(argv)
    for p in (ROOT, os.path.join(ROOT, ".collections"), HERE):
        if p not in sys.path:
            sys.path.insert(0, p)
    results = {}
    if os.path.exists(args.out):
        try:
            with open(args.out) as f:
                results = json.load(f)
        except ValueError:
            results = {}
    failed = False
    for key, path in discover(args.only):
        print("bench %s ..." % key, file=sys.stderr)
        try:
            res = load(path).run()
        except Exception:  # a broken benchmark must not hide the others
            failed = True
            res = {key: {"error": traceback.format_exc()}}
            print(res[key]["error"], file=sys.stderr)
        if not isinstance(res, dict):
            res = {key: res}
        # every benchmark's figures under its own name (bench_depot.py already nests under "depot")
        results.update(res if list(res) == [key] else {key: res})
    # the headline figures of the depot benchmark also at the top level (the issue names these keys)
    depot = results.get("depot") or {}
    for k in HEADLINE:
        if k in depot:
            results[k] = depot[k]
    results["_meta"] = {"when": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                        "python": platform.python_version(), "machine": platform.machine(),
                        "cpus": os.cpu_count()}
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(results, indent=2, sort_keys=True))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
