#!/usr/bin/env python3
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ``ansible-lint --profile production --offline`` over the repository (configuration: ``.ansible-lint``).

The collection is found through ``.collections`` (``.collections/ansible_collections/fleetpatch/esxi`` links to
the repository root; created here if missing, as ``make venv`` does). Caches and temporary files go under
``.cache/`` so the run does not depend on, or write to, the home directory. Exit status is ansible-lint's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = ROOT / ".collections"
LINK = COLLECTIONS / "ansible_collections" / "fleetpatch" / "esxi"
CACHE = ROOT / ".cache"


def ensure_link():
    if LINK.is_symlink() or LINK.exists():
        return
    LINK.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink("../../..", str(LINK))
    except FileExistsError:  # created concurrently
        pass


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    ensure_link()
    venv_bin = Path(sys.executable).parent
    exe = venv_bin / "ansible-lint"
    if not exe.exists():
        print("lint: ansible-lint not found next to %s (run `make venv`)" % sys.executable, file=sys.stderr)
        return 2
    env = dict(os.environ)
    dirs = {
        "ANSIBLE_HOME": CACHE / "ansible" / "home",
        "ANSIBLE_LOCAL_TEMP": CACHE / "ansible" / "tmp",
        "ANSIBLE_REMOTE_TEMP": CACHE / "ansible" / "remote_tmp",
        "XDG_CACHE_HOME": CACHE / "xdg",
    }
    for var, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_LINT_SKIP_SCHEMA_UPDATE="1",
        NO_COLOR="1",
    )
    env["PATH"] = str(venv_bin) + os.pathsep + env.get("PATH", os.defpath)
    cmd = [str(exe), "--profile", "production", "--offline", "-c", str(ROOT / ".ansible-lint"),
           "--project-dir", str(ROOT)] + argv
    print("lint: %s" % " ".join(cmd), flush=True)
    started = time.monotonic()
    rc = subprocess.call(cmd, cwd=str(ROOT), env=env)
    print("lint: %s (ansible-lint exit %d) in %.1f s" % ("PASSED" if rc == 0 else "FAILED", rc,
                                                       time.monotonic() - started), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
