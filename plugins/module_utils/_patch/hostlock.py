# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: one deploy per host at a time, and the marker of what a deploy changed. Breaking changes at any time.

Where they live (``store_for``):

- **vCenter**: two custom attributes of the HostSystem (``CustomFieldsManager``), visible to every controller
  and in the vSphere Client: ``fleetpatch.esxi.lock`` = ``{"run", "holder", "expires", "at"}`` and
  ``fleetpatch.esxi.marker`` = ``statemachine.Marker`` as JSON.
- **ESXi without vCenter** (no custom attributes there): one JSON file per host under ``state_dir`` on the
  controller (default ``~/.ansible/fleetpatch/hosts``), written atomically under an ``flock``. Controllers that
  share the host must share that folder (for example an NFS mount) to see each other's locks.

The lock: a run reads the lock; a lock of another run that has not expired makes it wait (polling, up to
``lock_timeout`` seconds) and then fail naming the holder; an expired (stale) lock is taken over. The run writes
its own lock, waits ``settle`` seconds and reads it back: custom attributes have no compare-and-set, so of two
runs that write at the same moment the later write wins and the other one sees a foreign lock and backs off. The
holder renews the expiry at every phase (``renew``) and clears it at the end (``release``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import platform
import time
from typing import Any, Callable, Dict, Iterator, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import FleetpatchError, VSphereError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.fileutil import write_atomic
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.statemachine import Marker

LOCK_FIELD = "fleetpatch.esxi.lock"
MARKER_FIELD = "fleetpatch.esxi.marker"
DEFAULT_STATE_DIR = "~/.ansible/fleetpatch/hosts"


class HostLockedError(FleetpatchError):
    """Another run holds the host's lock."""

    kind = "host_locked"


class FieldStore(object):
    """Lock and marker as custom attributes of the host (vCenter)."""

    where = "vCenter custom attributes"

    def __init__(self, client: Any) -> None:
        self.client = client
        # custom attributes have no compare-and-set: wait this long before reading a written lock back
        self.settle = float(getattr(client, "lock_settle", 0.5))

    def get(self, host: Any, name: str) -> Optional[str]:
        return self.client.host_field_get(host, name)

    def set(self, host: Any, name: str, value: str) -> None:
        self.client.host_field_set(host, name, value)


class FileStore(object):
    """Lock and marker in a JSON file per host on the controller (ESXi without vCenter)."""

    def __init__(self, state_dir: str, endpoint: str) -> None:
        self.dir = os.path.abspath(os.path.expanduser(state_dir))
        self.endpoint = endpoint
        self.where = "state file in %s" % self.dir
        self.settle = 0.05

    def path(self, host: Any) -> str:
        key = re.sub(r"[^A-Za-z0-9_.-]+", "_", "%s__%s" % (self.endpoint, getattr(host, "name", host)))
        return os.path.join(self.dir, key + ".json")

    @contextlib.contextmanager
    def _locked(self, host: Any) -> Iterator[Dict[str, str]]:
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        path = self.path(host)
        with open(path + ".lock", "a") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            try:
                try:
                    with open(path) as fh:
                        data = json.load(fh)
                except (OSError, ValueError):
                    data = {}
                yield data if isinstance(data, dict) else {}
            finally:
                fcntl.flock(lk, fcntl.LOCK_UN)

    def get(self, host: Any, name: str) -> Optional[str]:
        with self._locked(host) as data:
            return data.get(name) or None

    def set(self, host: Any, name: str, value: str) -> None:
        with self._locked(host) as data:
            if value:
                data[name] = value
            else:
                data.pop(name, None)
            write_atomic(self.path(host), json.dumps(data, sort_keys=True).encode("utf-8"))


def store_for(client: Any, state_dir: Optional[str]) -> Any:
    """The store for the client's endpoint: custom attributes on vCenter, else the controller's state files."""
    if getattr(client, "is_vcenter", False) and getattr(client, "host_fields_supported", True):
        return FieldStore(client)
    return FileStore(state_dir or DEFAULT_STATE_DIR, getattr(client, "endpoint", "esxi"))


def _pid_namespace() -> str:
    """The pid namespace of this process (``pid:[4026531836]``; "" when unknown): two containers of one node can
    share a host name but not their pid numbers."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def holder_label() -> str:
    """Who holds a lock: controller host and process (for the message of a waiting or failing run)."""
    ns = _pid_namespace()
    return "%s pid %d%s" % (platform.node(), os.getpid(), (" in %s" % ns) if ns else "")


_HOLDER = re.compile(r"^(?P<node>.*) pid (?P<pid>\d+)(?: in (?P<ns>\S+))?$")


def holder_dead(holder: Any) -> bool:
    """A lock holder on THIS controller (same host name and pid namespace) whose process is gone: its lock is
    stale at once. Holders elsewhere can only expire."""
    m = _HOLDER.match(str(holder or ""))
    if m is None or m.group("node") != platform.node() or (m.group("ns") or "") != _pid_namespace():
        return False
    try:
        os.kill(int(m.group("pid")), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class HostLock(object):
    """The lock of one host for one run, and the host's marker."""

    def __init__(self, store: Any, host: Any, run_id: str, timeout: float = 0, expiry: float = 3600,
                 settle: float = 0.3, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.host = host
        self.run_id = run_id
        self.timeout = float(timeout or 0)
        self.expiry = float(expiry)
        self.settle = settle
        self.clock = clock
        self.sleep = sleep
        self.held = False
        self.took_over: Optional[Dict[str, Any]] = None

    def _read(self) -> Optional[Dict[str, Any]]:
        text = self.store.get(self.host, LOCK_FIELD)
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, dict) and data.get("run") else None

    def _write(self, seconds: Optional[float] = None) -> None:
        now = self.clock()
        rec = {"run": self.run_id, "holder": holder_label(), "expires": round(now + (seconds or self.expiry), 1),
               "at": round(now, 1)}
        self.store.set(self.host, LOCK_FIELD, json.dumps(rec, sort_keys=True, separators=(",", ":")))

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout`` seconds for another run's lock; ``HostLockedError`` names it."""
        deadline = self.clock() + self.timeout
        delay = 0.5
        while True:
            cur = self._read()
            now = self.clock()
            if cur is None or cur.get("run") == self.run_id or float(cur.get("expires") or 0) <= now \
                    or holder_dead(cur.get("holder")):
                if cur is not None and cur.get("run") != self.run_id:
                    self.took_over = cur          # a stale lock: its run died or lost its controller
                self._write()
                if self.settle:
                    self.sleep(self.settle)
                back = self._read()
                if back is not None and back.get("run") == self.run_id:
                    self.held = True
                    return
                cur = back or cur
            if self.clock() >= deadline:
                name = getattr(self.host, "name", self.host)
                raise HostLockedError(
                    "another deploy holds the host: run %s (%s) since %s, lock expires %s; waited %ss (lock_timeout)"
                    % (cur.get("run"), cur.get("holder"), _iso(cur.get("at")), _iso(cur.get("expires")),
                       int(self.timeout)) if cur else "could not take the host lock", host=name,
                    lock_holder=(cur or {}).get("run"), lock_where=self.store.where)
            self.sleep(max(0.05, min(delay, deadline - self.clock())))
            delay = min(delay * 2, 5.0)

    def renew(self, seconds: Optional[float] = None) -> None:
        """Extend the expiry (at each phase; ``seconds`` = the longest the next phase may take plus a margin)."""
        if self.held:
            self._write(max(self.expiry, float(seconds or 0)))

    def release(self) -> None:
        """Clear the lock if it is still ours (never raises: a lock left behind expires)."""
        if not self.held:
            return
        try:
            cur = self._read()
            if cur is None or cur.get("run") == self.run_id:
                self.store.set(self.host, LOCK_FIELD, "")
            self.held = False
        except (FleetpatchError, OSError):
            pass

    # ---- the marker --------------------------------------------------------------------------------------
    def read_marker(self) -> Optional[Marker]:
        try:
            return Marker.loads(self.store.get(self.host, MARKER_FIELD))
        except VSphereError:
            return None

    def write_marker(self, marker: Optional[Marker]) -> None:
        self.store.set(self.host, MARKER_FIELD, marker.dumps() if marker is not None else "")


def _iso(ts: Any) -> str:
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(ts)))
    except (TypeError, ValueError):
        return "unknown"
