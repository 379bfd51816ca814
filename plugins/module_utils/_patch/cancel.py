# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: cancel requests and a lost controller, as seen by a running deploy. Breaking changes at any time.

- **Cancel** (``SIGTERM``, ``SIGINT``: how AWX, ansible-runner and CI stop a job): the signal handler only sets a
  flag; the deploy looks at it at its safe points (``statemachine.SAFE_POINTS``, never inside an install), puts the
  host back as far as that is safe, sends the FAILED event and fails with ``CancelledError``.
- **Controller lost** (``SIGHUP``: the terminal or pty of ansible-playbook went away; or a process that started
  the module is gone, as after ansible-runner's or AWX's cancel, a SIGKILL of ansible-playbook's group): the
  deploy starts nothing on another host but brings the current one to a consistent end (install, reboot, verify,
  maintenance mode as the options say) and records the outcome in the host's marker and an event.
"""

from __future__ import annotations

import os
import signal
from typing import Any, Callable, Dict, List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import FleetpatchError

CANCEL_SIGNALS = ("SIGTERM", "SIGINT")
LOST_SIGNALS = ("SIGHUP", "SIGPIPE")


class CancelledError(FleetpatchError):
    """The run was cancelled (SIGTERM/SIGINT) and stopped at a safe point."""

    kind = "cancelled"


def _ancestors(pid: int, depth: int = 6) -> List[int]:
    """Up to ``depth`` parent pids of ``pid`` (Linux /proc; empty elsewhere)."""
    out: List[int] = []
    for _level in range(depth):
        try:
            with open("/proc/%d/stat" % pid) as fh:
                stat = fh.read()
        except OSError:
            break
        # field 4 after the ")" that closes the command name
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid <= 1:
            break
        out.append(ppid)
        pid = ppid
    return out


def _alive(pid: int) -> bool:
    """``pid`` runs (a zombie, dead but not reaped by an init that does not reap, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


class CancelToken(object):
    """Cancel flag and controller watch of one module run.

    ``install()`` sets the signal handlers (main thread only; restored by ``uninstall()``). ``cancel(reason)``
    sets the flag by hand (tests). ``controller_lost()`` is true after SIGHUP or once a process that started the
    module has gone."""

    def __init__(self, watch_parents: bool = True) -> None:
        self.reason: Optional[str] = None
        self.lost_reason: Optional[str] = None
        self._old: Dict[int, Any] = {}
        self._ppid = os.getppid()
        self._parents = _ancestors(os.getpid()) if watch_parents else []
        self._watch = watch_parents

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def cancel(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason

    def lose(self, reason: str) -> None:
        if self.lost_reason is None:
            self.lost_reason = reason

    def _handler(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if name in CANCEL_SIGNALS:
            self.cancel("%s received" % name)
        else:
            self.lose("%s received" % name)

    def install(self) -> "CancelToken":
        for name in CANCEL_SIGNALS + LOST_SIGNALS:
            sig = getattr(signal, name, None)
            if sig is None:
                continue
            try:
                self._old[sig] = signal.signal(sig, self._handler)
            except (ValueError, OSError):      # not the main thread
                pass
        return self

    def uninstall(self) -> None:
        for sig, old in self._old.items():
            try:
                signal.signal(sig, old)
            except (ValueError, OSError, TypeError):
                pass
        self._old = {}

    def controller_lost(self) -> bool:
        if self.lost_reason is None and self._watch:
            if os.getppid() != self._ppid:
                self.lose("the process that started the module (pid %d) is gone" % self._ppid)
            else:
                gone = [p for p in self._parents if not _alive(p)]
                if gone:
                    self.lose("the controller process (pid %d) is gone" % gone[0])
        return self.lost_reason is not None


def module_token() -> CancelToken:
    """The token of a module run (``esxi_patch_deploy``'s ``main()``): signal handlers installed, the processes
    that started the module watched.

    How the signals arrive (ansible-core 2.19 and later): each worker of ansible-playbook runs in its own session,
    and ansible-playbook forwards SIGTERM/SIGINT to its workers, which pass them to their process group, so the
    module sees them and cancels at the next safe point. A job runner that SIGKILLs ansible-playbook's process group
    (ansible-runner, and so AWX, cancel that way) does not reach the worker's session: the module then sees its
    controller gone, finishes the current host and starts no further one."""
    return CancelToken().install()


def never() -> CancelToken:
    """A token that is never cancelled and watches nothing (library calls outside a module)."""
    return CancelToken(watch_parents=False)


Checkpoint = Callable[[str], None]
