# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the depot HTTP server and the process helpers that start, find and stop it. Breaking changes at
any time.

Two halves, one file, standard library only:

* the **server** (``DepotHandler``, ``DepotHTTPServer``, ``serve()``, ``main()``): files only (no directory
  listings, nothing outside the folder, symlinks included), IPv4 or IPv6 (dual-stack for ``::``), an optional
  ``lifetime`` after which it exits on its own, and a watchdog that ends it once no run uses it any more (the
  ``ansible-playbook`` processes of its leases are gone: a cancelled or killed job). It runs as its own
  process: ``launch()`` writes this very file
  (``server_source()``) next to the state and executes it with the controller's Python, so the server never
  depends on the module's (temporary) AnsiballZ folder. While it runs, it holds an exclusive ``flock`` on its
  *alive* file: ``server_alive()`` asks the kernel, not a process id, so a recycled pid is never taken for the
  server.
* the **process helpers**: ``launch()`` (a double fork and ``execv``: the server leaves the module's session
  and outlives it; no ``subprocess``), ``terminate()``, ``answers()`` (TCP connect), ``run_owner()`` (the
  ``ansible-playbook``/``ansible-runner`` process the module runs under, with its start time) and
  ``owner_alive()`` (that very process still runs: same pid *and* start time).

This is the only code of the depot server that opens sockets or starts processes (the client layer); the state
and the decisions (which run uses which server, when to stop it) are in ``_depot/serve.py``.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import inspect
import json
import os
import signal
import socket
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional

TYPES = {".xml": "text/xml", ".zip": "application/zip", ".vib": "application/octet-stream",
         ".json": "application/json", ".html": "text/html; charset=utf-8"}
_OWNER_NAMES = ("ansible-playbook", "ansible-runner", "ansible", "ansible-navigator")


# ---- the server ---------------------------------------------------------------------------------------------
class DepotHandler(SimpleHTTPRequestHandler):
    """Files of the folder only: no listings, nothing whose real path leaves the folder."""

    server_version = "fleetpatch-depot/1"
    sys_version = ""
    root = "/"
    access_log = None
    log_lock = threading.Lock()

    def send_head(self) -> Any:
        full = SimpleHTTPRequestHandler.translate_path(self, self.path)
        real = os.path.realpath(full)
        if real != self.root and not real.startswith(self.root + os.sep):
            self.send_error(404, "File not found")
            return None
        return SimpleHTTPRequestHandler.send_head(self)

    def list_directory(self, path: Any) -> None:
        self.send_error(403, "directory listing is disabled")
        return None

    def guess_type(self, path: Any) -> str:
        return TYPES.get(os.path.splitext(str(path))[1].lower()) or "application/octet-stream"

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        if self.access_log is not None:
            with self.log_lock:
                self.access_log.write("%s %s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), self.address_string(),
                                                      format % args))


class DepotHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    dual_stack = False

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            try:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if self.dual_stack else 1)
            except (OSError, AttributeError):
                pass
        ThreadingHTTPServer.server_bind(self)


def _write_json(path: str, data: Dict[str, Any]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _runs_alive(state: Any) -> bool:
    """Whether a run still uses the server, by the leases of its state (see ``_depot/serve.py``): a named lease
    always, an automatic one while its owner process runs. Unknown or empty state: assume so."""
    leases = state.get("leases") if isinstance(state, dict) else None
    if not isinstance(leases, dict) or not leases:
        return True
    return any(not isinstance(lease, dict) or lease.get("named") or owner_alive(lease.get("owner"))
               for lease in leases.values())


def _read(path: str) -> Any:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _watch(httpd: Any, state_path: str, lock_path: str, alive_fd: List[int], done: threading.Event,
           interval: float) -> None:
    """End the server once no run uses it any more (its runs were cancelled or killed), under the server's
    controller-side lock, so that a run joining at that moment waits and then starts a new server."""
    while not done.wait(interval):
        if _runs_alive(_read(state_path)):
            continue
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _runs_alive(_read(state_path)):
                continue
            httpd.shutdown()
            if alive_fd:
                os.close(alive_fd.pop())       # not alive any more, before the lock is released
            return
        finally:
            os.close(fd)


def serve(root: str, bind: str, port: int, ready: str, alive: str, server_id: str, lifetime: float = 0,
          access_log: str = "", state: str = "", lock: str = "", watch_interval: float = 2.0) -> int:
    """Run the server until SIGTERM/SIGINT, ``lifetime`` seconds, or (with ``state`` and ``lock``) until no run
    uses it any more; report the port (or the error) in ``ready``. Returns the process exit status."""
    alive_fd = [os.open(alive, os.O_RDWR | os.O_CREAT, 0o600)]
    fcntl.flock(alive_fd[0], fcntl.LOCK_EX)       # held until the server ends: server_alive() asks for it
    real_root = os.path.realpath(root)
    handler = type("Handler", (DepotHandler,), {
        "root": real_root, "access_log": open(access_log, "a", buffering=1) if access_log else None})
    server_cls = type("Server", (DepotHTTPServer,), {
        "address_family": socket.AF_INET6 if ":" in bind else socket.AF_INET, "dual_stack": bind == "::"})
    try:
        httpd = server_cls((bind, port), partial(handler, directory=real_root))
    except OSError as e:
        _write_json(ready, {"error": "cannot listen on %s port %d: %s" % (bind, port, e.strerror or e)})
        return 3

    def stop(*_args: Any) -> None:
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if lifetime > 0:
        timer = threading.Timer(lifetime, stop)
        timer.daemon = True
        timer.start()
    _write_json(ready, {"pid": os.getpid(), "port": httpd.server_address[1], "server_id": server_id})
    done = threading.Event()
    if state and lock:
        watcher = threading.Thread(target=_watch, args=(httpd, state, lock, alive_fd, done, watch_interval))
        watcher.daemon = True
        watcher.start()
    try:
        httpd.serve_forever(poll_interval=0.25)
    finally:
        done.set()
        httpd.server_close()
        try:
            os.unlink(ready)
        except OSError:
            pass
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description="fleetpatch.esxi depot server")
    p.add_argument("--root", required=True)
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--alive", required=True)
    p.add_argument("--lifetime", type=float, default=0)
    p.add_argument("--server-id", required=True)
    p.add_argument("--access-log", default="")
    p.add_argument("--state", default="")
    p.add_argument("--lock", default="")
    p.add_argument("--watch-interval", type=float, default=2.0)
    a = p.parse_args(argv)
    return serve(a.root, a.bind, a.port, a.ready, a.alive, a.server_id, a.lifetime, a.access_log, a.state, a.lock,
                 a.watch_interval)


# ---- process helpers ----------------------------------------------------------------------------------------
def server_source() -> str:
    """The source of this file (what ``launch`` writes next to the state and runs)."""
    import sys as _sys
    return inspect.getsource(_sys.modules[__name__])


def launch(script: str, args: List[str], log_path: str, cwd: str) -> None:
    """Run ``python script args...`` as a daemon: a new session, stdio on ``log_path``/``/dev/null``, no inherited
    descriptors, re-parented to init (the module can end). Returns once the intermediate child is reaped; the
    server reports itself through its ready file."""
    import sys as _sys
    with open(script, "w") as f:
        f.write(server_source())
    os.chmod(script, 0o600)
    argv = [_sys.executable, script] + list(args)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 127
        try:
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            os.chdir(cwd)
            null = os.open(os.devnull, os.O_RDONLY)
            log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.closerange(3, 65536)
            os.execv(argv[0], argv)
        finally:
            os._exit(code)
    os.waitpid(pid, 0)


def server_alive(alive_path: str) -> bool:
    """Whether a server holds the lock of ``alive_path`` (it does for as long as it runs)."""
    try:
        fd = os.open(alive_path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        return e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)
    finally:
        os.close(fd)
    return False


def terminate(pid: Any, alive_path: str, grace: float = 5.0) -> bool:
    """Stop the server of ``alive_path`` (SIGTERM, then SIGKILL after ``grace``). A pid is signalled only while
    the server's alive lock is held, so a recycled pid of another process is never signalled."""
    if not isinstance(pid, int) or pid <= 1 or not server_alive(alive_path):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return False
    deadline = time.time() + grace
    while time.time() < deadline:
        if not server_alive(alive_path):
            return True
        _reap(pid)
        time.sleep(0.05)
    if server_alive(alive_path):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except OSError:
        pass


def answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """Whether something accepts TCP connections on ``host``/``port``."""
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


def fqdn() -> str:
    return socket.getfqdn()


def _proc_stat(pid: int) -> Optional[List[str]]:
    """The fields of ``/proc/<pid>/stat`` after the command name (Linux), or None."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    return data[data.rfind(")") + 2:].split()


def _cmdline(pid: int) -> List[str]:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\x00") if a]
    except OSError:
        return []


def _is_ansible(argv: List[str]) -> bool:
    return any(os.path.basename(a) in _OWNER_NAMES for a in argv[:2])


def process_start(pid: int) -> Optional[str]:
    """The start time of process ``pid`` (clock ticks since boot, Linux) or None."""
    stat = _proc_stat(pid)
    return stat[19] if stat and len(stat) > 19 else None


def run_owner() -> Optional[Dict[str, Any]]:
    """The process that owns this run: the outermost ``ansible-playbook`` (or ``ansible``/``ansible-runner``)
    ancestor of this process (its forked workers share its command line), as ``{pid, start}``. None when there
    is none or processes cannot be inspected (no ``/proc``): such a run never counts as gone."""
    pid = os.getppid()
    found = None
    seen = 0
    while pid > 1 and seen < 64:
        stat = _proc_stat(pid)
        if stat is None:
            break
        if _is_ansible(_cmdline(pid)):
            found = pid
        pid = int(stat[1])
        seen += 1
    if found is None:
        return None     # not under ansible-playbook (a test, an API caller): unknown, never taken for gone
    return {"pid": found, "start": process_start(found)}


def owner_alive(owner: Optional[Dict[str, Any]]) -> bool:
    """Whether the owner process recorded by ``run_owner`` still runs (same pid and start time). An unknown
    owner (no ``/proc`` when it was recorded) counts as alive: only its run or ``lifetime`` ends the server."""
    if not owner or not isinstance(owner.get("pid"), int):
        return True
    pid = owner["pid"]
    try:
        os.kill(pid, 0)
    except OSError as e:
        if e.errno != errno.EPERM:
            return False
    start = owner.get("start")
    return start is None or process_start(pid) in (None, start)


if __name__ == "__main__":
    raise SystemExit(main())
