# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: how a host deploy ends (``HostDeploy`` in ``deploy.py`` mixes this in): events, putting the host back
as the options say (maintenance mode, firewall restored to its state before our first change), the marker's final
record, and the failure report. Breaking changes at any time."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    FleetpatchError, HostNotConnectedError, RebootTimeoutError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.cancel import CancelledError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.options import EVENT_PREFIX, RULESET
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.statemachine import (
    Marker, Phase, end_maintenance, firewall_restore, state_text)


class UnexpectedError(FleetpatchError):
    """A non-fleetpatch exception in the middle of a deploy (a bug or an unforeseen library error)."""

    kind = "unexpected"


def _lost(err: FleetpatchError) -> bool:
    """The host may have gone away under the call (its outcome is unknown until it answers again)."""
    flags = ("connection_lost", "session_lost", "outcome_unknown")
    return bool(any(getattr(err, f, False) or err.details.get(f) for f in flags)
                or isinstance(err, HostNotConnectedError) or "not connected" in err.msg.lower())


class EndMixin(object):
    """The end of a host deploy: success (``finish``), nothing to do (``converge_only``), failure (``fail``)."""

    # provided by HostDeploy
    client: Any
    params: Dict[str, Any]
    host: Any
    r: Dict[str, Any]
    run: Any
    run_id: str
    phase: str
    own: Any
    marker: Optional[Marker]
    lock: Any
    token: Any
    entered_mm: bool
    firewall_opened: bool

    def save_marker(self) -> None:  # pragma: no cover  (HostDeploy)
        raise NotImplementedError

    def pending_ids(self) -> Any:  # pragma: no cover  (HostDeploy)
        raise NotImplementedError

    # ---- events --------------------------------------------------------------------------------------------
    def event(self, message: str) -> None:
        text = "%s: %s" % (EVENT_PREFIX, message)
        try:
            self.client.log_user_event(self.host, text)
            self.r["events"].append({"message": text, "logged": True})
        except FleetpatchError as e:
            self.r["events"].append({"message": text, "logged": False, "error": e.msg})
            self.run.warn("host %s: could not record the user event (%s)" % (self.host.name, e.msg))

    def _lost_note(self) -> str:
        if self.token.controller_lost():
            return "; the controller was lost (%s): no further host is started" % self.token.lost_reason
        return ""

    # ---- putting the host back ------------------------------------------------------------------------------
    def put_back(self, success: bool, cancelled: bool = False) -> Dict[str, Any]:
        """Maintenance mode and firewall as the options say; never raises. Returns what was done and left."""
        out: Dict[str, Any] = {"maintenance_mode_exited": False}
        p = self.params
        self.own.entered_mm = self.own.entered_mm or self.entered_mm
        try:
            in_mm: Optional[bool] = bool(self.client.in_maintenance_mode(self.host))
        except FleetpatchError as e:
            in_mm = None
            out["maintenance_mode_error"] = e.msg
        exit_on_failure = bool(p.get("exit_maintenance_on_failure")) or cancelled
        if end_maintenance(self.own, in_mm, success, bool(p.get("keep_maintenance_mode")), exit_on_failure):
            try:
                if self.client.exit_maintenance_mode(self.host, timeout=int(p.get("maintenance_mode_timeout") or 0)):
                    out["maintenance_mode_exited"] = True
                    self.r["maintenance_mode"]["exited"] = True
                    in_mm = False
            except FleetpatchError as e:
                out["exit_maintenance_mode_error"] = e.msg
        out["in_maintenance_mode"] = in_mm
        try:
            now = {RULESET: bool(self.client.firewall_ruleset_enabled(self.host, RULESET))}
            for rs, want in firewall_restore(self.own, now).items():
                self.client.set_firewall_ruleset(self.host, rs, want)
                now[rs] = want
            out["firewall"] = now
            out["firewall_restored"] = True
        except FleetpatchError as e:
            out["firewall_restored"] = False
            out["firewall_error"] = e.msg
        return out

    def close_marker(self, phase: str, outcome: str, back: Dict[str, Any], keep: bool = False) -> None:
        """The marker's last record: what is still ours to undo (for the next run) and the outcome."""
        if self.lock is None or self.marker is None:
            return
        still_mm = bool(self.own.entered_mm and back.get("in_maintenance_mode") is not False and not keep)
        self.marker.phase = phase
        self.marker.outcome = outcome[:500]
        self.marker.entered_mm = still_mm
        self.marker.firewall = {} if back.get("firewall_restored") else dict(self.own.firewall_before)
        try:
            self.save_marker()
        except FleetpatchError as e:
            self.run.warn("host %s: could not record the outcome on the host (%s); the next run finds the earlier "
                          "record" % (self.host.name, e.msg))

    def converge_only(self) -> None:
        """Nothing to install: still finish what an earlier run of ours left (maintenance mode, firewall)."""
        if not self.own.adopted_from:
            return
        back = self.put_back(success=True)
        done = []
        if back.get("maintenance_mode_exited"):
            done.append("exited maintenance mode")
            self.r["changed"] = True
        if self.own.firewall_before != back.get("firewall") or self.firewall_opened:
            done.append("firewall restored")
        self.r["converged"] = {"from_run": self.own.adopted_from, "done": done}
        self.close_marker(Phase.DONE, "no change; finished run %s: %s" % (self.own.adopted_from,
                                                                          ", ".join(done) or "nothing left"), back)
        self.event("deploy finished on %s: no change; left by run %s: %s%s" % (
            self.host.name, self.own.adopted_from, ", ".join(done) or "nothing to undo", self._lost_note()))

    def finish(self) -> None:
        """Success: maintenance mode and firewall as the options say, marker closed, event "finished"."""
        back = self.put_back(success=True)
        if back.get("exit_maintenance_mode_error"):
            raise FleetpatchError("the deploy succeeded but maintenance mode could not be exited: %s"
                                  % back["exit_maintenance_mode_error"], host=self.host.name)
        r = self.r
        keep = bool(self.params.get("keep_maintenance_mode"))
        text = "%s%s" % ("changed" if r["changed"] else "no change",
                         ", rebooted" if r["rebooted"] else (", reboot pending" if r["pending_reboot"] else ""))
        self.close_marker(Phase.DONE, text, back, keep=keep)
        self.event("deploy finished on %s: %s%s" % (r["name"], text, self._lost_note()))

    # ---- failure ---------------------------------------------------------------------------------------------
    def host_state(self, err: FleetpatchError) -> Dict[str, Any]:
        """The host's state after a failure (never raises)."""
        state: Dict[str, Any] = {"reachable": None, "connection_state": None, "in_maintenance_mode": None,
                                 "entered_maintenance_mode": self.entered_mm, "maintenance_mode_exited": False}
        wait = 0 if isinstance(err, RebootTimeoutError) else min(120, int(self.params.get("reboot_timeout") or 120))
        try:
            if wait and _lost(err):
                facts = self.client.wait_connected(self.host, timeout=wait)
            else:
                facts = self.client.host_facts(self.host)
            state.update(reachable=facts.get("connection_state") == "connected",
                         connection_state=facts.get("connection_state"),
                         in_maintenance_mode=facts.get("in_maintenance_mode"),
                         version=facts.get("version"), build=facts.get("build"), boot_time=facts.get("boot_time"))
        except FleetpatchError as e2:
            state.update(reachable=False, connection_state=(err.details.get("last_state") or "unreachable"),
                         detail=e2.msg)
            return state
        if state["reachable"]:
            state["pending_reboot_vibs"] = self.pending_ids()
        return state

    def _mark_steps(self, err: FleetpatchError) -> None:
        for s in self.r["steps"]:
            if s["status"] == "dry_run":
                s["status"] = "refused"          # its dry run failed: nothing of it was applied
            elif s["status"] == "running":
                s["status"] = "failed"
                if _lost(err):
                    s["outcome_unknown"] = True

    def fail(self, err: FleetpatchError) -> FleetpatchError:
        """Report the failure, put the host back as the options say, send the FAILED event; returns the error to
        raise (its message names what was applied and the host's state)."""
        cancelled = isinstance(err, CancelledError)
        state = self.host_state(err)
        self._mark_steps(err)
        if state["reachable"]:
            back = self.put_back(success=False, cancelled=cancelled)
            state["maintenance_mode_exited"] = back["maintenance_mode_exited"]
            if back.get("in_maintenance_mode") is not None:
                state["in_maintenance_mode"] = back["in_maintenance_mode"]
            for k in ("exit_maintenance_mode_error", "firewall_error", "firewall"):
                if k in back:
                    state[k] = back[k]
        else:
            back = {"in_maintenance_mode": None, "firewall_restored": False}
        self.r["failed"] = True
        self.r["state"] = state
        applied = [s for s in self.r["steps"] if s["status"] in ("applied", "staged", "no_change")]
        msg = "%s. Applied before the failure: %s. Host state: %s" % (
            err.msg.rstrip("."), ", ".join("step %d (%s, %s)" % (s["number"], s["kind"], s["status"])
                                           for s in applied) or "nothing", state_text(state))
        self.r["msg"] = msg
        started = self.phase not in (Phase.OBSERVE, Phase.PLAN, Phase.PRECHECK)
        if started or cancelled or self.marker is not None:
            self.event("deploy FAILED on %s: %s%s" % (self.r["name"], err.msg, self._lost_note()))
        self.close_marker(Phase.CANCELLED if cancelled else Phase.FAILED, "%s: %s" % (
            "cancelled" if cancelled else "failed", err.msg), back)
        return err.with_context(msg, host=err.host or self.host.name)
