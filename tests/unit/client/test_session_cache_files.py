# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The file logic of the session cache (``_clients/session_cache.py``): sealed entries keyed by the password,
modes, symlinks, expiry, the lock, the redactor. The server side is tests/integration/sessions."""

from __future__ import annotations

import os
import stat
import threading
import time

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients import session_cache as SC
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact

EP = "vc.example.com:443"
USER = "administrator@vsphere.local"
PW = "S3cret-Passw0rd!"


@pytest.fixture
def cache(tmp_path):
    return SC.SessionCache(str(tmp_path / "a" / "sessions"), ttl=60)


def entries(cache):
    return [n for n in os.listdir(cache.directory) if n.endswith(".session")]


class Server(object):
    """Counts logins and logouts; ``alive`` answers from the set of live ids."""

    def __init__(self, delay=0.0):
        self.live, self.logins, self.logouts, self.delay = set(), 0, [], delay
        self.lock = threading.Lock()

    def login(self):
        time.sleep(self.delay)
        with self.lock:
            self.logins += 1
            sid = "sess-%04d-%s" % (self.logins, "x" * 20)
            self.live.add(sid)
        return sid

    def alive(self, sid):
        return sid in self.live

    def logout(self, sid):
        self.logouts.append(sid)
        self.live.discard(sid)


def obtain(cache, server, password=PW, kind="soap"):
    return cache.obtain(cache.key(kind, EP, USER, password), server.login, server.alive, server.logout)


def test_seal_and_open_are_bound_to_the_password_and_the_kind():
    k = SC.CacheKey("soap", EP, USER, PW)
    blob = k.seal("abc-session-id", 1.0, 2.0)
    assert b"abc-session-id" not in blob and USER.encode() not in blob and b"vc.example.com" not in blob
    assert k.open(blob) == {"id": "abc-session-id", "created": 1.0, "expires": 2.0}
    other = SC.CacheKey("soap", EP, USER, PW + "x")
    assert other.name != k.name and other.open(blob) is None
    assert SC.CacheKey("rest", EP, USER, PW).name != k.name
    assert SC.CacheKey("soap", EP, "root", PW).name != k.name
    assert SC.CacheKey("soap", "vc2.example.com:443", USER, PW).name != k.name
    assert USER not in k.name and "vc.example.com" not in k.name
    tampered = bytearray(blob)
    i = blob.index(b'"data": "') + 10
    tampered[i] = ord("0") if tampered[i] != ord("0") else ord("1")
    assert k.open(bytes(tampered)) is None
    assert k.open(b"not json") is None and k.open(b"{}") is None
    with pytest.raises(ValueError):
        SC.CacheKey("ftp", EP, USER, PW)


def test_one_login_then_reuse_with_modes(cache):
    srv = Server()
    sid, reused = obtain(cache, srv)
    assert not reused and srv.logins == 1
    assert obtain(cache, srv) == (sid, True) and srv.logins == 1
    assert stat.S_IMODE(os.stat(cache.directory).st_mode) == 0o700
    names = entries(cache)
    assert len(names) == 1
    st = os.lstat(os.path.join(cache.directory, names[0]))
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert not [n for n in os.listdir(cache.directory) if n.endswith(".tmp")]
    # the id is a secret of the process from now on: the one redactor masks it in any text
    assert sid not in redact("the session %s failed" % sid)


def test_another_password_logs_in_and_never_reuses(cache):
    srv = Server()
    sid, _ = obtain(cache, srv)
    other, reused = obtain(cache, srv, password="an0ther-Passw0rd")
    assert other != sid and not reused and srv.logins == 2
    assert len(entries(cache)) == 2
    refused = Server()

    def bad_login():
        raise RuntimeError("login refused")
    with pytest.raises(RuntimeError):
        cache.obtain(cache.key("soap", EP, USER, "wrong"), bad_login, refused.alive)
    assert len(entries(cache)) == 2            # a refused login stores nothing
    assert obtain(cache, srv) == (sid, True)


def test_dead_session_logs_in_again_and_expired_one_is_logged_out(tmp_path):
    cache = SC.SessionCache(str(tmp_path / "s"), ttl=1)
    srv = Server()
    sid, _ = obtain(cache, srv)
    srv.live.clear()                             # vCenter restarted
    new, reused = obtain(cache, srv)
    assert new != sid and not reused and srv.logouts == []
    time.sleep(1.1)                              # expired: logged out, then a new login
    newer, reused = obtain(cache, srv)
    assert newer != new and not reused and srv.logouts == [new]


def test_unsafe_directory_and_entries(tmp_path, cache):
    # a group/other-readable directory of ours is tightened
    os.makedirs(cache.directory, mode=0o755)
    os.chmod(cache.directory, 0o755)
    srv = Server()
    sid, _ = obtain(cache, srv)
    assert stat.S_IMODE(os.stat(cache.directory).st_mode) == 0o700
    # an entry readable by others is never used, and removed
    path = os.path.join(cache.directory, entries(cache)[0])
    os.chmod(path, 0o644)
    new, reused = obtain(cache, srv)
    assert not reused and new != sid and stat.S_IMODE(os.lstat(path).st_mode) == 0o600
    # an entry that is a symlink is not followed: the target stays as it was, the link is replaced
    target = tmp_path / "elsewhere"
    target.write_bytes(b"keep me")
    os.unlink(path)
    os.symlink(str(target), path)
    newest, reused = obtain(cache, srv)
    assert not reused and target.read_bytes() == b"keep me" and not os.path.islink(path)
    # a cache directory that is a symlink is refused, naming it
    link = tmp_path / "link"
    os.symlink(cache.directory, str(link))
    with pytest.raises(SC.SessionCacheError) as ei:
        obtain(SC.SessionCache(str(link)), srv)
    assert str(link) in str(ei.value) and "symbolic link" in str(ei.value)


def test_concurrent_obtain_logs_in_once(cache):
    srv = Server(delay=0.2)
    got = []

    def worker():
        got.append(obtain(cache, srv))
    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert srv.logins == 1 and len({sid for sid, _r in got}) == 1
    assert sorted(r for _s, r in got) == [False] + [True] * 5


def test_peek_and_discard(cache):
    srv = Server()
    key = cache.key("api", EP, USER, PW)
    assert cache.peek(key) is None and not os.path.exists(cache.directory)    # nothing created by a look
    sid, _ = obtain(cache, srv, kind="api")
    assert cache.peek(key) == sid
    cache.discard(key, "another-id")            # someone stored a newer session: kept
    assert cache.peek(key) == sid
    cache.discard(key, sid)
    assert cache.peek(key) is None and os.listdir(cache.directory) == []


def test_options_and_environment(monkeypatch, tmp_path):
    for var in (SC.ENV_ENABLE, SC.ENV_DIR, SC.ENV_TTL):
        monkeypatch.delenv(var, raising=False)
    assert SC.cache_from_params({}) is None
    assert SC.cache_from_params({"session_cache": False}) is None
    c = SC.cache_from_params({"session_cache": True, "session_cache_dir": str(tmp_path), "session_cache_ttl": 5})
    assert c.directory == str(tmp_path) and c.ttl == 5
    monkeypatch.setenv(SC.ENV_ENABLE, "yes")
    monkeypatch.setenv(SC.ENV_DIR, str(tmp_path / "env"))
    monkeypatch.setenv(SC.ENV_TTL, "7")
    c = SC.cache_from_params({})
    assert c.directory == str(tmp_path / "env") and c.ttl == 7
    monkeypatch.setenv(SC.ENV_TTL, "soon")
    with pytest.raises(SC.InputError):
        SC.cache_from_params({})
    with pytest.raises(SC.InputError):
        SC.SessionCache(str(tmp_path), ttl=0)
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    assert SC.default_dir() == str(run / "fleetpatch.esxi-sessions")
    os.chmod(str(run), 0o755)                   # not private: the home cache instead
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert SC.default_dir() == str(tmp_path / "home" / ".cache" / "fleetpatch.esxi" / "sessions")
