# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller-side session cache (issue 14, ``_clients/session_cache.py``) against the vCenter simulator: real
SOAP through pyVmomi, real REST (``/rest`` and ``/api``), real module processes. SOAP logins and logouts are
counted by the simulator (``GET /_sim/stats``), ``/api`` logins from its exchange log ($ESXISIM_VLCM_LOG), which is
also validated against VMware's spec at the end of the module."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.session_cache import SessionCache
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vapi import VapiClient
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import VlcmClient
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import AuthenticationError
from tests.integration.vlcm.vlcm_helpers import TOPOLOGY, read_log, validate_log

pytestmark = [pytest.mark.simulator, pytest.mark.network]

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
BAD_PASSWORD = "Wr0ng-Passw0rd-xyz"
HOST = "esxi-21.sim.local"


@pytest.fixture(scope="module")
def api_log(tmp_path_factory):
    return str(tmp_path_factory.mktemp("sessions-log") / "exchanges.jsonl")


@pytest.fixture(scope="module")
def sim(api_log, sim_factory):
    old = os.environ.get("ESXISIM_VLCM_LOG")
    os.environ["ESXISIM_VLCM_LOG"] = api_log     # read by the simulator process at start
    try:
        s = sim_factory("vc", topology=TOPOLOGY, reboot_down=0.5)
    finally:
        if old is None:
            os.environ.pop("ESXISIM_VLCM_LOG", None)
        else:
            os.environ["ESXISIM_VLCM_LOG"] = old
    yield s
    _count, problems = validate_log(api_log)    # every /api exchange of the module is VMware's API
    assert not problems, problems[:10]


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / "cache" / "sessions")     # does not exist yet: the cache creates it


def params(sim, cache_dir, **over):
    p = {"hostname": sim.host, "port": sim.port, "username": sim.user, "password": sim.password,
         "validate_certs": True, "ca_path": sim.ca_file, "session_cache": True, "session_cache_dir": cache_dir}
    p.update(over)
    return p


def stats(sim, reset=False):
    return sim._control("POST" if reset else "GET", "/_sim/stats/reset" if reset else "/_sim/stats",
                        {} if reset else None)


def api_logins(log):
    return sum(1 for ex in read_log(log) if ex["method"] == "POST" and ex["url"].split("?")[0] == "/api/session")


def cached_ids(sim, cache_dir, password=None):
    """The session ids the cache holds for the simulator's user (read with the key, as a client would)."""
    cache = SessionCache(cache_dir)
    out = {}
    for kind in ("soap", "rest", "api"):
        key = cache.key(kind, "%s:%s" % (sim.host, sim.port), sim.user, password or sim.password)
        sid = cache.peek(key) if os.path.isdir(cache_dir) else None
        if sid:
            out[kind] = sid
    return out


def run_module(name, args, env=None):
    """One real module process (the module file run by Python with its arguments file, as Ansible runs it)."""
    path = os.path.join(ROOT, "plugins", "modules", name + ".py")
    fd, argfile = tempfile.mkstemp(prefix="%s-args-" % name, suffix=".json")    # 0600: it holds the password
    with os.fdopen(fd, "w") as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, fh)
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, ".collections"), ROOT]))
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, path, argfile], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=full_env, timeout=120, cwd=ROOT)
    os.unlink(argfile)
    text = proc.stdout.decode() + proc.stderr.decode()
    return json.loads(proc.stdout.decode()), text


def test_two_clients_one_soap_login_then_logout(sim, cache_dir):
    stats(sim, reset=True)
    with VSphereClient.from_params(params(sim, cache_dir)) as c:
        first = [h.name for h in c.find_hosts()]
        assert c.logins == 1 and not c.session_reused
    with VSphereClient.from_params(params(sim, cache_dir)) as c:
        assert [h.name for h in c.find_hosts()] == first
        assert c.logins == 0 and c.session_reused
    s = stats(sim)
    assert s["logins"] == 1 and s["logouts"] == 0          # the run kept its session for the next one
    # file modes: directory 0700, entry 0600, and the session id is not in the file
    sid = cached_ids(sim, cache_dir)["soap"]
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700
    names = [n for n in os.listdir(cache_dir) if n.endswith(".session")]
    assert len(names) == 1
    path = os.path.join(cache_dir, names[0])
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
    with open(path, "rb") as fh:
        raw = fh.read()
    assert sid.encode() not in raw and sim.user.encode() not in raw and str(sim.port).encode() not in raw
    # the logout ends the session on the server and deletes the file
    c = VSphereClient.from_params(dict(params(sim, cache_dir)), )
    assert c.logout() is True
    assert stats(sim)["logouts"] == 1 and not [n for n in os.listdir(cache_dir) if n.endswith(".session")]
    probe = VSphereClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file, connect=False)
    stub, _si, content = probe._bare(10)
    assert probe._adopt(stub, content, sid) is False      # the server no longer knows the old session
    stub.DropConnections()


def test_wrong_password_never_reuses_the_cached_session(sim, cache_dir):
    VSphereClient.from_params(params(sim, cache_dir)).close()
    vapi = VapiClient.from_params(params(sim, cache_dir))
    vapi.close()
    before = stats(sim)["logins"]
    with pytest.raises(AuthenticationError) as ei:
        VSphereClient.from_params(params(sim, cache_dir, password=BAD_PASSWORD))
    assert stats(sim)["logins"] == before + 1              # it really tried to log in (and was refused)
    with pytest.raises(AuthenticationError):
        VapiClient.from_params(params(sim, cache_dir, password=BAD_PASSWORD))
    ids = cached_ids(sim, cache_dir)
    assert set(ids) == {"soap", "rest"} and not cached_ids(sim, cache_dir, password=BAD_PASSWORD)
    for sid in list(ids.values()) + [BAD_PASSWORD, sim.password]:
        assert sid not in str(ei.value) and sid not in json.dumps(ei.value.to_result())


def test_dead_cached_session_logs_in_again(sim, cache_dir):
    p = params(sim, cache_dir)
    VSphereClient.from_params(p).close()
    VlcmClient.from_params(p).connect().close()
    old = cached_ids(sim, cache_dir)
    # vCenter forgets them (a restart, an administrator, the idle timeout): log them out behind the cache's back
    probe = VSphereClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file, connect=False)
    stub, _si, content = probe._bare(10)
    probe._end(stub, content, old["soap"])
    stub.DropConnections()
    killer = VlcmClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file)
    killer._logout_id(old["api"])
    stats(sim, reset=True)
    with VSphereClient.from_params(p) as c:
        assert c.find_hosts() and c.logins == 1 and not c.session_reused
    assert stats(sim)["logins"] == 1
    with VlcmClient.from_params(p) as v:                 # optimistic reuse: the 401 drops it, one login again
        assert v.find_cluster("IMG")["name"] == "IMG" and v.logins == 1
    new = cached_ids(sim, cache_dir)
    assert new["soap"] != old["soap"] and new["api"] != old["api"]


def test_concurrent_processes_log_in_once(sim, cache_dir):
    script = (
        "import json, sys\n"
        "from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient\n"
        "c = VSphereClient.from_params(json.loads(sys.argv[1]))\n"
        "print(len(c.find_hosts()), c.logins)\n"
        "c.close()\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, ".collections"), ROOT]))
    stats(sim, reset=True)
    procs = [subprocess.Popen([sys.executable, "-c", script, json.dumps(params(sim, cache_dir))], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(5)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1].decode()[-2000:] for o in outs]
    assert sorted(o[0].decode().split()[1] for o in outs) == ["0", "0", "0", "0", "1"]
    assert stats(sim)["logins"] == 1


def test_module_runs_share_one_login_and_the_logout_module_ends_them(sim, cache_dir, api_log):
    """Two runs of a SOAP+vAPI module and two of a vLCM (/api) module: one login per kind; vmware_session logs
    them out and deletes the files; no session id in any result or output."""
    args = params(sim, cache_dir)
    stats(sim, reset=True)
    api_before = api_logins(api_log)
    texts = []
    for _ in range(2):
        res, text = run_module("esxi_host_tag", dict(args, esxi_hostname=[HOST], state="absent"))
        assert not res.get("failed"), res
        texts.append(text)
        res, text = run_module("esxi_cluster_image_info", dict(args, cluster="IMG"))
        assert not res.get("failed") and res["compliance"]["hosts"], res
        texts.append(text)
    assert stats(sim)["logins"] == 1 and stats(sim)["logouts"] == 0
    assert api_logins(api_log) - api_before == 1
    ids = cached_ids(sim, cache_dir)
    assert set(ids) == {"soap", "rest", "api"}
    # check mode says what it would end, changes nothing
    logout = dict(args, state="absent", session_cache=False)
    res, text = run_module("vmware_session", dict(logout, _ansible_check_mode=True))
    assert res["changed"] and [s["logged_out"] for s in res["sessions"]] == [False, False, False]
    texts.append(text)
    res, text = run_module("vmware_session", logout)
    texts.append(text)
    assert res["changed"] and [(s["api"], s["cached"], s["logged_out"]) for s in res["sessions"]] == [
        ("soap", True, True), ("rest", True, True), ("api", True, True)]
    assert stats(sim)["logouts"] == 1 and not os.listdir(cache_dir)
    deletes = [ex for ex in read_log(api_log) if ex["method"] == "DELETE" and ex["url"] == "/api/session"]
    assert deletes and deletes[-1]["status"] == 204
    res, text = run_module("vmware_session", logout)                 # nothing left: nothing to do
    assert not res["changed"] and not any(s["cached"] for s in res["sessions"])
    texts.append(text)
    blob = "\n".join(texts)
    for sid in ids.values():
        assert sid not in blob
    assert sim.password not in blob


def test_cache_off_logs_in_and_out_every_run(sim, cache_dir, monkeypatch):
    monkeypatch.delenv("FLEETPATCH_SESSION_CACHE", raising=False)
    args = params(sim, cache_dir, session_cache=False)
    stats(sim, reset=True)
    for _ in range(2):
        res, _text = run_module("esxi_host_tag", dict(args, esxi_hostname=[HOST], state="absent"))
        assert not res.get("failed"), res
    s = stats(sim)
    assert s["logins"] == 2 and s["logouts"] == 2 and not os.path.exists(cache_dir)


def test_expired_entry_is_logged_out_and_replaced(sim, cache_dir):
    p = params(sim, cache_dir, session_cache_ttl=1)
    VSphereClient.from_params(p).close()
    old = cached_ids(sim, cache_dir)["soap"]
    time.sleep(1.2)
    stats(sim, reset=True)
    with VSphereClient.from_params(p) as c:
        assert c.logins == 1 and not c.session_reused
    s = stats(sim)
    assert s["logouts"] == 1 and s["logins"] == 1 and cached_ids(sim, cache_dir)["soap"] != old


@pytest.mark.slow
def test_playbook_per_host_tasks_log_in_once(sim, cache_dir, tmp_path):
    """The user path: a per-host task delegated to the controller, 3 inventory hosts, 3 forks, the cache set with
    the action group's module_defaults; -vvv output without the session id; then vmware_session logs out."""
    from tests.integration.tag.tag_sim_helpers import run_playbook
    conn = params(sim, cache_dir)
    hosts = ["esxi-21.sim.local", "esxi-22.sim.local", "esxi-31.sim.local"]
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"children": {"esxi_hosts": {"hosts": {h: None for h in hosts}}}}}))
    play = [{"name": "per host", "hosts": "esxi_hosts", "gather_facts": False,
             "module_defaults": {"group/fleetpatch.esxi.vmware": conn},
             "tasks": [{"name": "untag", "fleetpatch.esxi.esxi_host_tag": {
                 "esxi_hostname": ["{{ inventory_hostname }}"], "state": "absent"}, "delegate_to": "localhost"}]}]
    logout = [{"name": "logout", "hosts": "localhost", "gather_facts": False,
               "module_defaults": {"group/fleetpatch.esxi.vmware": conn},
               "tasks": [{"name": "end", "fleetpatch.esxi.vmware_session": {"state": "absent"},
                          "register": "out"},
                         {"name": "check", "ansible.builtin.assert": {"that": [
                             "out.changed", "out.sessions | selectattr('logged_out') | list | length == 2"]}}]}]
    (tmp_path / "play.json").write_text(json.dumps(play))
    (tmp_path / "logout.json").write_text(json.dumps(logout))
    stats(sim, reset=True)
    rc, text = run_playbook(tmp_path, ["-i", str(inventory), str(tmp_path / "play.json"), "-f", "3", "-vvv"])
    assert rc == 0, text[-4000:]
    assert stats(sim)["logins"] == 1 and stats(sim)["logouts"] == 0
    ids = cached_ids(sim, cache_dir)
    assert set(ids) == {"soap", "rest"}
    rc, out = run_playbook(tmp_path, ["-i", "localhost,", "-c", "local", str(tmp_path / "logout.json"), "-vvv"])
    assert rc == 0, out[-4000:]
    assert stats(sim)["logouts"] == 1 and not cached_ids(sim, cache_dir)
    for sid in ids.values():
        assert sid not in text and sid not in out


def test_esxi_reboot_kills_the_cached_session_and_the_client_logs_in_again(sim_factory, cache_dir):
    """ESXi directly: a reboot ends every session (hostd restarts). The client waiting for the host logs in again
    through the cache, which then holds the new session for the next run."""
    esx = sim_factory("esx", reboot_down=0.5)
    p = params(esx, cache_dir)
    with VSphereClient.from_params(p) as c:
        host = c.find_hosts()[0]
        assert c.enter_maintenance_mode(host)
        old = cached_ids(esx, cache_dir)["soap"]
        _new_host, info = c.reboot(host, force=False, timeout=60, poll_max=0.5)
        assert info["rebooted"] and info["reconnected"] and c.logins == 2
        c.exit_maintenance_mode(c.find_hosts()[0])
    new = cached_ids(esx, cache_dir)["soap"]
    assert new != old
    stats(esx, reset=True)
    with VSphereClient.from_params(p) as c:
        assert c.find_hosts() and c.session_reused and c.logins == 0
    assert stats(esx)["logins"] == 0
