# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""depot_serve logic (_depot_serve.py): a real detached server process on 127.0.0.1 / ::1, fetched with urllib."""

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
    assert not os.path.exists(str(state / "depot.json"))
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
    with open(str(state / "depot-access.log")) as f:
        assert "GET /index.xml" in f.read()
    stopped = ds.depot_serve(dict(p, state="stopped"))
    assert stopped["changed"] is True and stopped["state"] == "stopped" and stopped["pid"] == r["pid"]
    assert os.listdir(str(state)) == []
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
    other = tmp_path / "other"
    other.mkdir()
    (other / "index.xml").write_text("<other/>")
    r2 = ds.depot_serve(params(port=port, path=str(other)))
    assert r2["changed"] is True and r2["pid"] != r["pid"]
    assert get(r2["index_url"])[2] == b"<other/>"
    # the old process is gone
    with pytest.raises(OSError):
        os.kill(r["pid"], 0)
        time.sleep(0.5)
        os.kill(r["pid"], 0)


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
    _root, state, params = site
    p = params()
    r = ds.depot_serve(p)
    ds._terminate({"pid": r["pid"], "server_id": json.load(open(str(state / "depot.json")))["server_id"]})
    # the state file now names a dead server: start again (not "already running")
    r2 = ds.depot_serve(p)
    assert r2["changed"] is True and r2["pid"] != r["pid"]
    # a state file pointing at an unrelated live process: that process is left alone
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        st = json.load(open(str(state / "depot.json")))
        ds._terminate(st)
        st["pid"] = sleeper.pid
        with open(str(state / "depot.json"), "w") as f:
            json.dump(st, f)
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
    assert not (state / "short.json").exists()


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
    with pytest.raises(InputError, match="port"):
        ds.depot_serve(params(port=70000))
    with pytest.raises(InputError, match="path is required"):
        ds.depot_serve(params(path=None))
