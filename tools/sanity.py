#!/usr/bin/env python3
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ``ansible-test sanity`` on what the collection ships, without Docker and without ci-files.testing.ansible.com.

What it does:

1. Seeds ansible-test's pip bootstrap cache (``~/.ansible/test/cache/get_pip_<ver>.py``) with a stand-in for
   get-pip.py, because the real one is downloaded from a host that is not reachable here. The stand-in runs
   ``python -m ensurepip`` in a child process (ensurepip sets ``PIP_CONFIG_FILE=/dev/null`` in its own process,
   which would drop the CA and index settings of /etc/pip.conf), then ``pip install --upgrade <pinned pip>``
   from the configured index (PyPI). An existing real get-pip script is left alone.
2. Copies what ships (see ``SHIPPED``) to ``<tmp>/ansible_collections/fleetpatch/esxi``: ansible-test needs that
   layout, and the copy keeps ``tests/output`` and unshipped files (sim/, .venv, fixtures) out of the way.
3. Runs ``ansible-test sanity --python <this python> --color no`` there and prints a summary.

ansible-test builds one virtual environment per sanity test under ``~/.ansible/test/venv`` (first run: downloads
from PyPI; later runs: cached). Exit status: 0 when every test passed, 1 when a test failed, 2 on set-up errors.

Usage: ``.venv/bin/python tools/sanity.py [--keep] [--test NAME ...] [extra ansible-test args after --]``
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE, NAME = "fleetpatch", "esxi"

# What the collection ships, relative to the repository root (missing entries are skipped).
SHIPPED = [
    "plugins", "meta", "roles", "playbooks", "docs", "changelogs", "extensions",
    "tests/config.yml", "tests/sanity",
    "galaxy.yml", "README.md", "LICENSE", "COPYING", "requirements.txt", "bindep.txt",
]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".pytest_cache", "output")

GET_PIP_STANDIN = '''\
# Stand-in for get-pip.py written by fleetpatch.esxi tools/sanity.py (the real script is downloaded from
# ci-files.testing.ansible.com, which is not reachable here). Replace it with the real script if you have it.
# Usage as get-pip.py: python get_pip.py [pip options] [packages] [--no-setuptools] [--no-wheel]
import os
import subprocess
import sys

args = sys.argv[1:]
no_setuptools = "--no-setuptools" in args
args = [a for a in args if a not in ("--no-setuptools", "--no-wheel")]
env = dict(os.environ)
env.pop("GET_PIP", None)
have_setuptools = subprocess.call([sys.executable, "-c", "import setuptools"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0
# ensurepip runs in a child process: it sets PIP_CONFIG_FILE=/dev/null in its own environment.
rc = subprocess.call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], env=env)
if rc != 0:
    sys.exit("get-pip stand-in: 'python -m ensurepip' failed (is ensurepip/python3-venv installed?)")
rc = subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade"] + args, env=env)
if rc != 0:
    sys.exit(rc)
if no_setuptools and not have_setuptools:
    # get-pip.py --no-setuptools does not install it; ensurepip may have.
    subprocess.call([sys.executable, "-m", "pip", "uninstall", "-y", "-q", "setuptools"], env=env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''
STANDIN_MARK = "Stand-in for get-pip.py written by fleetpatch.esxi"


def log(msg):
    print("sanity: %s" % msg, flush=True)


def ansible_test_pip_version():
    """The pip version ansible-test bootstraps into its venvs (from ansible_test's own source)."""
    try:
        from ansible_test._internal.python_requirements import get_venv_packages  # pylint: disable=import-outside-toplevel

        class _Py:  # the function only reads .version
            version = "%d.%d" % sys.version_info[:2]

        return get_venv_packages(_Py())["pip"]
    except Exception:  # pylint: disable=broad-except
        import ansible_test  # pylint: disable=import-outside-toplevel

        src = Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
        m = re.search(r"pip=['\"]([0-9.]+)['\"]", src.read_text(encoding="utf-8"))
        if not m:
            raise RuntimeError("cannot find the pip version ansible-test bootstraps in %s" % src)
        return m.group(1)


def seed_get_pip():
    """Write the get-pip stand-in where ansible-test looks for its cached bootstrap script."""
    version = ansible_test_pip_version()
    # Same expression as ansible_test/_util/target/setup/requirements.py bootstrap().
    cache = Path(os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_")))
    cache.parent.mkdir(parents=True, exist_ok=True)
    if cache.exists():
        text = cache.read_text(encoding="utf-8", errors="replace")
        if STANDIN_MARK not in text or text == GET_PIP_STANDIN:
            return cache  # the real get-pip.py, or our current stand-in
    tmp = cache.with_suffix(".py.tmp%d" % os.getpid())
    tmp.write_text(GET_PIP_STANDIN, encoding="utf-8")
    os.replace(tmp, cache)
    log("seeded pip %s bootstrap stand-in: %s" % (version, cache))
    return cache


def make_copy(base):
    """Copy the shipped content to <base>/ansible_collections/fleetpatch/esxi and return that path."""
    dest = Path(base) / "ansible_collections" / NAMESPACE / NAME
    dest.mkdir(parents=True)
    copied = []
    for rel in SHIPPED:
        src = ROOT / rel
        if not src.exists():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=IGNORE, symlinks=True)
        else:
            shutil.copy2(src, target)
        copied.append(rel)
    return dest, copied


def find_ansible_test():
    exe = Path(sys.executable).parent / "ansible-test"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ansible-test")
    if found:
        return [found]
    raise RuntimeError("ansible-test not found next to %s or on PATH (run `make venv`)" % sys.executable)


def parse_output(lines):
    ran = []
    failed = []
    errors = []
    for line in lines:
        m = re.match(r"Running sanity test ['\"]([^'\"]+)['\"]", line)
        if m:
            ran.append(m.group(1))
        if line.startswith(("ERROR: ", "FATAL: ")) and "sanity test(s) listed below" not in line:
            errors.append(line.split(": ", 1)[1])
    # ansible-test ends with "FATAL: The N sanity test(s) listed below (out of M) failed..." then one name per line
    for i, line in enumerate(lines):
        if re.match(r"(ERROR|FATAL): The \d+ sanity test\(s\) listed below", line):
            for name in lines[i + 1:]:
                name = name.strip()
                if name and not name.startswith(("ERROR", "WARNING", "NOTICE")) and " " not in name:
                    failed.append(name)
    return ran, failed, errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary collection copy")
    parser.add_argument("--test", action="append", default=[], help="run only this sanity test (repeatable)")
    parser.add_argument("extra", nargs="*", help="extra ansible-test arguments (after --)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    pyver = "%d.%d" % sys.version_info[:2]
    try:
        cmd = find_ansible_test()
        seed_get_pip()
    except Exception as e:  # pylint: disable=broad-except
        log("set-up error: %s" % e)
        return 2

    base = tempfile.mkdtemp(prefix="fleetpatch-sanity-")
    rc = 2
    try:
        dest, copied = make_copy(base)
        log("collection copy: %s (%s)" % (dest, ", ".join(copied)))
        cmd += ["sanity", "--python", pyver, "--color", "no"]
        for t in args.test:
            cmd += ["--test", t]
        cmd += args.extra
        env = dict(os.environ)
        venv_bin = str(Path(sys.executable).parent)
        env["PATH"] = venv_bin + os.pathsep + env.get("PATH", os.defpath)
        for var in ("ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"):
            env.pop(var, None)  # must not point ansible-test at the working tree instead of the copy
        log("running: %s" % " ".join(cmd))
        lines = []
        with subprocess.Popen(cmd, cwd=str(dest), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace") as proc:
            for line in proc.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                lines.append(line.rstrip("\n"))
            rc = proc.wait()
        ran, failed, errors = parse_output(lines)
        elapsed = time.monotonic() - started
        print("", flush=True)
        print("=" * 78)
        if rc == 0:
            print("SANITY PASSED: %d test(s) on Python %s in %.1f s" % (len(ran), pyver, elapsed))
        else:
            print("SANITY FAILED (ansible-test exit %d) in %.1f s; %d test(s) ran" % (rc, elapsed, len(ran)))
            if failed:
                print("failed tests: %s" % ", ".join(failed))
            issues = [e for e in errors if re.match(r"[\w./-]+:\d+:\d+:", e)]
            shown = issues or errors
            for e in shown[:200]:
                print("  " + e)
            if len(shown) > 200:
                print("  ... %d more" % (len(shown) - 200))
        print("=" * 78, flush=True)
        return 0 if rc == 0 else 1
    finally:
        if args.keep:
            log("kept %s" % base)
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
