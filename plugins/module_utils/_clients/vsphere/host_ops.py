# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VSphereClient: maintenance mode, reboot and wait, firewall rulesets. Breaking changes at any time."""

from __future__ import annotations

import datetime

import contextlib
import time
from typing import TYPE_CHECKING, Iterator, Tuple, Any, Dict, List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    AuthenticationError, ConnectionFailedError, FleetpatchError, HostNotConnectedError, InputError, NotFoundError,
    RebootTimeoutError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.base import ClientBase
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import (
    HAS_PYVMOMI, backoff_delays, poll_until, vim, wait_for_task)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.convert import (
    VSAN_MODES, _parse_iso)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host import Host

if TYPE_CHECKING:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import FleetpatchError


class HostOpsMixin(ClientBase):
    """VSphereClient: maintenance mode, reboot and wait, firewall rulesets."""

    # ---- maintenance mode ----------------------------------------------------------------------------
    def in_maintenance_mode(self, host: Host) -> bool:
        host = self.host(host)
        return bool(self._host_props(host, ["runtime.inMaintenanceMode"], "read the maintenance mode")
                    .get("runtime.inMaintenanceMode"))

    def enter_maintenance_mode(self, host: Host, timeout: int = 0, evacuate_powered_off_vms: bool = False,
                               vsan_mode: Optional[str] = None,
                               wait_timeout: Optional[Any] = None) -> bool:
        """Enter maintenance mode. ``timeout`` is the server-side limit (0 = none); ``vsan_mode`` one of
        noAction | ensureObjectAccessibility | evacuateAllData. Returns True if it changed anything."""
        host = self.host(host)
        if vsan_mode is not None and vsan_mode not in VSAN_MODES:
            raise InputError("vsan_mode must be one of %s, not %r" % (", ".join(VSAN_MODES), vsan_mode))
        if self.in_maintenance_mode(host):
            return False
        kwargs: Dict[str, Any] = {"timeout": int(timeout or 0)}
        if evacuate_powered_off_vms:
            kwargs["evacuatePoweredOffVms"] = True
        if vsan_mode:
            kwargs["maintenanceSpec"] = vim.host.MaintenanceSpec(
                vsanMode=vim.vsan.host.DecommissionMode(objectAction=vsan_mode))
        wait = wait_timeout if wait_timeout is not None else (int(timeout) + 60 if timeout else 3600)
        self._run_task(host, "enter maintenance mode", lambda: host._mo.EnterMaintenanceMode_Task(**kwargs), wait)
        return True

    def exit_maintenance_mode(self, host: Host, timeout: int = 0, wait_timeout: Optional[Any] = None) -> bool:
        """Exit maintenance mode; True if it changed anything."""
        host = self.host(host)
        if not self.in_maintenance_mode(host):
            return False
        wait = wait_timeout if wait_timeout is not None else (int(timeout) + 60 if timeout else 1800)
        self._run_task(host, "exit maintenance mode",
                       lambda: host._mo.ExitMaintenanceMode_Task(timeout=int(timeout or 0)), wait)
        return True

    # ---- reboot ------------------------------------------------------------------------------------
    def reboot(self, host: Host, force: bool = False, timeout: int = 1800, poll_max: float = 10.0,
               poll_initial: float = 0.5) -> Tuple[Host, Dict[str, Any]]:
        """Reboot ``host`` and wait until it is back; return ``(host, info)``.

        ``host`` is a fresh handle (re-found after the reconnect); ``info`` = {rebooted, boot_time_before,
        boot_time_after, build_before, build_after, states, reconnected, seconds}. Via vCenter the host's
        ``runtime.connectionState``/``bootTime`` are polled; on ESXi directly the session dies with hostd and the
        client logs in again with backoff. ``RebootTimeoutError`` after ``timeout`` seconds names the last known
        state. ``force=False`` on a host outside maintenance mode fails (InvalidState) before anything happens.
        """
        host = self.host(host)
        started = time.monotonic()
        deadline = started + float(timeout)
        before = self.host_facts(host)
        try:
            task = host._mo.RebootHost_Task(force=bool(force))
        except Exception as exc:
            err = self._err(exc, "reboot", host=host.label)
            if HAS_PYVMOMI and isinstance(exc, vim.fault.InvalidState):
                err = err.with_context(msg=err.msg + " (the host must be in maintenance mode, or use force)")
            raise err from exc
        try:
            wait_for_task(task, timeout=max(1.0, min(120.0, deadline - time.monotonic())), host=host.label,
                          action="reboot", secrets=self.secrets, endpoint=self.endpoint,
                          collector=self._content.propertyCollector)
        except (ConnectionFailedError, HostNotConnectedError):
            pass   # the host went down before reporting the task result: expected on ESXi directly
        if self.is_vcenter:
            info = self._wait_back_vcenter(host, before, deadline, poll_initial, poll_max)
        else:
            info = self._wait_back_direct(host, before, deadline, poll_initial, poll_max)
        self._inventory = None
        if self.is_vcenter:
            rec = self._host_record(host.moid)
            new_host = Host(self, rec["name"], rec["moid"]) if rec else self.find_hosts(names=[host.name])[0]
        else:
            new_host = self.find_hosts()[0]
        after = self.host_facts(new_host)
        info.update({"rebooted": True, "boot_time_before": before["boot_time"], "boot_time_after": after["boot_time"],
                     "build_before": before["build"], "build_after": after["build"],
                     "in_maintenance_mode": after["in_maintenance_mode"],
                     "seconds": round(time.monotonic() - started, 3)})
        return new_host, info

    @staticmethod
    def _newer(boot_time: Optional[datetime.datetime], before: Optional[datetime.datetime]) -> bool:
        if boot_time is None:
            return False
        if before is None:
            return True
        return boot_time > before

    @staticmethod
    def _timeout(host: Host, last: str, states: List[str]) -> RebootTimeoutError:
        return RebootTimeoutError(
            "the host did not come back from the reboot in time; last known state: %s (states seen: %s)"
            % (last, " -> ".join(str(s) for s in states)), host=host.label, last_state=last, states=states)

    def _wait_back_vcenter(self, host: Host, before: Dict[str, Any], deadline: float, poll_initial: float,
                           poll_max: float) -> Dict[str, Any]:
        states: List[Any] = [before["connection_state"]]
        before_boot = _parse_iso(before["boot_time"])
        w = {"last": "reboot requested (%s)" % before["connection_state"], "seen_down": False}

        def probe() -> Optional[Dict[str, Any]]:
            try:
                props = self._host_props(host, ["runtime.connectionState", "runtime.bootTime"], "watch the reboot")
            except AuthenticationError:
                raise
            except VSphereError as exc:
                w["last"] = "unknown (vCenter did not answer: %s)" % exc.msg
                if self._is_dead_session(exc):
                    self._try_reconnect(deadline)
                return None
            state = props.get("runtime.connectionState")
            if states[-1] != state:
                states.append(state)
            w["seen_down"] = w["seen_down"] or state != "connected"
            w["last"] = state
            boot = props.get("runtime.bootTime")
            if state == "connected" and (self._newer(boot, before_boot) or (before_boot is None and w["seen_down"])):
                return {"states": states, "reconnected": False}
            return None

        return poll_until(deadline, backoff_delays(initial=poll_initial, maximum=poll_max), probe,
                          lambda: self._timeout(host, str(w["last"]), states))

    @staticmethod
    def _is_dead_session(err: FleetpatchError) -> bool:
        return err.session_lost or err.connection_lost

    def _try_reconnect(self, deadline: float) -> bool:
        try:
            self.reconnect(timeout=max(1.0, min(self.timeout, deadline - time.monotonic())))
            return True
        except AuthenticationError:
            raise
        except VSphereError:
            self._drop()
            return False

    def _wait_back_direct(self, host: Host, before: Dict[str, Any], deadline: float, poll_initial: float,
                          poll_max: float) -> Dict[str, Any]:
        states = ["up"]
        before_boot = _parse_iso(before["boot_time"])
        w = {"last": "reboot requested", "seen_down": False, "reconnected": False}

        def probe() -> Optional[Dict[str, Any]]:
            try:
                if self._si is None:
                    self._open(max(1.0, min(self.timeout, deadline - time.monotonic())))
                    self.reconnects += 1
                    w["reconnected"] = True
                    if states[-1] != "reconnected":
                        states.append("reconnected")
                rec = self.find_hosts()[0]
                props = self._host_props(rec, ["runtime.bootTime", "runtime.connectionState"], "watch the reboot")
            except AuthenticationError:
                raise
            except VSphereError as exc:
                w["seen_down"] = True
                w["last"] = ("session invalidated (hostd restarted)" if exc.session_lost
                             else "unreachable (%s)" % exc.msg)
                tag = "session lost" if exc.session_lost else "unreachable"
                if states[-1] != tag:
                    states.append(tag)
                self._drop()
                return None
            boot = props.get("runtime.bootTime")
            if self._newer(boot, before_boot) or (before_boot is None and w["seen_down"]):
                states.append("up (new boot time)")
                return {"states": states, "reconnected": w["reconnected"]}
            w["last"] = "still up with the old boot time (reboot not started yet)"
            return None

        return poll_until(deadline, backoff_delays(initial=poll_initial, maximum=poll_max), probe,
                          lambda: self._timeout(host, str(w["last"]), states))

    # ---- firewall ----------------------------------------------------------------------------------
    def _firewall(self, host: Host) -> Any:
        return self._config_manager(host, "firewallSystem", "firewall system")

    def firewall_rulesets(self, host: Host) -> Dict[str, bool]:
        """{ruleset key: enabled} of the host firewall."""
        host = self.host(host)
        fw = self._firewall(host)
        info = self._call(host, "read the firewall", lambda: fw.firewallInfo)
        return {r.key: bool(r.enabled) for r in (getattr(info, "ruleset", None) or ())}

    def firewall_ruleset_enabled(self, host: Host, ruleset: str) -> bool:
        rules = self.firewall_rulesets(host)
        if ruleset not in rules:
            raise NotFoundError("firewall ruleset %s not found (rulesets: %s)" % (ruleset, ", ".join(sorted(rules))),
                                host=self.host(host).label, missing=[ruleset])
        return rules[ruleset]

    def set_firewall_ruleset(self, host: Host, ruleset: str, enabled: bool) -> bool:
        """Enable/disable a ruleset; returns whether it was enabled BEFORE (so callers can restore it)."""
        host = self.host(host)
        was = self.firewall_ruleset_enabled(host, ruleset)
        if was != bool(enabled):
            fw = self._firewall(host)
            method = fw.EnableRuleset if enabled else fw.DisableRuleset
            self._call(host, "%s firewall ruleset %s" % ("enable" if enabled else "disable", ruleset), method,
                       id=ruleset)
        return was

    @contextlib.contextmanager
    def ruleset_open(self, host: Host, ruleset: str = "httpClient") -> Iterator[bool]:
        """Open ``ruleset`` for the block; restore the previous state afterwards, also on exceptions.
        Yields whether it was already enabled."""
        host = self.host(host)
        was = self.set_firewall_ruleset(host, ruleset, True)
        ok = False
        try:
            yield was
            ok = True
        finally:
            if not was:
                try:
                    self.set_firewall_ruleset(host, ruleset, False)
                except FleetpatchError:
                    if ok:
                        raise
