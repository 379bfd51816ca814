# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: patch deploy of ESXi hosts over the client layer (the ``esxi_patch_deploy`` module). No Ansible, no
pyVmomi imports here. Breaking changes at any time.

Per host, as the state machine of ``statemachine.py`` (the phases are recorded in the host's marker)::

    lock -> observe (maintenance mode, firewall, pending image, the marker an earlier run of ours left)
         -> scan -> plan -> pre-checks -> (check mode: the plan)
         -> event "started" -> per step: dry run, then (maintenance mode,) apply or stage
         -> reboot and wait -> verify the planned VIBs, re-scan
         -> finish: maintenance mode and firewall as the options say -> event "finished" -> unlock

Whatever goes wrong (a fleetpatch error, any other exception, a cancel at a safe point), ``HostDeploy.fail`` reads
the host's state, puts the host back as the options say (maintenance mode, firewall), records the outcome in the
marker, sends the FAILED event, and the module fails with a message naming what was applied and the host state.
A run whose controller is gone finishes the current host and starts no other one.
"""

from __future__ import annotations

import binascii
import os
import time
from typing import Any, Dict, List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import classify as _scan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import plan as _plan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import record as _scan_record
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.cancel import CancelledError, CancelToken
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.deploy_end import EndMixin, UnexpectedError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.hostlock import HostLock, store_for
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.methods import method_for
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.options import (
    MAINTENANCE_MODE_TIMEOUT, REBOOT_TIMEOUT, RULESET)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.precheck import (
    image_managed_blockers, plan_blockers, url_problems)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.scan import (
    RunContext, image_managed, targets, vib_ids)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.statemachine import (
    Marker, Observed, Ownership, Phase, adopt, cancel_honoured, check_transition, maintenance_for_reboot,
    reboot_decision)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    FleetpatchError, InputError, PrecheckError, VerificationError)

# how long the lock stays valid beyond the longest wait of the phase it is renewed for (seconds)
LOCK_MARGIN = 600
INSTALL_TASK_TIMEOUT = 3600


def new_run_id() -> str:
    """A run id: UTC time and 6 random hex digits (``20261207T021500Z-3fa2c1``)."""
    return "%s-%s" % (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), binascii.hexlify(os.urandom(3)).decode())


def host_result(host: Any) -> Dict[str, Any]:
    return {"name": host.name, "moid": host.moid, "changed": False, "plan": None, "steps": [],
            "maintenance_mode": {"entered": False, "exited": False}, "rebooted": False,
            "pending_reboot": False, "verified": None, "compliant": None, "events": []}


class HostDeploy(EndMixin):
    """The deploy of one host (see the module docstring for the phases)."""

    def __init__(self, run: RunContext, host: Any, result: Dict[str, Any], check_mode: bool = False,
                 token: Optional[CancelToken] = None, store: Any = None, run_id: str = "") -> None:
        self.run = run
        self.client = run.client
        self.params = run.params
        self.host = host
        self.r = result
        self.check_mode = check_mode
        self.token = token or CancelToken(watch_parents=False)
        self.run_id = run_id or new_run_id()
        self.phase = Phase.OBSERVE
        self.info: Dict[str, Any] = {}
        self.entry: Dict[str, Any] = {}
        self.inventory: List[Any] = []
        self.plan: Any = None
        self.actions: Dict[str, Any] = {}
        self.pending: Optional[List[str]] = []
        self.final_inventory: Optional[List[Any]] = None
        self.entered_mm = False
        self.firewall_opened = False
        self.own = Ownership(firewall_before={}, entered_mm=False)
        self.marker: Optional[Marker] = None
        self.method = method_for(run, self.info)
        p = self.params
        self.lock = None
        if store is not None:
            self.lock = HostLock(store, host, self.run_id, timeout=float(p.get("lock_timeout") or 0),
                                 expiry=LOCK_MARGIN, settle=float(getattr(store, "settle", 0.5)))

    # ---- the machine -------------------------------------------------------------------------------------
    def goto(self, phase: str, renew: float = 0) -> None:
        """Move to ``phase``: a cancel request stops here when this is a safe point; the lock is renewed for the
        phase and the marker records it (once this run has changed something)."""
        check_transition(self.phase, phase)
        if cancel_honoured(phase, self.token.requested):
            raise CancelledError("cancelled (%s) before the %s phase" % (self.token.reason, phase),
                                 host=self.host.name, phase=phase)
        self.phase = phase
        if self.lock is not None:
            self.lock.renew(renew + LOCK_MARGIN)
        if self.marker is not None:
            self.marker.phase = phase
            self.save_marker()

    def save_marker(self) -> None:
        if self.lock is not None and self.marker is not None:
            self.marker.at = _now()
            self.lock.write_marker(self.marker)

    def start_marker(self) -> None:
        """Record what we own BEFORE our first change (firewall state before, maintenance mode an earlier run of
        ours entered)."""
        if self.marker is None:
            self.marker = Marker(run=self.run_id, phase=self.phase, firewall=dict(self.own.firewall_before),
                                 entered_mm=self.own.entered_mm)
            self.save_marker()

    def run_host(self, diff_mode: bool = False) -> Optional[Dict[str, Any]]:
        """Deploy to the host; returns its diff (diff mode) or None. Raises the failure (see ``fail``)."""
        if self.lock is not None:
            self.lock.acquire()
            if self.lock.took_over:
                self.r["lock_taken_over"] = {k: self.lock.took_over.get(k) for k in ("run", "holder", "expires")}
        try:
            try:
                return self._run(diff_mode)
            except FleetpatchError as e:
                raise self.fail(e) from None
            except Exception as e:  # noqa: BLE001  (any other error still ends with the host put back)
                raise self.fail(UnexpectedError("unexpected error: %s: %s" % (type(e).__name__, e),
                                                host=self.host.name, exception_type=type(e).__name__)) from None
        finally:
            if self.lock is not None:
                self.lock.release()

    def _run(self, diff_mode: bool) -> Optional[Dict[str, Any]]:
        self.observe()
        self.goto(Phase.PLAN)
        self.scan()
        plan = self.make_plan()
        self.entry["image_managed"] = image_managed(self.client, self.host)    # live, not from a scan record
        blockers = plan_blockers(plan, image_managed_blockers(self.entry, bool(self.params.get("allow_image_drift"))))
        if blockers:
            raise PrecheckError("pre-check failed, nothing was changed: %s"
                                % "; ".join(b["detail"] for b in blockers), host=self.host.name, blockers=blockers)
        self.r["maintenance_mode"]["required"] = self.actions["maintenance_mode_needed"]
        if not plan.changed and not (set(self.pending or []) & {v.id for v in plan.install}):
            self.r["compliant"] = self.entry.get("compliant")
            if not self.check_mode:
                self.converge_only()
            return _diff(self.r["name"], plan.before, plan.before) if diff_mode else None
        self.goto(Phase.PRECHECK)
        self.precheck_urls()
        if self.check_mode:
            self.r["changed"] = plan.changed
            return _diff(self.r["name"], plan.before, plan.after) if diff_mode else None
        self.goto(Phase.STARTED)
        self.event("deploy started on %s: %s" % (self.host.name, self.describe()))
        self.execute()
        if not self.params.get("stage_only"):
            self.goto(Phase.VERIFY)
            self.verify()
            self.rescan()
        self.goto(Phase.FINISH)
        self.finish()
        if diff_mode:
            after = self.final_inventory
            return _diff(self.r["name"], plan.before, after if after is not None else plan.after)
        return None

    # ---- observe, scan, plan -----------------------------------------------------------------------------
    def observe(self) -> None:
        """Read the host's state and the marker of an earlier run of ours; decide what this run owns."""
        info = self.run.host_info(self.host)
        self.info.update(info)
        self.r["maintenance_mode"]["before"] = info.get("in_maintenance_mode")
        if self.check_mode or self.lock is None:
            return
        try:
            fw = {RULESET: bool(self.client.firewall_ruleset_enabled(self.host, RULESET))}
        except FleetpatchError:
            fw = {}
        earlier = self.lock.read_marker()
        self.own = adopt(Observed(in_maintenance_mode=bool(info.get("in_maintenance_mode")), firewall=fw), earlier,
                         list(fw))
        if earlier is not None and earlier.run != self.run_id:
            self.r["converge"] = {"earlier_run": earlier.run, "earlier_phase": earlier.phase,
                                  "earlier_outcome": earlier.outcome, "adopted": self.own.adopted_from is not None,
                                  "notes": list(self.own.notes)}
            if self.own.adopted_from:
                self.start_marker()        # we own the earlier run's changes from now on
        for note in self.own.notes:
            self.run.warn("host %s: %s" % (self.host.name, note))
        self.run.firewall_owner[self.host.moid] = self.ensure_firewall_open

    def scan(self) -> None:
        p = self.params
        key_entry = {"name": self.info.get("name") or self.host.name}
        record = None
        if p.get("scan_record_dir"):
            try:
                record = _scan_record.read(p["scan_record_dir"], self.run.record_key(key_entry))
            except InputError as e:
                if p.get("scan") == "record":
                    raise
                self.run.warn("host %s: %s" % (self.host.name, e))
        if p.get("scan") == "record":
            entry, inventory = self._recorded(record)
        else:
            entry, inv = self.run.scan_host(self.host, dict(self.info))
            if record is not None and record.get("depot_digest") != entry["depot_digest"]:
                self.run.warn("host %s: the depot metadata changed since the recorded scan (%s): this deploy uses "
                              "a fresh scan" % (self.host.name, record.get("scanned_at")))
            self.run.write_record(entry)
            inventory = inv if inv is not None else self.client.software_vibs(self.host)
        self.r["scan"] = {"engine": entry.get("engine"), "scanned_at": entry.get("scanned_at"),
                          "depot_digest": entry.get("depot_digest"), "scan_record": entry.get("scan_record"),
                          "missing": [e["id"] for e in entry.get("missing", [])]}
        self.entry = entry
        self.inventory = inventory

    def _recorded(self, record: Optional[Dict[str, Any]]) -> Any:
        if record is None:
            raise PrecheckError("scan: record needs a scan record of the host in %s; run esxi_patch_scan first"
                                % self.params.get("scan_record_dir"), host=self.host.name)
        if record.get("depot_digest") != self.run.depot.digest:
            raise PrecheckError("the scan record was made with other depot metadata (digest %s, now %s); scan "
                                "again" % (record.get("depot_digest"), self.run.depot.digest), host=self.host.name)
        inventory = self.client.software_vibs(self.host)
        if record.get("inventory_digest") and record["inventory_digest"] != _scan.inventory_digest(inventory):
            raise PrecheckError("the host's VIBs changed since the scan recorded at %s; scan again"
                                % record.get("scanned_at"), host=self.host.name)
        return record, inventory

    def make_plan(self) -> Any:
        p = self.params
        selected, explicit = self.run.selection()
        groups = {g: self.entry.get(g, []) for g in _scan.GROUPS}
        plan = _plan.build(self.run.depot, self.inventory, groups, selected, self.info.get("product_line"),
                           self.info.get("version"), self.info.get("acceptance_level"), profile=p.get("profile"),
                           explicit=explicit, exclude=p.get("exclude") or [],
                           allow_acceptance_change=p.get("allow_acceptance_change"),
                           allow_removal=p.get("allow_removal"))
        actions = _plan.host_actions(plan, p.get("maintenance_mode"), p.get("reboot"), p.get("stage_only"),
                                     self.info.get("in_maintenance_mode"))
        plan.blockers.extend(actions["blockers"])
        self.plan = plan
        self.actions = actions
        pd = plan.to_dict()
        pd["enter_maintenance_mode"] = actions["enter_maintenance_mode"]
        pd["reboot"] = actions["reboot"]
        self.pending = self.pending_ids() if plan.changed else []
        pd["pending_reboot"] = sorted(set(self.pending or []) & set(pd["install"]))
        self.r["plan"] = pd
        return plan

    def precheck_urls(self) -> None:
        """Everything the host must download is reachable (before touching the host)."""
        urls = self.run.urls
        err = url_problems(self.params.get("method") or "patch_manager", list(self.plan.steps), urls.depot_urls(),
                           urls.unreachable(), urls.vib_url)
        if err is not None:
            raise err.with_context(host=self.host.name)
        if self.params.get("method") != "esxcli" and any(s.kind in ("install", "profile_update")
                                                         for s in self.plan.steps):
            self.run.host_meta(self.host, self.info)

    def pending_ids(self) -> Optional[List[str]]:
        """VIB ids of the image that becomes active at the next reboot but are not active now (None: unknown)."""
        try:
            pend = self.client.esxcli.vib_list(self.host, rebooting_image=True)
            cur = self.client.esxcli.vib_list(self.host)
        except FleetpatchError:
            return None
        return sorted({v["id"] for v in pend} - {v["id"] for v in cur})

    # ---- changing the host -------------------------------------------------------------------------------
    def ensure_firewall_open(self) -> None:
        """Open the httpClient ruleset for the host's downloads (once; restored at the end of the run)."""
        if self.firewall_opened or not self.params.get("manage_firewall") or self.check_mode:
            if not self.params.get("manage_firewall") and self.own.firewall_before.get(RULESET) is False:
                self.run.warn("host %s: the %s firewall ruleset is disabled, so the host may not reach the depot; "
                              "set manage_firewall: true (the default) to open it for the operation"
                              % (self.host.name, RULESET))
            return
        self.start_marker()
        self.client.set_firewall_ruleset(self.host, RULESET, True)
        self.firewall_opened = True

    def execute(self) -> None:
        p = self.params
        plan = self.plan
        reboot_needed = bool(set(self.pending or []) & {v.id for v in plan.install})
        changed = False
        with self.run.host_downloads(self.host):
            for number, step in enumerate(plan.steps, 1):
                self.goto(Phase.INSTALL, renew=INSTALL_TASK_TIMEOUT)
                rec = {"number": number, "kind": step.kind, "status": "dry_run", "method": self.method.name}
                self.r["steps"].append(rec)
                ctx = self.method.dry_run(self.host, step, rec, number)
                # the first dry run happens before maintenance mode, so a refusal leaves the host as it was
                if step.kind != "acceptance" and self.actions["enter_maintenance_mode"] and not self.entered_mm:
                    self.enter_mm()
                    self.goto(Phase.INSTALL, renew=INSTALL_TASK_TIMEOUT)     # a safe point before the install
                rec["status"] = "running"
                res = self.method.apply(self.host, step, rec, ctx)
                changed = changed or bool(res.get("changed", False))
                reboot_needed = reboot_needed or bool(res.get("reboot_required"))
                rec["status"] = "no_change" if not res.get("changed") else (
                    "staged" if p.get("stage_only") and step.kind != "acceptance" else "applied")
                if res.get("changed"):
                    self.r["changed"] = True
        self.r["changed"] = self.r["changed"] or changed
        if p.get("stage_only"):
            return
        do_reboot = reboot_decision(p.get("reboot") or "auto", changed, reboot_needed, False)
        if do_reboot:
            need = maintenance_for_reboot(self.client.in_maintenance_mode(self.host),
                                          str(p.get("maintenance_mode") or "auto"))
            if need == "skip":
                self.run.warn("host %s: a reboot is needed but maintenance_mode is never: not rebooting"
                              % self.host.name)
                do_reboot = False
            elif need == "enter":
                self.enter_mm()
        if do_reboot:
            timeout = int(p.get("reboot_timeout") or REBOOT_TIMEOUT)
            self.goto(Phase.REBOOT, renew=timeout)
            new_host, info = self.client.reboot(self.host, timeout=timeout)
            self.host = new_host
            self.r["rebooted"] = True
            self.r["changed"] = True
            self.r["reboot"] = info
        self.r["pending_reboot"] = bool(reboot_needed and not do_reboot)

    def describe(self) -> str:
        plan = self.plan
        parts = ["install %d VIB(s)" % len(plan.install)]
        if plan.remove:
            parts.append("remove %d" % len(plan.remove))
        if plan.bulletins:
            parts.append("bulletins %s" % ", ".join(plan.bulletins))
        if plan.profile:
            parts.append("profile %s" % plan.profile)
        parts.append("method %s" % self.params.get("method"))
        if self.params.get("stage_only"):
            parts.append("stage only")
        parts.append("run %s" % self.run_id)
        return "; ".join(parts)

    def enter_mm(self) -> None:
        """Enter maintenance mode within ``maintenance_mode_timeout``; a timeout names the VMs that did not
        evacuate."""
        p = self.params
        value = p.get("maintenance_mode_timeout")
        timeout = int(value) if value is not None else MAINTENANCE_MODE_TIMEOUT
        if self.phase != Phase.MAINTENANCE:
            self.goto(Phase.MAINTENANCE, renew=timeout or INSTALL_TASK_TIMEOUT)
        self.start_marker()
        if self.marker is not None:
            self.marker.entered_mm = True        # recorded before the change (only counts while in maintenance mode)
            self.save_marker()
        try:
            changed = self.client.enter_maintenance_mode(
                self.host, timeout=timeout, evacuate_powered_off_vms=p.get("evacuate_powered_off_vms"),
                vsan_mode=p.get("vsan_mode"))
        except FleetpatchError as e:
            raise self.blocked_mm(e, timeout) from None
        if changed:
            self.entered_mm = True
            self.own.entered_mm = True
            self.r["maintenance_mode"]["entered"] = True
            self.r["changed"] = True
        elif self.marker is not None and not self.own.entered_mm:
            self.marker.entered_mm = False       # someone else's maintenance mode
            self.save_marker()

    def blocked_mm(self, err: FleetpatchError, timeout: int) -> FleetpatchError:
        """The error of a failed maintenance mode entry, naming the VMs that block the evacuation."""
        try:
            vms = [v["name"] for v in self.client.host_vms(self.host) if v.get("power_state") == "poweredOn"]
        except (FleetpatchError, AttributeError):
            vms = None
        if not vms:
            return err
        text = ("could not enter maintenance mode within %ss: %d powered-on VM(s) did not evacuate: %s (no DRS "
                "target, DRS not fully automated, or rules that keep them here); %s"
                % (timeout, len(vms), ", ".join(vms), err.msg))
        return err.with_context(text, host=err.host or self.host.name, blocking_vms=vms)

    # ---- after the steps --------------------------------------------------------------------------------
    def verify(self) -> Dict[str, Any]:
        """The planned VIBs are active (or, without the reboot they need, in the rebooting image)."""
        plan = self.plan
        inventory = self.client.software_vibs(self.host)
        active = {v.id for v in inventory}
        want = {v.id for v in plan.install}
        gone = {v.id for v in plan.remove}
        v = {"active": sorted(want & active), "not_active": sorted(want - active),
             "still_installed": sorted(gone & active), "pending_reboot": []}
        if (v["not_active"] or v["still_installed"]) and self.r.get("pending_reboot"):
            pending = set(self.pending_ids() or [])
            v["pending_reboot"] = sorted(set(v["not_active"]) & pending)
            v["not_active"] = sorted(set(v["not_active"]) - pending)
        self.r["verified"] = v
        self.final_inventory = inventory
        if v["not_active"] or (v["still_installed"] and not self.r.get("pending_reboot")):
            raise VerificationError("after the deploy the host does not run the planned VIBs: not active: %s%s"
                                    % (", ".join(v["not_active"]) or "none",
                                       ("; still installed: %s" % ", ".join(v["still_installed"]))
                                       if v["still_installed"] else ""), host=self.host.name)
        return v

    def rescan(self) -> None:
        entry, _inv = self.run.scan_host(self.host)
        self.run.write_record(entry)
        self.r["rescan"] = {"engine": entry["engine"], "scanned_at": entry["scanned_at"],
                            "missing": [e["id"] for e in entry["missing"]], "compliant": entry["compliant"],
                            "version": entry["version"], "build": entry["build"]}
        self.r["compliant"] = entry["compliant"]
        self.r["version"], self.r["build"] = entry["version"], entry["build"]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _diff(name: str, before: Any, after: Any) -> Dict[str, str]:
    return {"before_header": "%s: VIBs before" % name, "after_header": "%s: VIBs after" % name,
            "before": "".join("%s\n" % i for i in vib_ids(before)), "after": "".join("%s\n" % i for i in vib_ids(after))}


def run_deploy(params: Dict[str, Any], check_mode: bool = False, diff_mode: bool = False,
               partial: Optional[Dict[str, Any]] = None, client: Any = None, depot: Any = None,
               cancel: Optional[CancelToken] = None) -> Dict[str, Any]:
    """The ``esxi_patch_deploy`` module: returns its result dict, or raises with ``partial`` filled in.

    ``cancel``: the run's cancel token (the module passes ``cancel.module_token()``); by default none that ever
    fires (library calls, tests)."""
    partial = partial if partial is not None else {}
    results: List[Dict[str, Any]] = []
    diffs: List[Dict[str, str]] = []
    token = cancel if cancel is not None else CancelToken(watch_parents=False)
    run_id = params.get("run_id") or new_run_id()
    partial.update(changed=False, hosts=results, run_id=run_id)
    run = None
    try:
        run = RunContext(params, client=client, depot=depot)
        if not hasattr(run.client, "host_field_get"):
            from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host_fields import (
                HostFields)
            run.client = HostFields(run.client)
        partial["warnings"] = run.warnings
        store = None if check_mode else store_for(run.client, params.get("state_dir"))
        hosts = targets(run.client, params)
        for i, host in enumerate(hosts):
            stop = _stop_before(token, hosts[i:], results)
            if stop is not None:
                raise stop
            r = host_result(host)
            results.append(r)
            hd = HostDeploy(run, host, r, check_mode=check_mode, token=token, store=store, run_id=run_id)
            try:
                d = hd.run_host(diff_mode)
            except FleetpatchError as e:
                partial["failed_host"] = r["name"]
                if r.get("state") is not None:
                    partial["host_state"] = r["state"]
                raise e
            if d is not None:
                diffs.append(d)
        out = {"changed": any(r["changed"] for r in results), "hosts": results, "depot_digest": run.depot.digest,
               "warnings": run.warnings, "run_id": run_id}
        if len(results) == 1:
            out["plan"] = results[0]["plan"]
        if diff_mode:
            out["diff"] = diffs[0] if len(diffs) == 1 else diffs
        return out
    finally:
        partial["changed"] = bool(partial.get("changed") or any(r["changed"] for r in results))
        if run is not None:
            run.close()


def _stop_before(token: CancelToken, remaining: List[Any], results: List[Dict[str, Any]]) -> Optional[FleetpatchError]:
    """The error that stops the run before the next host (cancel, lost controller), or None."""
    names = ", ".join(h.name for h in remaining)
    if token.requested:
        return CancelledError("cancelled (%s); not started on: %s" % (token.reason, names), not_started=names)
    if token.controller_lost():
        return CancelledError("the controller was lost (%s); not started on: %s" % (token.lost_reason, names),
                              not_started=names, controller_lost=True)
    return None
