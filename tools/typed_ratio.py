#!/usr/bin/env python3
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How many functions of plugins/module_utils carry type hints (the issue-11 measure: at least 4 in 5).

A function counts as typed when every parameter except ``self``/``cls`` is annotated and the return is
annotated (``__init__`` may leave the return out, as mypy allows). Nested functions and lambdas' enclosing
functions count like any other ``def``. Usage::

    tools/typed_ratio.py [--by-file] [--min 0.8] [paths...]     (default: plugins/module_utils)

Exit status 1 when ``--min`` is given and the ratio is below it.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from typing import Dict, Iterator, List, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _functions(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def is_typed(fn: ast.AST) -> bool:
    args = fn.args  # type: ignore[attr-defined]
    params = list(args.posonlyargs) + list(args.args) + list(args.kwonlyargs)
    if params and params[0].arg in ("self", "cls") and params[0].annotation is None:
        params = params[1:]
    params += [a for a in (args.vararg, args.kwarg) if a is not None]
    if any(p.annotation is None for p in params):
        return False
    if fn.returns is None:  # type: ignore[attr-defined]
        return fn.name == "__init__" and bool(params)  # type: ignore[attr-defined]
    return True


def measure(paths: List[str]) -> Dict[str, Tuple[int, int]]:
    out: Dict[str, Tuple[int, int]] = {}
    for base in paths:
        files = [base] if base.endswith(".py") else [
            os.path.join(d, f) for d, _dirs, fs in os.walk(base) for f in fs if f.endswith(".py")]
        for path in sorted(files):
            with open(path, encoding="utf-8") as fh:
                tree = ast.parse(fh.read(), filename=path)
            fns = list(_functions(tree))
            out[os.path.relpath(path, ROOT)] = (sum(1 for f in fns if is_typed(f)), len(fns))
    return out


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", default=[os.path.join(ROOT, "plugins", "module_utils")])
    ap.add_argument("--by-file", action="store_true", help="one line per file, least typed first")
    ap.add_argument("--min", type=float, default=None, help="fail below this ratio (0..1)")
    a = ap.parse_args(argv)
    res = measure(a.paths)
    typed = sum(t for t, _n in res.values())
    total = sum(n for _t, n in res.values())
    if a.by_file:
        for path, (t, n) in sorted(res.items(), key=lambda kv: (kv[1][0] / kv[1][1] if kv[1][1] else 1, kv[0])):
            if n:
                print("%5.1f%%  %4d/%-4d %s" % (100.0 * t / n, t, n, path))
    ratio = typed / total if total else 1.0
    print("typed functions: %d of %d (%.1f%%)" % (typed, total, 100.0 * ratio))
    return 1 if a.min is not None and ratio < a.min else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
