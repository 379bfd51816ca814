# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""depot_serve (_depot/serve.py + _clients/depot_server.py): a real detached server process on 127.0.0.1 / ::1,
fetched with urllib; servers keyed by name and folder, leases per run, stale runs cleaned up."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients import depot_server as srv
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import serve as ds
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError

pytestmark = pytest.mark.network


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "depot"
    (root / "vib20" / "x").mkdir(parents=True)
    (root / "index.xml").write_text("<vendorList/>")
    (root / "vib20" / "x" / "a.vib").write_bytes(b"!<arch>\n" + b"v" * 5000)
    (tmp_path / "secret.txt").write_text("outside")
    os.symlink(str(tmp_path / "secret.txt"), str(root / "link.txt"))
    state = tmp_path / "state"
    started = []

    def params(**kw):
        p = dict(state="started", path=str(root), bind="127.0.0.1", port=0, url_host=None, name="depot",
                 state_dir=str(state), lifetime=300, access_log=True, timeout=15)
        p.update(kw)
        started.append(p)
        return p

    yield root, state, params
    for p in started:
        try:
            ds.depot_serve(dict(p, state="stopped"))
        except InputError:
            pass


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def status_of(url):
    try:
        return get(url)[0]
    except urllib.error.HTTPError as e:
        return e.code


def test_start_serve_stop_idempotent(site):
    root, state, params = site
    p = params()
    assert ds.depot_serve(p, check_mode=True)["changed"] is True
    assert not os.path.exists(str(state))
    r = ds.depot_serve(p)
    assert r["changed"] is True and r["state"] == "started" and r["port"] > 0
    assert r["url"] == "http://127.0.0.1:%d/" % r["port"] and r["index_url"] == r["url"] + "index.xml"
    assert get(r["index_url"]) == (200, "text/xml", b"<vendorList/>")
    code, ctype, body = get(r["url"] + "vib20/x/a.vib")
    assert code == 200 and ctype == "application/octet-stream" and len(body) == 5008
    again = ds.depot_serve(p)
    assert again["changed"] is False and again["pid"] == r["pid"] and again["port"] == r["port"]
    assert ds.depot_serve(p, check_mode=True)["changed"] is False
    # files only: no listings, nothing outside the folder
    assert status_of(r["url"] + "vib20/") == 403
    assert status_of(r["url"] + "link.txt") == 404
    assert status_of(r["url"] + "../secret.txt") == 404
    key = ds.server_key("depot", os.path.realpath(str(root)))
    assert oct(os.stat(str(state)).st_mode & 0o777) == "0o700"
    for suffix in (".json", ".lock"):
        assert oct(os.stat(str(state / (key + suffix))).st_mode & 0o777) == "0o600"
    with open(str(state / (key + "-access.log"))) as f:
        assert "GET /index.xml" in f.read()
    stopped = ds.depot_serve(dict(p, state="stopped"))
    assert stopped["changed"] is True and stopped["state"] == "stopped" and stopped["pid"] == r["pid"]
    assert [n for n in os.listdir(str(state)) if not n.endswith(".lock")] == []
    with pytest.raises(urllib.error.URLError):
        get(r["index_url"])
    assert ds.depot_serve(dict(p, state="stopped"))["changed"] is False


def test_changed_settings_restart_and_fixed_port(site, tmp_path):
    root, state, params = site
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = ds.depot_serve(params(port=port))
    assert r["port"] == port
    r2 = ds.depot_serve(params(port=0, lifetime=200))       # other settings, same run: restarted
    assert r2["changed"] is True and r2["pid"] != r["pid"]
    assert not wait_gone(r["pid"])


def test_two_folders_under_one_name_are_two_servers(site, tmp_path):
    root, state, params = site
    other = tmp_path / "other"
    other.mkdir()
    (other / "index.xml").write_text("<other/>")
    a = ds.depot_serve(params())
    b = ds.depot_serve(params(path=str(other)))
    assert b["changed"] is True and b["pid"] != a["pid"]
    assert get(a["index_url"])[2] == b"<vendorList/>" and get(b["index_url"])[2] == b"<other/>"
    # stopping one folder leaves the other running
    assert ds.depot_serve(params(state="stopped", path=str(other)))["changed"] is True
    assert get(a["index_url"])[0] == 200
    with pytest.raises(urllib.error.URLError):
        get(b["index_url"])


def dead_owner():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return {"pid": p.pid, "start": "1"}


def test_another_run_never_stops_a_server_it_does_not_own_alone(site, monkeypatch):
    _root, state, params = site
    a = ds.depot_serve(params(run_id="run-A"))
    b = ds.depot_serve(params(run_id="run-B"))
    assert b["changed"] is False and b["pid"] == a["pid"] and b["joined"] is True
    assert b["runs"] == ["run-A", "run-B"]
    # run B ends: the server stays for run A
    stopped_b = ds.depot_serve(params(run_id="run-B", state="stopped"))
    assert stopped_b["changed"] is False and stopped_b["still_used_by"] == ["run-A"]
    assert get(a["index_url"])[0] == 200
    # a third run asks for other settings while run A uses it: refused, naming run A
    with pytest.raises(ds.ServeError, match="used by other runs \\(run-A\\)"):
        ds.depot_serve(params(run_id="run-C", lifetime=100))
    assert ds.depot_serve(params(run_id="run-A", state="stopped"))["changed"] is True
    with pytest.raises(urllib.error.URLError):
        get(a["index_url"])


def test_a_cancelled_runs_server_is_cleaned_by_the_next_run(site, tmp_path, monkeypatch):
    root, state, params = site
    monkeypatch.setattr(srv, "run_owner", dead_owner)
    gone = ds.depot_serve(params())                             # its ansible-playbook process is gone
    with open(str(state / "depot.json")) as f:                  # <name>.json: the last server of that name
        assert json.load(f)["pid"] == gone["pid"]
    kept = ds.depot_serve(params(name="kept", run_id="workflow-42"))   # a named lease outlives its process
    monkeypatch.undo()
    other = tmp_path / "other"
    other.mkdir()
    nxt = ds.depot_serve(params(path=str(other), name="next"))  # any later call cleans up
    assert nxt["changed"] is True
    assert not wait_gone(gone["pid"])
    key = ds.server_key("depot", os.path.realpath(str(root)))
    assert not (state / (key + ".json")).exists() and not (state / "depot.json").exists()
    assert get(kept["index_url"])[0] == 200
    assert ds.depot_serve(params(name="kept", run_id="workflow-42", state="stopped"))["changed"] is True
    assert srv.owner_alive(srv.run_owner())                     # this test's own run is alive


def test_a_cancelled_runs_server_ends_on_its_own(site, monkeypatch):
    root, state, params = site
    monkeypatch.setattr(srv, "run_owner", dead_owner)
    named = ds.depot_serve(params(name="named", run_id="wf-1"))  # a named lease keeps its server
    gone = ds.depot_serve(params())                             # no other call follows: the watchdog ends it
    monkeypatch.undo()
    key = ds.server_key("depot", os.path.realpath(str(root)))
    assert (state / (key + ".json")).exists()                   # nobody cleaned up: the server ends by itself
    assert not wait_gone(gone["pid"], timeout=15)
    assert not srv.server_alive(str(state / (key + ".alive")))
    assert get(named["index_url"])[0] == 200
    # the next call cleans the files the dead server left
    ds.depot_serve(params(state="stopped"))
    assert not (state / (key + ".json")).exists()
    assert ds.depot_serve(params(name="named", run_id="wf-1", state="stopped"))["changed"] is True


def test_run_owner_is_the_outermost_ansible_process(tmp_path):
    # a fake "ansible-playbook" parent forking a worker (same command line) that runs the probe
    probe = tmp_path / "probe.py"
    probe.write_text("import json, sys\nsys.path[:0] = %r\n"
                     "from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients import depot_server\n"
                     "print(json.dumps(depot_server.run_owner()))\n" % (sys.path,))
    fake = tmp_path / "ansible-playbook"
    fake.write_text("import os, subprocess, sys\n"
                    "if os.fork() == 0:\n"
                    "    r = subprocess.run([sys.executable, %r], stdout=subprocess.PIPE)\n"
                    "    sys.stdout.write('%%d %%s' %% (os.getppid(), r.stdout.decode()))\n"
                    "    sys.stdout.flush()\n"
                    "    os._exit(0)\n"
                    "os.wait()\n" % str(probe))
    out = subprocess.run([sys.executable, str(fake)], stdout=subprocess.PIPE, timeout=60).stdout.decode()
    top, owner = out.split(" ", 1)
    assert json.loads(owner)["pid"] == int(top)


def wait_gone(pid, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline and status_alive(pid):
        time.sleep(0.05)
    return status_alive(pid)


def test_port_in_use_is_a_clear_error(site):
    _root, _state, params = site
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(ds.ServeError, match="cannot listen on 127.0.0.1 port %d" % port):
            ds.depot_serve(params(port=port))


def test_ipv6_dual_stack(site):
    _root, _state, params = site
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    r = ds.depot_serve(params(bind="::", name="v6", url_host="::1"))
    assert r["url"] == "http://[::1]:%d/" % r["port"]
    assert get(r["index_url"])[0] == 200
    assert get("http://127.0.0.1:%d/index.xml" % r["port"])[0] == 200
    r4 = ds.depot_serve(params(bind="::1", name="v6only"))
    assert r4["url"] == "http://[::1]:%d/" % r4["port"]
    with pytest.raises(urllib.error.URLError):
        get("http://127.0.0.1:%d/index.xml" % r4["port"])


def test_stale_state_and_a_recycled_pid_are_never_killed(site):
    root, state, params = site
    p = params()
    r = ds.depot_serve(p)
    key = ds.server_key("depot", os.path.realpath(str(root)))
    alive = str(state / (key + ".alive"))
    assert srv.terminate(r["pid"], alive) is True
    # the state file now names a dead server: start again (not "already running")
    r2 = ds.depot_serve(p)
    assert r2["changed"] is True and r2["pid"] != r["pid"]
    # a state file pointing at an unrelated live process: that process is left alone
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        srv.terminate(r2["pid"], alive)
        st = json.load(open(str(state / (key + ".json"))))
        st["pid"] = sleeper.pid
        with open(str(state / (key + ".json")), "w") as f:
            json.dump(st, f)
        assert srv.terminate(sleeper.pid, alive) is False
        assert ds.depot_serve(dict(p, state="stopped"))["changed"] is True
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_lifetime_ends_the_server(site):
    _root, state, params = site
    r = ds.depot_serve(params(lifetime=1, name="short"))
    deadline = time.time() + 10
    while time.time() < deadline and status_alive(r["pid"]):
        time.sleep(0.1)
    assert not status_alive(r["pid"])
    # the leftover state is cleaned by stop, and a new start works
    assert ds.depot_serve(params(lifetime=1, name="short", state="stopped"))["changed"] is True
    assert not [n for n in os.listdir(str(state)) if n.startswith("short-") and n.endswith(".json")]


def status_alive(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except OSError:
        pass
    try:
        os.kill(pid, 0)
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_bad_options(site, tmp_path):
    _root, _state, params = site
    with pytest.raises(InputError, match="not a folder"):
        ds.depot_serve(params(path=str(tmp_path / "missing")))
    with pytest.raises(InputError, match="name"):
        ds.depot_serve(params(name="../x"))
    with pytest.raises(InputError, match="listen_port"):
        ds.depot_serve(params(port=70000))
    with pytest.raises(InputError, match="listen_port"):
        ds.depot_serve(dict(params(), listen_port=-1))
    with pytest.raises(InputError, match="path is required"):
        ds.depot_serve(params(path=None))
