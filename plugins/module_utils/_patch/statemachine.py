# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the deploy of one host as an explicit state machine, and its decisions as pure functions.

No I/O here: ``_patch/deploy.py`` reads the host, asks these functions what to do, and does it.

Phases (``Phase``), in order; the marker on the host (``_patch/hostlock.py``) records the last one reached::

    observe -> plan -> precheck -> started -> maintenance -> install -> reboot -> verify -> finish -> done
                                      \\______________ any failure or cancel ______________/-> failed | cancelled

Converging from any state: every run starts by observing the host (maintenance mode, pending image, firewall) and
reading the marker an earlier run of ours left (``Marker``). ``adopt()`` merges them into what this run owns: the
firewall state to restore is the one recorded BEFORE OUR FIRST change (by whichever run made it), and maintenance
mode that an earlier run of ours entered counts as ours, so the end of this run leaves the host as the options say.

Cancel: a cancel request is honoured only at ``SAFE_POINTS`` (between phases, never inside an install); reboot and
verify may still complete when the host is already rebooting. Breaking changes at any time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

MARKER_VERSION = 1


class Phase(object):
    OBSERVE = "observe"
    PLAN = "plan"
    PRECHECK = "precheck"
    STARTED = "started"
    MAINTENANCE = "maintenance"
    INSTALL = "install"
    REBOOT = "reboot"
    VERIFY = "verify"
    FINISH = "finish"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    ORDER = (OBSERVE, PLAN, PRECHECK, STARTED, MAINTENANCE, INSTALL, REBOOT, VERIFY, FINISH, DONE)
    END = (DONE, FAILED, CANCELLED)


# transitions allowed by the machine (a failure or cancel may end any non-final phase)
TRANSITIONS: Dict[str, tuple] = {
    Phase.OBSERVE: (Phase.PLAN,),
    Phase.PLAN: (Phase.PRECHECK, Phase.DONE),
    Phase.PRECHECK: (Phase.STARTED, Phase.DONE),
    Phase.STARTED: (Phase.MAINTENANCE, Phase.INSTALL),
    Phase.MAINTENANCE: (Phase.INSTALL, Phase.REBOOT, Phase.VERIFY, Phase.FINISH),
    Phase.INSTALL: (Phase.INSTALL, Phase.MAINTENANCE, Phase.REBOOT, Phase.VERIFY, Phase.FINISH),
    Phase.REBOOT: (Phase.VERIFY, Phase.FINISH),
    Phase.VERIFY: (Phase.FINISH,),
    Phase.FINISH: (Phase.DONE,),
}

# where a cancel request is honoured: before each of these phases starts
SAFE_POINTS = (Phase.PLAN, Phase.PRECHECK, Phase.STARTED, Phase.MAINTENANCE, Phase.INSTALL, Phase.REBOOT,
               Phase.VERIFY, Phase.FINISH)


class TransitionError(Exception):
    """A programming error: a phase change the machine does not allow."""


def check_transition(current: str, new: str) -> None:
    if new in (Phase.FAILED, Phase.CANCELLED):
        if current in Phase.END:
            raise TransitionError("the deploy already ended (%s)" % current)
        return
    if new not in TRANSITIONS.get(current, ()):
        raise TransitionError("no transition from %s to %s" % (current, new))


@dataclass
class Marker(object):
    """What a run of ours changed on a host, recorded there before the change (custom attribute or state file).

    ``firewall``: {ruleset: enabled} as it was BEFORE our first change; ``entered_mm``: a run of ours entered
    maintenance mode and nobody took the host out of it since; ``phase``: the last phase reached; ``outcome``: a
    one-line end note (failed/cancelled/controller lost)."""

    run: str
    phase: str = Phase.OBSERVE
    firewall: Dict[str, bool] = field(default_factory=dict)
    entered_mm: bool = False
    at: Optional[str] = None
    outcome: Optional[str] = None
    v: int = MARKER_VERSION

    def dumps(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def loads(cls, text: Optional[str]) -> Optional["Marker"]:
        """The marker in ``text``; None for no marker, unreadable text or another version (ignored, never fatal)."""
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("v") != MARKER_VERSION or not isinstance(data.get("run"), str):
            return None
        fw_raw = data.get("firewall")
        fw: Dict[str, Any] = fw_raw if isinstance(fw_raw, dict) else {}
        return cls(run=data["run"], phase=str(data.get("phase") or Phase.OBSERVE),
                   firewall={str(k): bool(v) for k, v in fw.items()}, entered_mm=bool(data.get("entered_mm")),
                   at=data.get("at"), outcome=data.get("outcome"))

    @property
    def open(self) -> bool:
        """The run that wrote it left something to finish or undo."""
        return bool(self.firewall) or self.entered_mm


@dataclass
class Observed(object):
    """The host as this run found it."""

    in_maintenance_mode: bool
    firewall: Dict[str, bool]
    pending_vibs: Optional[List[str]] = None       # VIB ids in the rebooting image that are not active (None: unknown)
    connection_state: str = "connected"


@dataclass
class Ownership(object):
    """What this run owns on the host and must put back: firewall states to restore, maintenance mode to exit."""

    firewall_before: Dict[str, bool]
    entered_mm: bool
    adopted_from: Optional[str] = None            # run id of the earlier run whose changes this run took over
    notes: List[str] = field(default_factory=list)


def adopt(observed: Observed, marker: Optional[Marker], rulesets: List[str]) -> Ownership:
    """Merge what an earlier run of ours left (``marker``) with what this run sees.

    - firewall: a ruleset recorded by the earlier run is restored to ITS recorded state (the state before our
      first change), not to whatever it is now; other rulesets to their state now;
    - maintenance mode: ours when the earlier run entered it and the host is still in it (an operator who took the
      host out meanwhile ended that ownership); otherwise maintenance mode found now belongs to someone else.
    """
    before = {r: observed.firewall.get(r, False) for r in rulesets}
    own = Ownership(firewall_before=before, entered_mm=False)
    if marker is None or not marker.open:
        return own
    own.adopted_from = marker.run
    for r, state in marker.firewall.items():
        if r in before and before[r] != state:
            own.notes.append("ruleset %s was left %s by run %s; it is restored to %s" % (
                r, "open" if before[r] else "closed", marker.run, "open" if state else "closed"))
        before[r] = state
    if marker.entered_mm and observed.in_maintenance_mode:
        own.entered_mm = True
        own.notes.append("maintenance mode was entered by run %s (ended in phase %s)" % (marker.run, marker.phase))
    return own


def reboot_decision(reboot: str, changed: bool, reboot_needed: bool, stage_only: bool) -> bool:
    """Whether to reboot: ``always`` after any change (or a pending reboot), ``auto`` only when a reboot is
    needed, ``never`` not; staging never reboots."""
    if stage_only:
        return False
    if reboot == "always":
        return changed or reboot_needed
    if reboot == "auto":
        return reboot_needed
    return False


def maintenance_for_reboot(in_mm: bool, maintenance_mode: str) -> str:
    """Before a reboot: ``ok`` (already in maintenance mode), ``enter``, or ``skip`` (``never``: no reboot)."""
    if in_mm:
        return "ok"
    return "skip" if maintenance_mode == "never" else "enter"


def end_maintenance(ownership: Ownership, in_mm: Optional[bool], success: bool, keep_maintenance_mode: bool,
                    exit_on_failure: bool) -> bool:
    """Exit maintenance mode at the end? Only maintenance mode we own (entered by this run or by an earlier run
    of ours); after success unless ``keep_maintenance_mode``; after a failure or cancel only with
    ``exit_maintenance_on_failure`` (the host may be half changed: the default leaves it for a look, and the next
    run, which adopts it, takes it out)."""
    if not ownership.entered_mm or not in_mm:
        return False
    if success:
        return not keep_maintenance_mode
    return exit_on_failure


def firewall_restore(ownership: Ownership, now: Dict[str, bool]) -> Dict[str, bool]:
    """{ruleset: state to set} for the rulesets that differ from their state before our first change."""
    return {r: want for r, want in sorted(ownership.firewall_before.items()) if now.get(r) != want}


def cancel_honoured(phase: str, cancel_requested: bool) -> bool:
    """A cancel stops the deploy before ``phase`` when that is a safe point."""
    return cancel_requested and phase in SAFE_POINTS


def state_text(state: Dict[str, Any]) -> str:
    """One line for the failure message: reachability, maintenance mode, pending VIBs, firewall."""
    if not state.get("reachable"):
        return "unreachable (%s)" % (state.get("connection_state") or "unknown")
    mm = state.get("in_maintenance_mode")
    text = "%s, %s maintenance mode" % (state.get("connection_state"), "in" if mm else "not in")
    if state.get("maintenance_mode_exited"):
        text += " (exited after the failure)"
    if state.get("pending_reboot_vibs"):
        text += ", %d VIB(s) pending a reboot" % len(state["pending_reboot_vibs"])
    fw = state.get("firewall")
    if isinstance(fw, dict) and fw:
        text += ", firewall %s" % ", ".join("%s %s" % (k, "open" if v else "closed") for k, v in sorted(fw.items()))
    return text
