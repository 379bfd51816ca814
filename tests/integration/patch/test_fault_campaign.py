# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault campaign through ansible-playbook against the simulator (vCenter mode, a DRS cluster, one host per
scenario; and one standalone ESXi): every fault switch, a SIGTERM at each phase (maintenance mode entry, install,
reboot, verify), a maintenance mode entry blocked by a VM, three concurrent runs on one host, a cancel through
ansible-runner's cancel callback (as AWX cancels), then ONE plain re-run over every host. The final state of each
host is read from the simulator: the fling installed and active, nothing pending, out of maintenance mode,
httpClient closed as before our first change, no lock left, no process of ours running.

The SIGTERMs of the phases go to the deploy module's process (the AnsiballZ_esxi_patch_deploy descendant of the
ansible-playbook the test started); one more goes to ansible-playbook itself, which forwards it to the module
through its worker (ansible-core 2.19+), as when CI or a user cancels a run. See docs/patching.md."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from patch_sim_helpers import B_80U2, PLAYBOOKS, ROOT, V_80U2, Simulator, logged_events

pytestmark = [pytest.mark.simulator, pytest.mark.slow]

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
FAULT_HOSTS = ["c-task", "c-disc", "c-reboot"]
SIG_HOSTS = {"maintenance": "c-sig-mm", "install": "c-sig-install", "reboot": "c-sig-reboot", "verify": "c-sig-verify"}
# where each SIGTERM is honoured: the next safe point after the phase it arrived in
SIG_HONOURED = {"maintenance": "maintenance", "install": "reboot", "reboot": "verify", "verify": "finish"}
OTHER_HOSTS = ["c-conc", "c-runner", "c-sig-main"]
ALL_HOSTS = FAULT_HOSTS + list(SIG_HOSTS.values()) + OTHER_HOSTS


class FlingDepot(object):
    """The campaign's depot: only the real ESXi 8.0U2 USB NIC fling component (small, so each run loads it fast)."""

    def __init__(self, srv):
        fling = os.path.join(ROOT, "tests", "fixtures", "real", "itiligent__ESXi-Custom-ISO", "8-updates",
                             "ESXi80U2-VMKUSB-NIC-FLING-67561870-component-22416446.zip")
        self.srv = srv
        self.all_url = srv.make_depot("fling80u2", [fling])


@pytest.fixture(scope="module")
def depots(_depot_server_module):  # noqa: F811  (the patch conftest's fixture of every real bundle is not needed)
    return FlingDepot(_depot_server_module)


@pytest.fixture(scope="module")
def vc():
    topo = {"datacenters": [{"name": "DC1", "clusters": [
        {"name": "CF", "drs": True, "hosts": [{"name": n, "image": "esxi-8.0u2.json", "powered_on_vms": 1}
                                              for n in ALL_HOSTS]},
        {"name": "CB", "drs": True, "hosts": [{"name": "c-block", "image": "esxi-8.0u2.json", "powered_on_vms": 1}]},
    ]}]}
    sim = Simulator(mode="vc", topology=topo, reboot_down=1.0).start()
    yield sim
    sim.stop()


# ---- running ansible-playbook ------------------------------------------------------------------------------

def _env(tmp_path, sim):
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "rtmp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable, REQUESTS_CA_BUNDLE=sim.ca_file,
               PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""))
    return env


def _vars(tmp_path, sim, depots, runs, name, **extra):
    data = {"sim_host": sim.host, "sim_port": sim.port, "sim_user": sim.user, "sim_password": sim.password,
            "out_file": str(tmp_path / ("%s.json" % name)), "ansible_python_interpreter": sys.executable,
            "depot_all": depots.all_url, "b_80u2": B_80U2, "runs": runs}
    data.update(extra)
    return data


def start(tmp_path, sim, depots, runs, name, **extra):
    """Start ansible-playbook with deploy_campaign.yml; returns (process, out_file)."""
    data = _vars(tmp_path, sim, depots, runs, name, **extra)
    vars_file = tmp_path / ("%s.vars.json" % name)
    vars_file.write_text(json.dumps(data))
    proc = subprocess.Popen([ANSIBLE_PLAYBOOK, os.path.join(PLAYBOOKS, "deploy_campaign.yml"), "-e",
                             "@%s" % vars_file], cwd=ROOT, env=_env(tmp_path, sim), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    return proc, data["out_file"]


def finish(proc, out_file, sim, timeout=300):
    text = proc.communicate(timeout=timeout)[0].decode("utf-8", "replace")
    assert proc.returncode == 0, text[-6000:]
    assert sim.password not in text
    with open(out_file) as fh:
        return json.load(fh)["deploys"]


def play(tmp_path, sim, depots, runs, name, **extra):
    proc, out = start(tmp_path, sim, depots, runs, name, **extra)
    return finish(proc, out, sim)


# ---- processes ---------------------------------------------------------------------------------------------

def _procs():
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % d, "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except (OSError, ValueError, IndexError):
            continue
        out[int(d)] = (ppid, cmd)
    return out


def deploy_module_pid(root_pid):
    """The pid of the running deploy module started (indirectly) by ``root_pid``, or None."""
    procs = _procs()
    for pid, (_ppid, cmd) in procs.items():
        # the python process itself, not the "/bin/sh -c '... AnsiballZ_...py && sleep 0'" around it
        if "AnsiballZ_esxi_patch_deploy" not in cmd or cmd.startswith("/bin/sh") or cmd.startswith("sh "):
            continue
        p, seen = pid, 0
        while p in procs and seen < 10:
            if p == root_pid:
                return pid
            p, seen = procs[p][0], seen + 1
    return None


def ours_running(tmp_path):
    """Processes whose command line names this test's folders (modules, ansible-playbook)."""
    return [(pid, cmd[:120]) for pid, (_p, cmd) in _procs().items() if str(tmp_path) in cmd and pid != os.getpid()]


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


# ---- the host as the simulator and vCenter see it ----------------------------------------------------------

def fields(sim, host):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host_fields import HostFields
    with VSphereClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file, timeout=10) as c:
        f = HostFields(c)
        h = c.host(host)
        return {"lock": f.host_field_get(h, "fleetpatch.esxi.lock"),
                "marker": json.loads(f.host_field_get(h, "fleetpatch.esxi.marker") or "null")}


def assert_converged(sim, host):
    st = sim.state(host)
    assert V_80U2 in st["current_vibs"], (host, st["current_vibs"])
    assert not st["pending_vibs"] or set(st["pending_vibs"]) == set(st["current_vibs"]), (host, st["pending_vibs"])
    assert st["maintenance"] is False, host
    assert st["http_client_enabled"] is False, host           # closed before our first change
    assert st["connection_state"] == "connected" and not st["down"], host
    f = fields(sim, host)
    assert f["lock"] is None, (host, f["lock"])
    assert f["marker"]["entered_mm"] is False and f["marker"]["firewall"] == {}, (host, f["marker"])


# ---- the campaign --------------------------------------------------------------------------------------------

def test_fault_campaign(vc, depots, tmp_path):
    sim = vc
    for h in ALL_HOSTS + ["c-block"]:
        st = sim.state(h)
        assert st["maintenance"] is False and st["http_client_enabled"] is False and V_80U2 not in st["current_vibs"]

    # 1. every fault switch, and a maintenance mode entry that a VM blocks (one playbook, one task per host)
    sim.fault("c-task", "task_error", method="InstallV2", type="PlatformConfigFault", text="Simulated failure")
    sim.fault("c-disc", "disconnect_during_install", seconds=1.0)
    sim.fault("c-reboot", "reboot_never_returns")
    res = play(tmp_path, sim, depots, [{"hosts": ["c-task"]}, {"hosts": ["c-disc"]},
                                       {"hosts": ["c-reboot"], "reboot_timeout": 3},
                                       {"hosts": ["c-block"], "maintenance_mode_timeout": 2}], "faults")
    task, disc, reboot, block = res
    assert task["failed"] and task["error_kind"] == "task_failed" and "Simulated failure" in task["msg"]
    assert disc["failed"] and "Applied before the failure" in disc["msg"]
    assert reboot["failed"] and reboot["error_kind"] == "reboot_timeout"
    assert block["failed"] and "did not evacuate: c-block-vm01" in block["msg"], block["msg"]
    for r in (task, disc, reboot, block):
        assert "Traceback" not in r["msg"] and "Traceback" not in r.get("exception", "")
    assert sim.state("c-task")["maintenance"] is True          # left in maintenance mode (the default) ...
    assert fields(sim, "c-task")["marker"]["entered_mm"] is True   # ... recorded as ours
    st = sim.state("c-block")
    assert st["maintenance"] is False and st["http_client_enabled"] is False and not st["pending_vibs"]
    sim.clear_faults()

    # 2. a SIGTERM at each phase, sent to the deploy module (one playbook, one task per phase)
    for host in SIG_HOSTS.values():
        sim.fault(host, "slow_tasks", seconds=1.5)
    phases = ["maintenance", "install", "reboot", "verify"]
    triggers = {
        # the dry run (slow) runs with the ruleset open, just before maintenance mode
        "maintenance": lambda s: s["http_client_enabled"] and not s["maintenance"],
        "install": lambda s: s["maintenance"] and not s["pending_vibs"] and not s["down"],
        "reboot": lambda s: s["down"],
        # the verify phase as the host's marker records it (its re-scan is a slow task with engine host)
        "verify": lambda s: (fields(sim, s["name"])["marker"] or {}).get("phase") == "verify",
    }
    runs = [{"hosts": [SIG_HOSTS[p]], "engine": "host" if p == "verify" else "controller"} for p in phases]
    proc, out = start(tmp_path, sim, depots, runs, "sigterm")
    sent = {}
    try:
        for p in phases:
            host = SIG_HOSTS[p]
            pid = wait_until(lambda: triggers[p](sim.state(host)) and deploy_module_pid(proc.pid), 120,
                             "phase %s on %s" % (p, host))
            os.kill(pid, signal.SIGTERM)
            sent[p] = pid
            wait_until(lambda: deploy_module_pid(proc.pid) != pid, 120, "the module of %s to end" % host)
    finally:
        results = finish(proc, out, sim)
    for p, r in zip(phases, results):
        assert r.get("failed") and r["error_kind"] == "cancelled", (p, {k: r.get(k) for k in (
            "msg", "changed", "rc", "module_stderr", "module_stdout")})
        assert "cancelled (SIGTERM received) before the %s phase" % SIG_HONOURED[p] in r["msg"], (p, r["msg"])
        st = sim.state(SIG_HOSTS[p])
        assert st["maintenance"] is False and st["http_client_enabled"] is False, (p, st)   # put back
        msgs = [e["message"] for e in logged_events(sim, SIG_HOSTS[p])]
        assert msgs[-1].startswith("fleetpatch.esxi: deploy FAILED on %s: cancelled" % SIG_HOSTS[p]), msgs
        assert fields(sim, SIG_HOSTS[p])["lock"] is None
    sim.clear_faults()

    # 2b. SIGTERM to ansible-playbook itself during the install: forwarded to the module, which stops at the next
    # safe point, puts the host back and records the outcome (the playbook dies without writing its results)
    # (ansible-core 2.19+: workers in their own session pass the signal to the module; older ones do not)
    sigterm_main = _ansible_core() >= (2, 19)
    rerun_hosts = [h for h in ALL_HOSTS if sigterm_main or h != "c-sig-main"]
    if sigterm_main:
        sim.fault("c-sig-main", "slow_tasks", seconds=2.0)
        proc, _out = start(tmp_path, sim, depots, [{"hosts": ["c-sig-main"]}], "sigterm-main")
        _sigterm_ansible_playbook(sim, proc)
    sim.clear_faults()

    # 3. three runs on one host at once (slow tasks: the winner holds the host for 12 s or more): X and Y do not
    # wait (lock_timeout 0), Z waits. Exactly one changes the host; a run that lost fails naming the winner.
    sim.fault("c-conc", "slow_tasks", seconds=6.0)
    names = {"X": 0, "Y": 0, "Z": 120}
    procs = {n: start(tmp_path, sim, depots, [{"hosts": ["c-conc"], "run_id": "campaign-" + n, "lock_timeout": t}],
                      "conc-" + n) for n, t in names.items()}
    res = {n: finish(*procs[n], sim)[0] for n in names}
    winners = [n for n, r in res.items() if r.get("changed")]
    assert len(winners) == 1, {n: r.get("msg") for n, r in res.items()}
    won = "campaign-" + winners[0]
    losers = [n for n, r in res.items() if r.get("failed")]
    assert losers and all(res[n]["error_kind"] == "host_locked" and "run %s" % won in res[n]["msg"]
                          for n in losers), {n: res[n].get("msg") for n in losers}
    assert not res["Z"].get("failed"), res["Z"].get("msg")          # it waited, then found the host patched
    msgs = [e["message"] for e in logged_events(sim, "c-conc")]
    assert [m.split(":")[1].strip().split(" on ")[0] for m in msgs] == ["deploy started", "deploy finished"], msgs
    assert won in msgs[0]
    sim.clear_faults()

    # 4. cancel the way AWX does: ansible-runner, private data dir, cancel callback (SIGKILL to the group)
    import ansible_runner
    sim.fault("c-runner", "slow_tasks", seconds=3.0)
    pdd = tmp_path / "runner"
    (pdd / "env").mkdir(parents=True)
    data = _vars(tmp_path, sim, depots, [{"hosts": ["c-runner"]}], "runner")
    env = _env(tmp_path, sim)
    (pdd / "env" / "envvars").write_text(json.dumps({k: env[k] for k in (
        "ANSIBLE_CONFIG", "ANSIBLE_HOME", "ANSIBLE_LOCAL_TEMP", "ANSIBLE_REMOTE_TEMP", "ANSIBLE_PYTHON_INTERPRETER",
        "REQUESTS_CA_BUNDLE", "PATH")}))
    (pdd / "env" / "settings").write_text(json.dumps({"pexpect_timeout": 0.2}))    # poll the callback often
    r = ansible_runner.run(private_data_dir=str(pdd), playbook=os.path.join(PLAYBOOKS, "deploy_campaign.yml"),
                           extravars=data, quiet=True,
                           cancel_callback=lambda: bool(sim.state("c-runner")["maintenance"]))
    assert r.status == "canceled"
    # the module outlived its controller: it finishes the host, records the outcome, releases the lock
    wait_until(lambda: fields(sim, "c-runner")["lock"] is None and not ours_running(pdd), 120, "the orphan's end")
    assert_converged(sim, "c-runner")
    msgs = [e["message"] for e in logged_events(sim, "c-runner")]
    assert msgs[-1].startswith("fleetpatch.esxi: deploy finished on c-runner: changed, rebooted; the controller "
                               "was lost"), msgs
    sim.clear_faults()

    # 5. ONE plain re-run over every host; then every host is patched, out of maintenance mode, firewall closed
    wait_until(lambda: not sim.state("c-reboot")["down"], 30, "c-reboot to boot")
    res = play(tmp_path, sim, depots, [{"hosts": rerun_hosts}], "rerun")
    assert not res[0].get("failed"), res[0].get("msg")
    for h in rerun_hosts:
        assert_converged(sim, h)
    assert ours_running(tmp_path) == []


def _ansible_core():
    from ansible.release import __version__
    return tuple(int(x) for x in __version__.split(".")[:2])


def _sigterm_ansible_playbook(sim, proc):
    try:
        wait_until(lambda: sim.state("c-sig-main")["maintenance"] and deploy_module_pid(proc.pid), 120,
                   "the install on c-sig-main")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    wait_until(lambda: fields(sim, "c-sig-main")["lock"] is None, 120, "the module on c-sig-main to end")
    f = fields(sim, "c-sig-main")
    assert f["marker"]["phase"] == "cancelled" and "SIGTERM received" in f["marker"]["outcome"], f["marker"]
    st = sim.state("c-sig-main")
    assert st["maintenance"] is False and st["http_client_enabled"] is False, st
    msgs = [e["message"] for e in logged_events(sim, "c-sig-main")]
    assert msgs[-1].startswith("fleetpatch.esxi: deploy FAILED on c-sig-main: cancelled (SIGTERM received)"), msgs


def test_standalone_esxi_fault_then_rerun(depots, tmp_path):
    """ESXi without vCenter: lock and marker in state_dir; a task error, then a plain re-run."""
    sim = Simulator(mode="esx", reboot_down=0.5).start()
    try:
        host = "esxi-01.sim.local"
        sim.fault(host, "task_error", method="InstallV2", text="Simulated failure")
        state_dir = str(tmp_path / "state")
        res = play(tmp_path, sim, depots, [{"hosts": [host]}], "esx-fault", state_dir=state_dir)
        assert res[0]["failed"] and "Simulated failure" in res[0]["msg"]
        assert sim.state(host)["maintenance"] is True
        files = os.listdir(state_dir)
        assert any(f.endswith(".json") for f in files), files
        sim.clear_faults()
        res = play(tmp_path, sim, depots, [{"hosts": [host]}], "esx-rerun", state_dir=state_dir)
        assert not res[0].get("failed"), res[0].get("msg")
        assert res[0]["hosts"][0]["converge"]["adopted"] is True
        st = sim.state(host)
        assert V_80U2 in st["current_vibs"] and st["maintenance"] is False and st["http_client_enabled"] is False
    finally:
        sim.stop()
