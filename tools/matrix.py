#!/usr/bin/env python3
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compatibility matrix: ``ansible-test sanity`` and ``ansible-test units`` on every ansible-core that
``meta/runtime.yml`` ``requires_ansible`` admits, each with a Python it supports as controller.

For each ansible-core minor version a virtual environment ``.cache/matrix/ansible-core-X.Y`` is made with the
newest release of that series, the collection's ``requirements.txt`` and the unit test tools (pytest,
pytest-xdist, pytest-mock, mock), from PyPI (first run) or as they are (later runs: a stamp records what was
installed). Then, in that environment:

- sanity: ``tools/sanity.py`` (the shipped collection, no Docker; see its docstring);
- units: ``ansible-test units --python X.Y`` in a copy of the working tree laid out as
  ``ansible_collections/fleetpatch/esxi`` (ansible-test needs that layout; the copy leaves ``tests/output`` out of
  the working tree).

Which versions: the series from ``requires_ansible``'s lower bound to the newest on PyPI (``pip index versions
ansible-core``, asked with the newest Python found); without network, the list ``KNOWN`` below. Which Python:
the first of the series' controller Pythons (``CONTROLLER_PYTHONS``, from ansible-test's own constants) found as
``/root/.pyenv/versions/X.Y.*/bin/python``, ``~/.pyenv/versions/...`` or ``pythonX.Y`` on PATH. A series with
no usable Python is reported as "no python", not silently dropped.

Usage:
  tools/matrix.py                   every series (``make matrix``), table to stdout and .cache/matrix/results.json
  tools/matrix.py --ends            the oldest and the newest series only (``make test``)
  tools/matrix.py --only 2.18 --what units
  tools/matrix.py --readme          also write the table into README.md between the matrix markers
Exit status: 0 when everything that ran passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "matrix"
NAMESPACE, NAME = "fleetpatch", "esxi"
# Controller Pythons per ansible-core series (ansible_test/_util/target/common/constants.py CONTROLLER_PYTHON_VERSIONS),
# in order of preference for this matrix (a spread of versions, oldest supported first for old series).
CONTROLLER_PYTHONS = {
    "2.16": ["3.11", "3.10", "3.12"],
    "2.17": ["3.12", "3.10", "3.11"],
    "2.18": ["3.11", "3.12", "3.13"],
    "2.19": ["3.13", "3.11", "3.12"],
    "2.20": ["3.12", "3.13", "3.14"],
    "2.21": ["3.13", "3.12", "3.14"],
    "2.22": ["3.13", "3.14"],
}
KNOWN = ["2.16", "2.17", "2.18", "2.19", "2.20", "2.21"]  # used only when PyPI cannot be asked
TEST_TOOLS = ["pytest", "pytest-xdist", "pytest-mock", "mock", "pytest-timeout", "jsonschema", "pyyaml"]
# Not copied for the units run (caches, the venv, build output).
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", ".cache", ".collections", ".bin", "output", "__pycache__",
                                     "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache", "*.tar.gz", "build")
README_BEGIN = "<!-- matrix:begin (written by tools/matrix.py --readme) -->"
README_END = "<!-- matrix:end -->"


def log(msg: str) -> None:
    print("matrix: %s" % msg, flush=True)


def requires_ansible_floor() -> tuple[int, int]:
    text = (ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8")
    m = re.search(r"requires_ansible:\s*['\"]?>=\s*(\d+)\.(\d+)", text)
    if not m:
        raise RuntimeError("meta/runtime.yml has no requires_ansible lower bound")
    return int(m.group(1)), int(m.group(2))


def find_python(version: str) -> str | None:
    patterns = ["/root/.pyenv/versions/%s.*/bin/python%s" % (version, version),
                os.path.expanduser("~/.pyenv/versions/%s.*/bin/python%s" % (version, version))]
    for pattern in patterns:
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[-1]
    return shutil.which("python%s" % version)


def newest_python() -> str:
    for v in ("3.14", "3.13", "3.12", "3.11", "3.10"):
        exe = find_python(v)
        if exe:
            return exe
    return sys.executable


def available_series() -> dict[str, str]:
    """{"2.16": "2.16.19", ...}: the newest release of each admitted series on PyPI (KNOWN offline)."""
    floor = requires_ansible_floor()
    try:
        out = subprocess.run([newest_python(), "-m", "pip", "index", "versions", "ansible-core"], check=True,
                             capture_output=True, text=True, timeout=120).stdout
        versions = re.search(r"Available versions:\s*(.+)", out).group(1).split(", ")  # type: ignore[union-attr]
    except Exception as e:  # pylint: disable=broad-except
        log("cannot ask PyPI (%s); using the known list %s" % (e, ", ".join(KNOWN)))
        return {s: s + ".*" for s in KNOWN}
    series: dict[str, str] = {}
    for v in versions:
        m = re.match(r"^(\d+)\.(\d+)\.(\d+)$", v.strip())  # releases only, no betas or release candidates
        if not m or (int(m.group(1)), int(m.group(2))) < floor:
            continue
        key = "%s.%s" % (m.group(1), m.group(2))
        best = series.get(key)
        if best is None or tuple(map(int, v.split("."))) > tuple(map(int, best.split("."))):
            series[key] = v.strip()
    return dict(sorted(series.items(), key=lambda kv: tuple(map(int, kv[0].split(".")))))


def pick_python(series: str) -> tuple[str | None, str | None]:
    for v in CONTROLLER_PYTHONS.get(series, ["3.13", "3.12"]):
        exe = find_python(v)
        if exe:
            return v, exe
    return None, None


def ensure_venv(series: str, release: str, pyexe: str) -> Path:
    venv = CACHE / ("ansible-core-%s" % series)
    reqs = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    spec = "ansible-core==%s" % release
    want = hashlib.sha256(("%s\n%s\n%s\n%s" % (pyexe, spec, " ".join(TEST_TOOLS), reqs)).encode()).hexdigest()
    stamp = venv / ".matrix-stamp"
    if stamp.exists() and stamp.read_text(encoding="utf-8").strip() == want and (venv / "bin" / "ansible-test").exists():
        return venv
    log("%s: creating %s with %s (%s)" % (series, venv.relative_to(ROOT), pyexe, spec))
    if not (venv / "bin" / "python").exists():
        subprocess.run([pyexe, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    spec, "-r", str(ROOT / "requirements.txt")] + TEST_TOOLS, check=True)
    stamp.write_text(want + "\n", encoding="utf-8")
    return venv


def run_logged(cmd: list[str], logfile: Path, cwd: Path | None = None, env: dict | None = None,
               timeout: int = 1800) -> tuple[int, float, str]:
    started = time.monotonic()
    with open(logfile, "w", encoding="utf-8") as fh:
        try:
            rc = subprocess.run(cmd, cwd=str(cwd) if cwd else None, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = 124
    text = logfile.read_text(encoding="utf-8", errors="replace")
    return rc, time.monotonic() - started, text


def run_sanity(series: str, venv: Path) -> dict:
    logfile = CACHE / ("sanity-%s.log" % series)
    rc, secs, text = run_logged([str(venv / "bin" / "python"), str(ROOT / "tools" / "sanity.py")], logfile)
    m = re.search(r"SANITY PASSED: (\d+) test", text)
    detail = "%s tests" % m.group(1) if m else ""
    if rc != 0:
        m = re.search(r"failed tests: (.+)", text)
        detail = "failed: %s" % (m.group(1) if m else "see %s" % logfile.relative_to(ROOT))
    return {"rc": rc, "seconds": round(secs, 1), "detail": detail, "log": str(logfile.relative_to(ROOT))}


def run_units(series: str, venv: Path, pyver: str) -> dict:
    logfile = CACHE / ("units-%s.log" % series)
    base = Path(tempfile.mkdtemp(prefix="fleetpatch-units-"))
    try:
        dest = base / "ansible_collections" / NAMESPACE / NAME
        shutil.copytree(ROOT, dest, ignore=COPY_IGNORE, symlinks=True)
        env = dict(os.environ)
        env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", os.defpath)
        for var in ("ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "PYTHONPATH"):
            env.pop(var, None)
        cmd = [str(venv / "bin" / "ansible-test"), "units", "--python", pyver, "--color", "no",
               "--num-workers", "2"]
        rc, secs, text = run_logged(cmd, logfile, cwd=dest, env=env)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    m = re.findall(r"=+ (.*?(?:passed|failed|error).*?) in [\d.]+s", text)
    detail = m[-1] if m else ("see %s" % logfile.relative_to(ROOT))
    return {"rc": rc, "seconds": round(secs, 1), "detail": detail, "log": str(logfile.relative_to(ROOT))}


def table(results: list[dict]) -> str:
    lines = ["| ansible-core | Python | sanity | units |", "|---|---|---|---|"]
    for r in results:
        cells = []
        for what in ("sanity", "units"):
            res = r.get(what)
            if res is None:
                cells.append("not run")
            else:
                cells.append("%s (%s, %.0f s)" % ("pass" if res["rc"] == 0 else "FAIL", res["detail"], res["seconds"]))
        lines.append("| %s | %s | %s | %s |" % (r["release"], r.get("python") or "no python found", cells[0], cells[1]))
    return "\n".join(lines) + "\n"


def write_readme(text: str) -> None:
    readme = ROOT / "README.md"
    content = readme.read_text(encoding="utf-8")
    if README_BEGIN not in content or README_END not in content:
        log("README.md has no matrix markers; table not written")
        return
    head, rest = content.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    stamp = "Measured on %s with `make matrix`." % time.strftime("%Y-%m-%d")
    readme.write_text(head + README_BEGIN + "\n" + text + "\n" + stamp + "\n" + README_END + tail, encoding="utf-8")
    log("README.md table updated")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ends", action="store_true", help="only the oldest and the newest series")
    parser.add_argument("--only", action="append", default=[], help="only this series (repeatable), e.g. 2.18")
    parser.add_argument("--what", choices=("both", "sanity", "units"), default="both")
    parser.add_argument("--readme", action="store_true", help="write the results table into README.md")
    args = parser.parse_args(argv)

    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    series = available_series()
    names = list(series)
    if args.ends and len(names) > 2:
        names = [names[0], names[-1]]
    if args.only:
        names = [n for n in names if n in args.only]
    log("series: %s" % ", ".join("%s (%s)" % (n, series[n]) for n in names))
    results = []
    ok = True
    for name in names:
        pyver, pyexe = pick_python(name)
        row: dict = {"series": name, "release": series[name], "python": pyver}
        results.append(row)
        if not pyexe:
            log("%s: no supported Python found (%s)" % (name, ", ".join(CONTROLLER_PYTHONS.get(name, []))))
            ok = False
            continue
        try:
            venv = ensure_venv(name, series[name], pyexe)
        except subprocess.CalledProcessError as e:
            log("%s: cannot set up the environment: %s" % (name, e))
            row["setup_error"] = str(e)
            ok = False
            continue
        row["release"] = subprocess.run([str(venv / "bin" / "python"), "-c",
                                         "import ansible.release as r; print(r.__version__)"],
                                        capture_output=True, text=True, check=False).stdout.strip() or series[name]
        if args.what in ("both", "sanity"):
            row["sanity"] = run_sanity(name, venv)
            log("%s sanity: rc=%d %s (%.0f s)" % (name, row["sanity"]["rc"], row["sanity"]["detail"],
                                                  row["sanity"]["seconds"]))
        if args.what in ("both", "units"):
            row["units"] = run_units(name, venv, pyver)  # type: ignore[arg-type]
            log("%s units: rc=%d %s (%.0f s)" % (name, row["units"]["rc"], row["units"]["detail"],
                                                 row["units"]["seconds"]))
        ok = ok and all(row[w]["rc"] == 0 for w in ("sanity", "units") if w in row)
    text = table(results)
    (CACHE / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("\n" + text, flush=True)
    log("%s in %.0f s (logs in .cache/matrix/)" % ("PASSED" if ok else "FAILED", time.monotonic() - started))
    if args.readme:
        write_readme(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
