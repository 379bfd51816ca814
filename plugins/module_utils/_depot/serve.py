# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: serve a depot folder over HTTP from the controller, as a detached background process.

``start(params, check_mode)`` writes a small standalone server script (Python standard library only:
``http.server`` with threads; IPv4 or IPv6, dual-stack for ``::``) next to a JSON state file, starts it in its own
session (it outlives the module) and waits until it answers. ``stop(params, check_mode)`` ends it and removes
the state, script and log files. Both are idempotent: a server that already runs with the same folder, address
and port is left alone; stopping what is not running changes nothing.

The state file names the server by a random id that is also on the server's command line, so a recycled process
id is never taken for the server (and never killed). The server serves files only (no directory listings, no
symlinks leading outside the folder), and exits on its own after ``lifetime`` seconds, a safety net for a play
that died before it could stop it. Breaking changes at any time.
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.fileutil import write_atomic
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import FleetpatchError, InputError

STATE_FORMAT = 1
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

SERVER_SOURCE = r'''# fleetpatch.esxi depot server (written by the depot_serve module; standard library only)
import argparse, json, os, signal, socket, sys, threading, time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

p = argparse.ArgumentParser()
p.add_argument("--root", required=True)
p.add_argument("--bind", required=True)
p.add_argument("--port", type=int, required=True)
p.add_argument("--ready", required=True)
p.add_argument("--lifetime", type=float, default=0)
p.add_argument("--server-id", required=True)
p.add_argument("--access-log", default="")
a = p.parse_args()
ROOT = os.path.realpath(a.root)
TYPES = {".xml": "text/xml", ".zip": "application/zip", ".vib": "application/octet-stream",
         ".json": "application/json", ".html": "text/html; charset=utf-8"}
log_lock = threading.Lock()
log = open(a.access_log, "a", buffering=1) if a.access_log else None


class Handler(SimpleHTTPRequestHandler):
    server_version = "fleetpatch-depot/1"
    sys_version = ""

    def send_head(self):
        full = SimpleHTTPRequestHandler.translate_path(self, self.path)
        real = os.path.realpath(full)
        if real != ROOT and not real.startswith(ROOT + os.sep):
            self.send_error(404, "File not found")
            return None
        return SimpleHTTPRequestHandler.send_head(self)

    def list_directory(self, path):
        self.send_error(403, "directory listing is disabled")
        return None

    def guess_type(self, path):
        return TYPES.get(os.path.splitext(path)[1].lower()) or "application/octet-stream"

    def log_message(self, fmt, *args):
        if log is not None:
            with log_lock:
                log.write("%s %s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), self.address_string(), fmt % args))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            try:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if a.bind == "::" else 1)
            except (OSError, AttributeError):
                pass
        ThreadingHTTPServer.server_bind(self)


family = socket.AF_INET6 if ":" in a.bind else socket.AF_INET
Server.address_family = family
try:
    httpd = Server((a.bind, a.port), partial(Handler, directory=ROOT))
except OSError as e:
    tmp = a.ready + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"error": "cannot listen on %s port %d: %s" % (a.bind, a.port, e.strerror or e)}, f)
    os.replace(tmp, a.ready)
    sys.exit(3)


def stop(*_):
    threading.Thread(target=httpd.shutdown, daemon=True).start()


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
if a.lifetime > 0:
    t = threading.Timer(a.lifetime, stop)
    t.daemon = True
    t.start()
tmp = a.ready + ".tmp"
with open(tmp, "w") as f:
    json.dump({"pid": os.getpid(), "port": httpd.server_address[1], "server_id": a.server_id}, f)
os.replace(tmp, a.ready)
try:
    httpd.serve_forever(poll_interval=0.25)
finally:
    httpd.server_close()
    try:
        os.unlink(a.ready)
    except OSError:
        pass
'''


class ServeError(FleetpatchError):
    """The depot server could not be started or stopped."""

    kind = "depot_serve"


# ---- state ---------------------------------------------------------------------------------------------
def default_state_dir():
    base = os.environ.get("XDG_RUNTIME_DIR")
    if not base or not os.path.isdir(base) or not os.access(base, os.W_OK):
        base = tempfile.gettempdir()
    return os.path.join(base, "fleetpatch-depot-serve-%d" % os.getuid())


def _paths(state_dir, name):
    base = os.path.join(state_dir, name)
    return {"state": base + ".json", "script": base + "-server.py", "ready": base + ".ready",
            "log": base + ".log", "access_log": base + "-access.log"}


def _read_state(path):
    try:
        with open(path) as f:
            st = json.load(f)
        return st if isinstance(st, dict) and st.get("format") == STATE_FORMAT else None
    except (OSError, ValueError):
        return None


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\x00", b" ").decode("utf-8", "replace")
    except OSError:
        pass
    try:  # not Linux (macOS controllers): ps
        out = subprocess.run(["ps", "-p", str(pid), "-o", "command="], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=10, check=False)
        return out.stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return ""


def _alive(st):
    """Whether the process of a state record runs and is our server (same server id on its command line)."""
    pid = st.get("pid")
    if not isinstance(pid, int) or pid <= 1:
        return False
    try:
        os.kill(pid, 0)
    except OSError as e:
        if e.errno != errno.EPERM:
            return False
    return ("--server-id %s" % st.get("server_id")) in _cmdline(pid)


def _answers(host, port, timeout=2.0):
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    for family, stype, proto, _cn, addr in infos:
        s = socket.socket(family, stype, proto)
        s.settimeout(timeout)
        try:
            s.connect(addr)
            return True
        except OSError:
            continue
        finally:
            s.close()
    return False


def _connect_host(bind):
    """Where the module checks that the server answers: loopback for wildcard addresses."""
    if bind in ("0.0.0.0", ""):
        return "127.0.0.1"
    if bind == "::":
        return "::1"
    return bind


def _url(host, port, path="/"):
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    return "http://%s:%d%s" % (host, port, path)


def _url_host(params):
    if params.get("url_host"):
        return params["url_host"]
    bind = params.get("bind") or "127.0.0.1"
    if bind in ("0.0.0.0", "::", ""):
        return socket.getfqdn()
    return bind


def _port(params):
    """The module option ``listen_port`` (``port`` accepted for callers of the library)."""
    port = params.get("listen_port")
    return params.get("port") if port is None else port


def _check(params):
    name = params.get("name") or "depot"
    if not _NAME_RE.match(name):
        raise InputError("name: %r must be letters, digits, '.', '_' or '-' (at most 64)" % (name,))
    port = _port(params)
    if port is None or not 0 <= int(port) <= 65535:
        raise InputError("listen_port: %r is not a TCP port (0 picks a free one)" % (port,))
    return name


def _result(st, params, changed, state):
    out = {"changed": changed, "state": state, "name": params.get("name") or "depot"}
    if st:
        out.update(url=st.get("url"), index_url=st.get("index_url"), pid=st.get("pid"), port=st.get("port"),
                   bind=st.get("bind"), root=st.get("root"), started_at=st.get("started_at"),
                   expires_at=st.get("expires_at"), state_file=st.get("state_file"))
    return out


def _same(st, root, bind, port, lifetime):
    return st.get("root") == root and st.get("bind") == bind and (port == 0 or st.get("port") == port) \
        and float(st.get("lifetime") or 0) == float(lifetime or 0)


# ---- start / stop --------------------------------------------------------------------------------------
def start(params, check_mode=False):
    name = _check(params)
    root = os.path.realpath(os.path.expanduser(params["path"]))
    if not os.path.isdir(root):
        raise InputError("path is not a folder", source=root)
    bind = params.get("bind") or "127.0.0.1"
    port = int(_port(params) or 0)
    lifetime = float(params.get("lifetime") or 0)
    state_dir = os.path.abspath(os.path.expanduser(params.get("state_dir") or default_state_dir()))
    paths = _paths(state_dir, name)
    st = _read_state(paths["state"])
    if st and _alive(st):
        if _same(st, root, bind, port, lifetime) and _answers(_connect_host(bind), st["port"]):
            return _result(st, params, False, "started")
        if check_mode:
            return _result(None, params, True, "started")
        _terminate(st)
    elif check_mode:
        return _result(None, params, True, "started")

    try:
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
    except OSError as e:
        raise ServeError("cannot create the state folder: %s" % (e.strerror or e), source=state_dir)
    for key in ("ready", "state"):
        _unlink(paths[key])
    with open(paths["script"], "w") as f:
        f.write(SERVER_SOURCE)
    server_id = uuid.uuid4().hex
    cmd = [sys.executable, paths["script"], "--root", root, "--bind", bind, "--port", str(port),
           "--ready", paths["ready"], "--lifetime", str(lifetime), "--server-id", server_id]
    if params.get("access_log", True):
        cmd += ["--access-log", paths["access_log"]]
    log = open(paths["log"], "ab")
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True,
                                start_new_session=True, cwd=root)
    except OSError as e:
        raise ServeError("cannot start the depot server: %s" % (e.strerror or e), source=root)
    finally:
        log.close()
    deadline = time.time() + float(params.get("timeout") or 15)
    ready = None
    while time.time() < deadline:
        if os.path.exists(paths["ready"]):
            try:
                with open(paths["ready"]) as f:
                    ready = json.load(f)
                break
            except (OSError, ValueError):
                pass
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if ready is None or ready.get("error"):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reason = (ready or {}).get("error")
        if not reason:
            reason = "it exited with status %s" % proc.returncode if ready is None and proc.returncode not in \
                (None, -9) else "it did not start within the timeout"
        tail = _tail(paths["log"])
        raise ServeError("the depot server did not start: %s" % reason, source=root, log=tail)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    real_port = int(ready["port"])
    base = _url(_url_host(params), real_port)
    st = {
        "format": STATE_FORMAT, "pid": proc.pid, "server_id": server_id, "root": root, "bind": bind,
        "port": real_port, "requested_port": port, "lifetime": lifetime, "url": base,
        "index_url": base + "index.xml", "started_at": now.isoformat(),
        "expires_at": (now + datetime.timedelta(seconds=lifetime)).isoformat() if lifetime else None,
        "script": paths["script"], "state_file": paths["state"],
    }
    write_atomic(paths["state"], json.dumps(st, indent=1, sort_keys=True), mode=0o600)
    if not _answers(_connect_host(bind), real_port, timeout=5):
        _terminate(st)
        _clean(paths)
        raise ServeError("the depot server started but does not answer on %s port %d" % (bind, real_port),
                         source=root)
    return _result(st, params, True, "started")


def _terminate(st, grace=5.0):
    pid = st.get("pid")
    if not _alive(st):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return False
    deadline = time.time() + grace
    while time.time() < deadline:
        if not _alive(st):
            break
        _reap(pid)
        time.sleep(0.05)
    else:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _reap(pid)
    return True


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except OSError:
        pass


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _clean(paths):
    for p in paths.values():
        _unlink(p)
        _unlink(p + ".tmp")


def _tail(path, size=2000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def stop(params, check_mode=False):
    name = _check(dict(params, port=0))
    state_dir = os.path.abspath(os.path.expanduser(params.get("state_dir") or default_state_dir()))
    paths = _paths(state_dir, name)
    st = _read_state(paths["state"])
    leftovers = [p for p in paths.values() if os.path.exists(p)]
    if st is None and not leftovers:
        return _result(None, params, False, "stopped")
    running = bool(st and _alive(st))
    if check_mode:
        return _result(st, params, True, "stopped")
    if running:
        _terminate(st)
    _clean(paths)
    return _result(st, params, True, "stopped")


def depot_serve(params, check_mode=False):
    if params.get("state") == "stopped":
        return stop(params, check_mode)
    if not params.get("path"):
        raise InputError("path is required with state=started")
    return start(params, check_mode)
