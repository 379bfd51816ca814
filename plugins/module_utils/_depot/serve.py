# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: which depot servers run, for which folder and which runs: the state and decisions of
``depot_serve``. Breaking changes at any time.

A server is keyed by its ``name`` **and** its folder (``<name>-<sha256(folder)[:12]>``): two playbooks serving
different folders under the default name get two servers. Each server has, in ``state_dir`` (0700):

- ``<key>.json`` (0600): the state: pid, port, folder, URL, and the *leases*: the runs using the server, each with
  its owner process (the ``ansible-playbook`` process of the run, pid and start time);
- ``<key>.lock`` (0600): the controller-side lock every start/stop of that server holds while it decides;
- ``<key>.alive``: locked by the server process for as long as it runs (``_clients/depot_server.server_alive``);
- the server script, its log and its access log.

``started`` adds this run's lease (starting the server when none runs); ``stopped`` removes this run's lease and
stops the server only when no other *live* run holds one, so a run never stops a server another run still
uses. An automatic lease (no ``run_id``) whose owner process is gone (a cancelled or killed run) is stale: every
call of ``depot_serve`` drops stale leases in the whole ``state_dir`` and stops the servers no live run uses any
more. A named lease (``run_id`` given, for a server meant to outlive its playbook: an AWX workflow, a molecule
prepare step) lasts until that ``run_id`` stops it or the server's ``lifetime`` ends. ``<name>.json`` is a copy
of the state of the server last started under ``name``, for readers that know only the name. The HTTP server
itself and every process/socket call are in ``_clients/depot_server.py``.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
import uuid
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients import depot_server as _srv
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError, ServeError  # noqa: F401 (ServeError re-exported)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.fileutil import write_atomic

STATE_FORMAT = 2
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEY_FILE_RE = re.compile(r"^(?P<key>.+-[0-9a-f]{12})\.json$")
State = Dict[str, Any]


# ---- state files ---------------------------------------------------------------------------------------
def default_state_dir() -> str:
    base = os.environ.get("XDG_RUNTIME_DIR")
    if not base or not os.path.isdir(base) or not os.access(base, os.W_OK):
        base = tempfile.gettempdir()
    return os.path.join(base, "fleetpatch-depot-serve-%d" % os.getuid())


def server_key(name: str, root: str) -> str:
    return "%s-%s" % (name, hashlib.sha256(root.encode("utf-8")).hexdigest()[:12])


def _paths(state_dir: str, key: str) -> Dict[str, str]:
    base = os.path.join(state_dir, key)
    return {"state": base + ".json", "lock": base + ".lock", "alive": base + ".alive",
            "script": base + "-server.py", "ready": base + ".ready", "log": base + ".log",
            "access_log": base + "-access.log"}


def _read_state(path: str) -> Optional[State]:
    try:
        with open(path) as f:
            st = json.load(f)
        return st if isinstance(st, dict) and st.get("format") == STATE_FORMAT else None
    except (OSError, ValueError):
        return None


def _write_state(st: State) -> None:
    write_atomic(st["state_file"], json.dumps(st, indent=1, sort_keys=True), mode=0o600)


def _alias_path(st: State) -> str:
    """``<state_dir>/<name>.json``: a copy of the state of the server last started under ``name``, for readers
    that know the name only (another playbook, a test); it is removed when that server stops."""
    return os.path.join(os.path.dirname(st["state_file"]), "%s.json" % st.get("name", "depot"))


def _state_keys(state_dir: str) -> List[str]:
    try:
        names = sorted(os.listdir(state_dir))
    except OSError:
        return []
    return [m.group("key") for m in (_KEY_FILE_RE.match(n) for n in names) if m]


@contextlib.contextmanager
def _locked(paths: Dict[str, str]) -> Iterator[None]:
    """The controller-side lock of one server (0600): one start/stop decision at a time, across runs."""
    fd = os.open(paths["lock"], os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _clean(paths: Dict[str, str]) -> None:
    """Remove a stopped server's files (the lock file stays: another run may be waiting on it)."""
    for what, p in paths.items():
        if what != "lock":
            _unlink(p)
            _unlink(p + ".tmp")


def _tail(path: str, size: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


# ---- runs ----------------------------------------------------------------------------------------------
def current_run(params: Dict[str, Any]) -> Dict[str, Any]:
    """This run: ``{"id", "owner"}``; ``owner`` is the run's ``ansible-playbook`` process (pid, start time)."""
    owner = _srv.run_owner()
    run_id = params.get("run_id")
    if not run_id:
        run_id = "%s:%s:%s" % (_srv.fqdn(), (owner or {}).get("pid", "?"), (owner or {}).get("start", "?"))
    return {"id": str(run_id), "owner": owner, "named": bool(params.get("run_id"))}


def _live_leases(st: State) -> Dict[str, Any]:
    """The leases of ``st`` that still count: a named lease (an explicit ``run_id``) until that run releases it
    or the server's ``lifetime`` ends; an automatic one while its owner process (the run) still runs."""
    leases: Dict[str, Any] = st["leases"] if isinstance(st.get("leases"), dict) else {}
    return {rid: lease for rid, lease in leases.items()
            if isinstance(lease, dict) and (lease.get("named") or _srv.owner_alive(lease.get("owner")))}


def _stop_server(st: Optional[State], paths: Dict[str, str]) -> bool:
    running = bool(st) and _srv.server_alive(paths["alive"])
    if running and st is not None:
        _srv.terminate(st.get("pid"), paths["alive"])
    if st is not None and st.get("state_file"):
        alias = _read_state(_alias_path(st))
        if alias is not None and alias.get("server_id") == st.get("server_id"):
            _unlink(_alias_path(st))
    _clean(paths)
    return running


def reap_stale(state_dir: str, skip: Tuple[str, ...] = ()) -> List[str]:
    """Stop every server of ``state_dir`` that no live run uses (its runs were cancelled or killed) or whose
    process is gone, and drop stale leases. Returns the keys of the servers stopped or cleaned."""
    done: List[str] = []
    for key in _state_keys(state_dir):
        if key in skip:
            continue
        paths = _paths(state_dir, key)
        with _locked(paths):
            st = _read_state(paths["state"])
            if st is None:
                continue
            live = _live_leases(st)
            if not live or not _srv.server_alive(paths["alive"]):
                _stop_server(st, paths)
                done.append(key)
            elif live != st.get("leases"):
                st["leases"] = live
                _write_state(st)
    return done


# ---- options -------------------------------------------------------------------------------------------
def _port(params: Dict[str, Any]) -> Any:
    """The module option ``listen_port`` (``port`` accepted for callers of the library)."""
    port = params.get("listen_port")
    return params.get("port") if port is None else port


def _check(params: Dict[str, Any], need_port: bool = True) -> str:
    name = params.get("name") or "depot"
    if not _NAME_RE.match(name):
        raise InputError("name: %r must be letters, digits, '.', '_' or '-' (at most 64)" % (name,))
    if need_port:
        port = _port(params)
        if port is None or isinstance(port, bool) or not 0 <= int(port) <= 65535:
            raise InputError("listen_port: %r is not a TCP port (0 picks a free one)" % (port,))
    return name


def _state_dir(params: Dict[str, Any]) -> str:
    return os.path.abspath(os.path.expanduser(params.get("state_dir") or default_state_dir()))


def _connect_host(bind: str) -> str:
    """Where the module checks that the server answers: loopback for wildcard addresses."""
    if bind in ("0.0.0.0", ""):
        return "127.0.0.1"
    if bind == "::":
        return "::1"
    return bind


def _url(host: str, port: int, path: str = "/") -> str:
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    return "http://%s:%d%s" % (host, port, path)


def _url_host(params: Dict[str, Any]) -> str:
    if params.get("url_host"):
        return params["url_host"]
    bind = params.get("bind") or "127.0.0.1"
    if bind in ("0.0.0.0", "::", ""):
        return _srv.fqdn()
    return bind


def _result(st: Optional[State], params: Dict[str, Any], changed: bool, state: str,
            run: Optional[Dict[str, Any]] = None, **extra: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {"changed": changed, "state": state, "name": params.get("name") or "depot"}
    if run:
        out["run_id"] = run["id"]
    if st:
        out.update(url=st.get("url"), index_url=st.get("index_url"), pid=st.get("pid"), port=st.get("port"),
                   bind=st.get("bind"), root=st.get("root"), started_at=st.get("started_at"),
                   expires_at=st.get("expires_at"), state_file=st.get("state_file"),
                   runs=sorted((st.get("leases") or {}).keys()))
    out.update(extra)
    return out


def _same(st: State, root: str, bind: str, port: int, lifetime: float) -> bool:
    return st.get("root") == root and st.get("bind") == bind and (port == 0 or st.get("port") == port) \
        and float(st.get("lifetime") or 0) == float(lifetime or 0)


# ---- start / stop --------------------------------------------------------------------------------------
def start(params: Dict[str, Any], check_mode: bool = False) -> Dict[str, Any]:
    name = _check(params)
    root = os.path.realpath(os.path.expanduser(params["path"]))
    if not os.path.isdir(root):
        raise InputError("path is not a folder", source=root)
    bind = params.get("bind") or "127.0.0.1"
    port = int(_port(params) or 0)
    lifetime = float(params.get("lifetime") or 0)
    state_dir = _state_dir(params)
    key = server_key(name, root)
    paths = _paths(state_dir, key)
    run = current_run(params)
    if check_mode:
        st = _read_state(paths["state"])
        ok = st is not None and _srv.server_alive(paths["alive"]) and _same(st, root, bind, port, lifetime)
        return _result(st if ok else None, params, not ok, "started", run)
    try:
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
    except OSError as e:
        raise ServeError("cannot create the state folder: %s" % (e.strerror or e), source=state_dir)
    reap_stale(state_dir, skip=(key,))
    with _locked(paths):
        st = _read_state(paths["state"])
        if st is not None and _srv.server_alive(paths["alive"]):
            live = _live_leases(st)
            if _same(st, root, bind, port, lifetime) and _srv.answers(_connect_host(bind), st["port"]):
                new = run["id"] not in live
                live[run["id"]] = {"owner": run["owner"], "named": run["named"], "since": _now().isoformat()}
                st["leases"] = live
                _write_state(st)
                return _result(st, params, False, "started", run, joined=new)
            others = sorted(r for r in live if r != run["id"])
            if others:
                raise ServeError("the depot server %r for this folder runs with other settings (bind %s, port %s) "
                                 "and is used by other runs (%s); use another name or the same settings"
                                 % (name, st.get("bind"), st.get("port"), ", ".join(others)), source=root)
            _stop_server(st, paths)
        else:
            _stop_server(st, paths)
        st = _launch(params, paths, root, bind, port, lifetime, run)
    return _result(st, params, True, "started", run)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _launch(params: Dict[str, Any], paths: Dict[str, str], root: str, bind: str, port: int, lifetime: float,
            run: Dict[str, Any]) -> State:
    server_id = uuid.uuid4().hex
    args = ["--root", root, "--bind", bind, "--port", str(port), "--ready", paths["ready"], "--alive",
            paths["alive"], "--lifetime", str(lifetime), "--server-id", server_id, "--state", paths["state"],
            "--lock", paths["lock"]]
    if params.get("access_log", True):
        args += ["--access-log", paths["access_log"]]
    try:
        _srv.launch(paths["script"], args, paths["log"], root)
    except OSError as e:
        raise ServeError("cannot start the depot server: %s" % (e.strerror or e), source=root)
    ready = _wait_ready(paths, float(params.get("timeout") or 15))
    if ready is None or ready.get("error") or ready.get("server_id") != server_id:
        reason = (ready or {}).get("error") or "it did not start within the timeout"
        tail = _tail(paths["log"])
        if ready and ready.get("pid"):
            _srv.terminate(ready.get("pid"), paths["alive"])
        _clean(paths)
        raise ServeError("the depot server did not start: %s%s" % (reason, _holder(params, port)), source=root,
                         log=tail)
    now = _now()
    real_port = int(ready["port"])
    base = _url(_url_host(params), real_port)
    st = {
        "format": STATE_FORMAT, "pid": ready["pid"], "server_id": server_id, "root": root, "bind": bind,
        "port": real_port, "requested_port": port, "lifetime": lifetime, "url": base,
        "index_url": base + "index.xml", "started_at": now.isoformat(),
        "expires_at": (now + datetime.timedelta(seconds=lifetime)).isoformat() if lifetime else None,
        "state_file": paths["state"], "name": params.get("name") or "depot",
        "leases": {run["id"]: {"owner": run["owner"], "named": run["named"], "since": now.isoformat()}},
    }
    _write_state(st)
    write_atomic(_alias_path(st), json.dumps(st, indent=1, sort_keys=True), mode=0o600)
    if not _srv.answers(_connect_host(bind), real_port, timeout=5):
        _stop_server(st, paths)
        raise ServeError("the depot server started but does not answer on %s port %d" % (bind, real_port),
                         source=root)
    return st


def _wait_ready(paths: Dict[str, str], timeout: float) -> Optional[Dict[str, Any]]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(paths["ready"]):
            try:
                with open(paths["ready"]) as f:
                    return json.load(f)
            except (OSError, ValueError):
                pass
        time.sleep(0.05)
    return None


def _holder(params: Dict[str, Any], port: int) -> str:
    """`` (used by depot server ...)`` when one of our servers listens on ``port``."""
    if not port:
        return ""
    state_dir = _state_dir(params)
    for key in _state_keys(state_dir):
        st = _read_state(os.path.join(state_dir, key + ".json"))
        if st and st.get("port") == port:
            return " (port %d is used by the depot server %r for %s, runs %s)" % (
                port, st.get("name"), st.get("root"), ", ".join(sorted(st.get("leases") or {})) or "none")
    return ""


def stop(params: Dict[str, Any], check_mode: bool = False) -> Dict[str, Any]:
    """Release this run's lease on the servers named ``name`` (of folder ``path`` when given); stop those that
    no other live run uses."""
    name = _check(params, need_port=False)
    state_dir = _state_dir(params)
    run = current_run(params)
    if params.get("path"):
        keys = [server_key(name, os.path.realpath(os.path.expanduser(params["path"])))]
    else:
        keys = [k for k in _state_keys(state_dir) if re.match(r"^%s-[0-9a-f]{12}$" % re.escape(name), k)]
    changed, kept, last = False, [], None
    for key in keys:
        paths = _paths(state_dir, key)
        if not os.path.exists(paths["state"]):
            continue
        with _locked(paths) if not check_mode else contextlib.nullcontext():
            st = _read_state(paths["state"])
            if st is None:
                continue
            last = st
            live = _live_leases(st)
            live.pop(run["id"], None)
            if live and _srv.server_alive(paths["alive"]):
                kept.extend(sorted(live))
                if not check_mode and live != st.get("leases"):
                    st["leases"] = live
                    _write_state(st)
                continue
            changed = True
            if not check_mode:
                _stop_server(st, paths)
    if not check_mode and os.path.isdir(state_dir):
        reap_stale(state_dir)
    extra = {"still_used_by": sorted(set(kept))} if kept else {}
    return _result(last, params, changed, "stopped", run, **extra)


def depot_serve(params: Dict[str, Any], check_mode: bool = False) -> Dict[str, Any]:
    if params.get("state") == "stopped":
        return stop(params, check_mode)
    if not params.get("path"):
        raise InputError("path is required with state=started")
    return start(params, check_mode)
