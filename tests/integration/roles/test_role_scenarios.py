# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role scenarios of extensions/molecule/ (depot, patch_scan, patch_remediate, gueststore, compliance_report):
syntax, prepare, converge, idempotence, verify, cleanup, against the simulator (tests/simulator).

With molecule installed in .venv (``pip install molecule``) each scenario runs as ``molecule test -s <name>``.
Without it (or with FLEETPATCH_ROLE_TESTS=playbook) the same sequence runs with ansible-playbook directly: the same
playbooks, inventory and environment (MOLECULE_* variables), and the idempotence step fails on any changed task
of the second converge, as molecule's does."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.tooling import BIN_DIR, needs_tool, tool_path
import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
VENV_BIN = BIN_DIR
PLAYBOOK = tool_path("ansible-playbook")
MOLECULE = os.path.join(VENV_BIN, "molecule")
SCENARIOS_DIR = os.path.join(ROOT, "extensions", "molecule")
SCENARIOS = sorted(d for d in os.listdir(SCENARIOS_DIR) if os.path.isfile(os.path.join(SCENARIOS_DIR, d, "molecule.yml")))
USE_MOLECULE = os.path.exists(MOLECULE) and os.environ.get("FLEETPATCH_ROLE_TESTS", "molecule") != "playbook"

pytestmark = [pytest.mark.simulator, pytest.mark.slow, pytest.mark.molecule,
              needs_tool("ansible-playbook")]


def _env(tmp_path, scenario):
    eph = tmp_path / "ephemeral"
    eph.mkdir(exist_ok=True)
    env = dict(os.environ)
    for k in list(env):
        if k.startswith(("ANSIBLE_", "MOLECULE_")):
            del env[k]
    env.update(
        PATH=VENV_BIN + os.pathsep + env.get("PATH", os.defpath), HOME=str(tmp_path / "home"),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        ANSIBLE_REMOTE_TEMP=str(tmp_path / "rtmp"), XDG_CACHE_HOME=str(tmp_path / "xdg"), ANSIBLE_NOCOLOR="1",
        NO_COLOR="1", ANSIBLE_FORCE_COLOR="0", MOLECULE_PROJECT_DIRECTORY=ROOT,
        MOLECULE_SCENARIO_DIRECTORY=os.path.join(SCENARIOS_DIR, scenario), MOLECULE_SCENARIO_NAME=scenario,
        MOLECULE_EPHEMERAL_DIRECTORY=str(eph))
    (tmp_path / "home").mkdir(exist_ok=True)
    return env


def _expand(value, env):
    return re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), str(value))


def _run(cmd, env, cwd=ROOT, timeout=600):
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def _changed_tasks(text):
    """Tasks that reported a change, from the default callback's output."""
    out, task = [], None
    for line in text.splitlines():
        m = re.match(r"TASK \[(.+?)\] \*+", line)
        if m:
            task = m.group(1)
        elif line.startswith("changed:"):
            out.append("%s (%s)" % (task, line.split("]")[0].split("[", 1)[-1]))
    return out


def _scenario(scenario, env):
    """(molecule.yml content, ansible-playbook arguments, playbook paths by step) of a scenario; adds the
    scenario's environment to ``env``."""
    sdir = os.path.join(SCENARIOS_DIR, scenario)
    with open(os.path.join(sdir, "molecule.yml")) as f:
        conf = yaml.safe_load(f)
    ansible = conf.get("ansible", {})
    for k, v in (ansible.get("env") or {}).items():
        env[k] = _expand(v, env)
    args = [_expand(a, env) for a in ansible.get("executor", {}).get("args", {}).get("ansible_playbook", [])]
    books = {k: os.path.join(sdir, v) for k, v in (ansible.get("playbooks") or {}).items()}
    for step in ("prepare", "converge", "verify", "cleanup"):
        books.setdefault(step, os.path.join(sdir, step + ".yml"))
    return conf, args, books


def _leftovers(env):
    eph = env["MOLECULE_EPHEMERAL_DIRECTORY"]
    return [n for n in ("sim.json", os.path.join("depot-server", "depot.json")) if os.path.exists(os.path.join(eph, n))]


def _playbook_sequence(scenario, env):
    conf, args, books = _scenario(scenario, env)
    sequence = conf["scenario"]["test_sequence"]
    log = []

    def play(step, extra=()):
        rc, text = _run([PLAYBOOK] + args + list(extra) + [books[step]], env)
        log.append("==== %s (rc %d)\n%s" % (step, rc, text[-6000:]))
        assert rc == 0, "\n".join(log)
        return text

    try:
        for step in sequence:
            if step == "syntax":
                play("converge", ["--syntax-check"])
            elif step == "idempotence":
                text = play("converge")
                changed = _changed_tasks(text)
                assert not changed, "idempotence: the second converge changed %s\n%s" % (changed, "\n".join(log))
            elif step == "cleanup":
                continue   # always run last, below
            elif os.path.exists(books[step]):
                play(step)
    finally:
        if "cleanup" in sequence and os.path.exists(books["cleanup"]):
            _run([PLAYBOOK] + args + [books["cleanup"]], env)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario, tmp_path):
    env = _env(tmp_path, scenario)
    try:
        if USE_MOLECULE:
            rc, text = _run([MOLECULE, "test", "-s", scenario], env)
            assert rc == 0, text[-12000:]
            assert re.search(r"%s\s+.*failed=0" % scenario, text), text[-4000:]
        else:
            _playbook_sequence(scenario, env)
        # nothing of the scenario keeps running: depot server and simulator state files are gone
        assert not _leftovers(env), _leftovers(env)
    finally:
        if _leftovers(env):   # a failed run: stop what it started
            _conf, args, books = _scenario(scenario, env)
            _run([PLAYBOOK] + args + [books["cleanup"]], env)
        shutil.rmtree(str(tmp_path / "ansible-home"), ignore_errors=True)
