#!/usr/bin/env python3
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release as a user gets it (``make release-check``; ``make test`` runs ``--quick``).

Steps (each prints PASS/FAIL and its time; the exit status is 1 when one failed):

quick (also in ``make test``):
  build      ``ansible-galaxy collection build`` of the working tree into a temporary folder
  contents   the tarball ships what users need (CHANGELOG.rst, docs site, inventory plugin, ...) and nothing of
             the developers' (molecule, docs/dev, sim, bench, tools, tests other than config/sanity, .venv ...)
  changelog  ``antsibull-changelog lint``
  docsite    ``tools/docsite.py --check`` (the guides in docs/ are in the docs site)
  docs-lint  ``antsibull-docs lint-collection-docs --plugin-docs`` on the collection
full (``make release-check``), in a temporary folder outside the repository:
  importer   ``galaxy-importer`` on the tarball (own venv under .cache/release/importer; configured by
             ``GALAXY_IMPORTER_CONFIG`` to run offline and without containers: ``RUN_ANSIBLE_TEST = False``)
  install    a fresh venv (ansible-core as in .venv + the tarball's requirements.txt), then
             ``ansible-galaxy collection install <tarball>``
  ansible-doc  every module, plugin and role of the installed collection
  playbooks  against the vCenter simulator with an inventory from ``fleetpatch.esxi.esxi_hosts``:
             ``ansible-playbook fleetpatch.esxi.validate_profile``, ``fleetpatch.esxi.scan`` (reports land under
             ``fleetpatch_output_dir``'s default ``~/.ansible/fleetpatch``, nothing is written into the installed
             collection), and a target that matches no host fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "release"
VENV_BIN = Path(sys.executable).parent
FLING = ROOT / "tests" / "fixtures" / "real" / "itiligent__ESXi-Custom-ISO" / "8-updates" / \
    "ESXi80U2-VMKUSB-NIC-FLING-67561870-component-22416446.zip"
MUST_SHIP = ["MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.rst", "changelogs/changelog.yaml",
             "meta/runtime.yml", "requirements.txt", "bindep.txt", "docs/docsite/links.yml",
             "docs/docsite/extra-docs.yml", "plugins/inventory/esxi_hosts.py", "playbooks/scan.yml",
             "tests/config.yml"]
MUST_NOT_SHIP = ["extensions/molecule", "docs/dev", "docs/simulator.md", "sim", "bench", "tools", "tests/unit",
                 "tests/integration", "tests/simulator", "tests/fixtures", "tests/output", ".venv", ".cache", ".bin",
                 ".collections", "Makefile", "requirements-dev.txt", "pytest.ini", ".git"]
IMPORTER_CFG = """[galaxy-importer]
RUN_ANSIBLE_TEST = False
RUN_ANSIBLE_LINT = True
OFFLINE_ANSIBLE_LINT = True
RUN_FLAKE8 = False
CHECK_REQUIRED_TAGS = False
LOCAL_IMAGE_DOCKER = False
LOG_LEVEL_MAIN = INFO
ANSIBLE_LOCAL_TMP = {tmp}
TMP_ROOT_DIR = {tmp}
"""


class Check(object):
    def __init__(self):
        self.results = []

    def step(self, name, fn):
        started = time.monotonic()
        try:
            detail = fn() or ""
            ok = True
        except Exception as exc:  # pylint: disable=broad-except
            detail, ok = str(exc), False
        secs = time.monotonic() - started
        self.results.append((name, ok, secs, detail))
        print("release-check: %-12s %s (%.1f s) %s" % (name, "PASS" if ok else "FAIL", secs, detail), flush=True)
        return ok


def run(cmd, cwd=None, env=None, timeout=900, check=True):
    proc = subprocess.run([str(c) for c in cmd], cwd=str(cwd) if cwd else None, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=timeout)
    out = proc.stdout.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s" % (" ".join(str(c) for c in cmd[:3]), proc.returncode, out[-4000:]))
    return proc.returncode, out


def base_env(tmp):
    env = dict(os.environ)
    for var in ("ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "PYTHONPATH"):
        env.pop(var, None)
    env.update(ANSIBLE_HOME=str(tmp / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"),
               ANSIBLE_REMOTE_TEMP=str(tmp / "ansible-rtmp"), ANSIBLE_NOCOLOR="1", HOME=str(tmp / "home"))
    (tmp / "home").mkdir(exist_ok=True)
    return env


def build(tmp):
    out = tmp / "dist"
    run([VENV_BIN / "ansible-galaxy", "collection", "build", str(ROOT), "--output-path", str(out), "--force"],
        env=base_env(tmp))
    tars = sorted(out.glob("fleetpatch-esxi-*.tar.gz"))
    if len(tars) != 1:
        raise RuntimeError("expected one tarball, found %s" % tars)
    return tars[0]


def check_contents(tar):
    with tarfile.open(str(tar)) as tf:
        names = set(m.name.lstrip("./") for m in tf.getmembers())
    missing = [n for n in MUST_SHIP if n not in names]
    leaked = sorted({p for p in MUST_NOT_SHIP for n in names if n == p or n.startswith(p + "/")})
    if missing or leaked:
        raise RuntimeError("missing: %s; must not ship: %s" % (missing, leaked))
    return "%d files, %.0f kB" % (len(names), tar.stat().st_size / 1024.0)


def antsibull_docs_lint(tmp):
    coll = tmp / "lint" / "ansible_collections" / "fleetpatch"
    coll.mkdir(parents=True)
    os.symlink(str(ROOT), str(coll / "esxi"))
    env = base_env(tmp)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(tmp / "lint")
    env["PATH"] = str(VENV_BIN) + os.pathsep + env.get("PATH", "")
    rc, out = run([VENV_BIN / "antsibull-docs", "lint-collection-docs", "--plugin-docs", str(coll / "esxi")],
                  env=env, check=False)
    problems = [line for line in out.splitlines() if ": " in line and "Warning" not in line and "from " not in line]
    if rc != 0 or problems:
        raise RuntimeError("\n".join(problems[:40]) or out[-3000:])


def docsite_check(strict):
    """The committed docs site RST matches docs/*.md. Stale RST fails the full check (what ships) and is only
    reported by --quick (make test), since any edit of a guide makes it stale until `make docsite`."""
    rc, out = run([sys.executable, ROOT / "tools" / "docsite.py", "--check"], check=False)
    if rc != 0 and strict:
        raise RuntimeError(out.strip())
    return "up to date" if rc == 0 else "WARNING, stale (run `make docsite` before a release): %s" % out.strip()


def importer(tar, tmp):
    venv = CACHE / "importer"
    if not (venv / "bin" / "python").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        run([sys.executable, "-m", "venv", str(venv)])
        run([venv / "bin" / "python", "-m", "pip", "install", "-q", "galaxy-importer"], timeout=1800)
    cfg = tmp / "galaxy-importer.cfg"
    (tmp / "importer-tmp").mkdir()
    cfg.write_text(IMPORTER_CFG.format(tmp=tmp / "importer-tmp"))
    env = base_env(tmp)
    env["GALAXY_IMPORTER_CONFIG"] = str(cfg)
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    rc, out = run([venv / "bin" / "python", "-m", "galaxy_importer.main", str(tar)], cwd=tmp, env=env,
                  check=False, timeout=1800)
    (CACHE / "importer-last.log").write_text(out)
    bad = [line for line in out.splitlines() if line.startswith(("ERROR", "CRITICAL")) or "Error:" in line]
    if rc != 0 or bad:
        raise RuntimeError("galaxy-importer exit %d:\n%s" % (rc, "\n".join(bad[:30]) or out[-3000:]))
    warnings = [line for line in out.splitlines() if line.startswith("WARNING")]
    return "%d warning(s), log: .cache/release/importer-last.log" % len(warnings)


def install(tar, tmp):
    import ansible.release  # pylint: disable=import-outside-toplevel
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    with tarfile.open(str(tar)) as tf:
        reqs = tf.extractfile("requirements.txt").read().decode()
    (tmp / "requirements.txt").write_text(reqs)
    run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "ansible-core==%s" % ansible.release.__version__, "-r", str(tmp / "requirements.txt")], timeout=1800)
    env = base_env(tmp)
    # cwd outside the repository (its ansible.cfg would point at the working tree); --force: install even if
    # another fleetpatch.esxi is visible
    run([venv / "bin" / "ansible-galaxy", "collection", "install", "--force", str(tar), "-p",
         str(tmp / "collections")], cwd=tmp, env=env)
    if not (tmp / "collections" / "ansible_collections" / "fleetpatch" / "esxi" / "MANIFEST.json").exists():
        raise RuntimeError("ansible-galaxy collection install did not install the collection")
    return "ansible-core %s in %s" % (ansible.release.__version__, venv)


def user_env(tmp):
    env = base_env(tmp)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(tmp / "collections")
    env["PATH"] = str(tmp / "venv" / "bin") + os.pathsep + env.get("PATH", "")
    return env


def ansible_doc(tmp):
    coll = tmp / "collections" / "ansible_collections" / "fleetpatch" / "esxi"
    found = {"module": sorted(p.stem for p in (coll / "plugins" / "modules").glob("*.py") if p.stem != "__init__"),
             "inventory": sorted(p.stem for p in (coll / "plugins" / "inventory").glob("*.py") if p.stem != "__init__"),
             "test": sorted(p.stem for p in (coll / "plugins" / "test").glob("*.yml")),
             "filter": sorted(p.stem for p in (coll / "plugins" / "filter").glob("*.py") if p.stem != "__init__"),
             "role": sorted(p.name for p in (coll / "roles").iterdir() if p.is_dir())}
    env = user_env(tmp)
    count = 0
    for kind, names in found.items():
        if not names:
            continue
        _, out = run([tmp / "venv" / "bin" / "ansible-doc", "-t", kind, "--json"] +
                     ["fleetpatch.esxi.%s" % n for n in names], cwd=tmp, env=env)
        docs = json.loads(out[out.index("{"):])
        empty = [n for n in names if not docs.get("fleetpatch.esxi.%s" % n)]
        if empty:
            raise RuntimeError("ansible-doc -t %s has no documentation for %s" % (kind, empty))
        count += len(names)
    return "%d plugins and roles documented" % count


def playbooks(tmp):
    sys.path.insert(0, str(ROOT))
    from tests.simulator.harness import Simulator  # pylint: disable=import-outside-toplevel
    topology = {"datacenters": [{"name": "DC1", "clusters": [{"name": "C1", "hosts": [
        {"name": "esxi-01.sim.local", "image": "esxi-8.0u2.json"},
        {"name": "esxi-02.sim.local", "image": "esxi-8.0u2.json"}]}]}]}
    coll = tmp / "collections" / "ansible_collections" / "fleetpatch" / "esxi"
    before = sorted(str(p) for p in coll.rglob("*"))
    sim = Simulator(mode="vc", topology=topology).start()
    try:
        inv = tmp / "vcenter.esxi_hosts.yml"
        inv.write_text(json.dumps({"plugin": "fleetpatch.esxi.esxi_hosts", "hostname": sim.host, "port": sim.port,
                                   "ca_path": sim.ca_file}))
        env = user_env(tmp)
        env.update(VMWARE_USER=sim.user, VMWARE_PASSWORD=sim.password)
        pb = tmp / "venv" / "bin" / "ansible-playbook"
        _, out = run([pb, "fleetpatch.esxi.validate_profile", "-e",
                      json.dumps({"validate_depot": [str(FLING)], "validate_vibs": ["vmkusb-nic-fling"],
                                  "validate_fail_on": "never"})], cwd=tmp, env=env)
        _, out = run([pb, "-i", inv, "fleetpatch.esxi.scan", "-e",
                      json.dumps({"depot_sources": [str(FLING)], "scan_fail_mode": "none"})], cwd=tmp, env=env)
        report = tmp / "home" / ".ansible" / "fleetpatch" / "reports" / "compliance.json"
        if not report.exists():
            raise RuntimeError("no report at %s:\n%s" % (report, out[-3000:]))
        hosts = sorted(h["name"] for h in json.loads(report.read_text())["hosts"])
        if hosts != ["esxi-01.sim.local", "esxi-02.sim.local"]:
            raise RuntimeError("report hosts %s" % hosts)
        rc, out = run([pb, "-i", inv, "fleetpatch.esxi.scan", "-e",
                       json.dumps({"depot_sources": [str(FLING)], "esxi_target": "cluster_NOPE"})],
                      cwd=tmp, env=env, check=False)
        if rc == 0 or "No inventory host matches" not in out:
            raise RuntimeError("an empty target did not fail:\n%s" % out[-2000:])
        if sim.password in out:
            raise RuntimeError("the password appeared in the output")
    finally:
        sim.stop()
    after = sorted(str(p) for p in coll.rglob("*") if "__pycache__" not in str(p))
    written = sorted(set(after) - set(before))
    if written:
        raise RuntimeError("files written inside the installed collection: %s" % written[:10])
    return "validate_profile, scan (report for %d hosts), empty target refused" % len(hosts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="only build, contents, changelog, docsite, docs-lint")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--skip", action="append", default=[], help="skip this step (repeatable), e.g. importer")
    args = parser.parse_args(argv)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="fleetpatch-release-"))
    c = Check()
    try:
        box = {}

        def do_build():
            box["tar"] = build(tmp)
            return box["tar"].name
        c.step("build", do_build)
        if "tar" in box:
            c.step("contents", lambda: check_contents(box["tar"]))
        c.step("changelog", lambda: run([VENV_BIN / "antsibull-changelog", "lint"], cwd=ROOT)[1].strip()[-200:])
        c.step("docsite", lambda: docsite_check(strict=not args.quick))
        c.step("docs-lint", lambda: antsibull_docs_lint(tmp))
        if not args.quick and "tar" in box:
            if "importer" not in args.skip:
                c.step("importer", lambda: importer(box["tar"], tmp))
            if c.step("install", lambda: install(box["tar"], tmp)):
                c.step("ansible-doc", lambda: ansible_doc(tmp))
                c.step("playbooks", lambda: playbooks(tmp))
    finally:
        if args.keep:
            print("release-check: kept %s" % tmp)
        else:
            shutil.rmtree(str(tmp), ignore_errors=True)
    failed = [name for name, ok, _, _ in c.results if not ok]
    print("release-check: %s in %.0f s%s" % ("FAILED" if failed else "PASSED", time.monotonic() - started,
                                             (" (failed: %s)" % ", ".join(failed)) if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
