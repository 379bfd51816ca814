# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: patch scan and deploy of ESXi hosts, over the client layer. No Ansible, no pyVmomi imports here.
Breaking changes at any time.

``run_scan(params)`` and ``run_deploy(params, check_mode, diff_mode, partial)`` do the work of the modules
``esxi_patch_scan`` and ``esxi_patch_deploy``; ``params`` are the modules' options. One ``VSphereClient`` (one
session to vCenter or to one ESXi host) serves every target host.

Scan engines
------------
- ``controller``: the host's installed VIBs (``ImageConfigManager.FetchSoftwarePackages``) are compared with the
  depot here (``_scan.classify``); the host downloads nothing.
- ``host``: the ``metadata.zip`` URLs of the depot's ``vendor-index.xml`` entries that fit the host's product line
  and version are handed to the host (``ScanHostPatchV2_Task``), which downloads them; its per-bulletin status is
  mapped to the same groups (``_scan.from_host_status``). The URLs must be reachable from the host (``depot_url``).
- ``auto``: controller, falling back to host where the inventory cannot be read.

Deploy, per host
----------------
scan (same metadata; the scan record is compared when present) -> selection -> plan (``_plan.build``) -> pre-checks
-> (check mode: the plan) -> user event "started" -> maintenance mode -> per step: dry run, then apply (or stage)
-> reboot and wait -> verify the planned VIBs are active, re-scan -> exit maintenance mode if we entered it -> user
event "finished". A failure stops the run; the error carries what was applied and the host's state (``partial``).
"""

from __future__ import annotations

import contextlib
import datetime

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import plan as _plan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import classify as _scan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import record as _scan_record
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.depot_argspec import depot_params
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    DepotFetchError, FleetpatchError, HostNotConnectedError, InputError, PrecheckError, RebootTimeoutError,
    VerificationError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact_url
from ansible_collections.fleetpatch.esxi.plugins.module_utils._esxi.esxupdate import esxupdate_result, install_summary

ENGINES = ("auto", "controller", "host")
METHODS = ("patch_manager", "esxcli")
MAINTENANCE_MODES = ("auto", "require", "never")
REBOOT_MODES = ("auto", "always", "never")
SCAN_MODES = ("always", "record")
VSAN_MODES = ("ensureObjectAccessibility", "evacuateAllData", "noAction")
EVENT_PREFIX = "fleetpatch.esxi"
RULESET = "httpClient"
# reasons of HostPatchManager.Status that block an install (missingPatch is fine inside a step that brings the
# other bulletin; obsoleted means the host has newer VIBs: the host skips them)
_BLOCKING_REASONS = ("missingLib", "conflictLib", "conflictPatch", "hasDependentPatch")


# ==== argument specs (plain dicts; the modules merge them with the connection and depot specs) ============

def selection_options():
    return dict(
        bulletins=dict(type="list", elements="str"),
        severity=dict(type="list", elements="str"),
        category=dict(type="list", elements="str"),
        released_after=dict(type="str"),
        released_before=dict(type="str"),
        exclude=dict(type="list", elements="str", default=[]),
        profile=dict(type="str"),
    )


def scan_options():
    return dict(
        engine=dict(type="str", default="auto", choices=list(ENGINES)),
        depot_url=dict(type="list", elements="str"),
        manage_firewall=dict(type="bool", default=True),
        scan_record_dir=dict(type="path"),
    )


def deploy_options():
    return dict(
        method=dict(type="str", default="patch_manager", choices=list(METHODS)),
        scan=dict(type="str", default="always", choices=list(SCAN_MODES)),
        stage_only=dict(type="bool", default=False),
        maintenance_mode=dict(type="str", default="auto", choices=list(MAINTENANCE_MODES)),
        evacuate_powered_off_vms=dict(type="bool", default=False),
        maintenance_mode_timeout=dict(type="int", default=0),
        vsan_mode=dict(type="str", choices=list(VSAN_MODES)),
        exit_maintenance_on_failure=dict(type="bool", default=False),
        reboot=dict(type="str", default="auto", choices=list(REBOOT_MODES)),
        reboot_timeout=dict(type="int", default=1800),
        allow_acceptance_change=dict(type="bool", default=False),
        allow_removal=dict(type="bool", default=False),
    )


# ==== helpers ==============================================================================================

def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _connect(params):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
    return VSphereClient.from_params(params)


def _load_depot(params):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot
    return load_depot(**depot_params(params))


def _targets(client, params):
    return client.find_targets(params.get("esxi_hostname"), params.get("cluster_name"), params.get("datacenter"))


def _selection(depot, params):
    """(bulletin ids selected, explicitly named ids). No criterion at all selects every bulletin (the plan keeps the
    missing ones); a ``profile`` alone selects no bulletin."""
    crit = [params.get(k) for k in ("bulletins", "severity", "category", "released_after", "released_before")]
    if not any(crit) and params.get("profile"):
        return [], []
    ids = _scan.select(depot, bulletins=params.get("bulletins"), severity=params.get("severity"),
                       category=params.get("category"), released_after=params.get("released_after"),
                       released_before=params.get("released_before"), exclude=params.get("exclude") or [])
    return ids, list(params.get("bulletins") or [])


def _ids(vibs):
    return sorted(v.id for v in vibs)


class _Run(object):
    """State shared by the hosts of one module run: client, depot, URL mapping, warnings."""

    def __init__(self, params, client=None, depot=None):
        self.params = params
        self.warnings = []
        self._warned = set()
        self._selection = None
        if params.get("method") == "esxcli" and params.get("stage_only"):
            raise InputError("stage_only needs method patch_manager (esxcli has no staging)")
        self.depot = depot if depot is not None else _load_depot(params)
        self.urls = _scan.HostDepotUrls(self.depot, params["depot"], params.get("depot_url"))
        self.client = client if client is not None else _connect(params)
        self.own_client = client is None
        for w in self.depot.warnings:
            self.warn(w)

    def selection(self):
        """``_selection`` of the run's depot and options (computed once)."""
        if self._selection is None:
            self._selection = _selection(self.depot, self.params)
        return self._selection

    def warn(self, msg):
        if msg not in self._warned:
            self._warned.add(msg)
            self.warnings.append(msg)

    def close(self):
        if self.own_client:
            self.client.close()

    # ---- firewall --------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def host_downloads(self, host):
        """Around an operation in which the host downloads from the depot: open the httpClient ruleset with
        ``manage_firewall`` (restored afterwards, also on failure), otherwise warn when it is closed."""
        if self.params.get("manage_firewall"):
            with self.client.ruleset_open(host, RULESET):
                yield True
            return
        try:
            enabled = self.client.firewall_ruleset_enabled(host, RULESET)
        except FleetpatchError:
            enabled = None
        if enabled is False:
            self.warn("host %s: the %s firewall ruleset is disabled, so the host may not reach the depot; set "
                      "manage_firewall: true (the default) to open it for the operation" % (host.name, RULESET))
        yield False

    # ---- scanning ----------------------------------------------------------------------------------------
    def host_info(self, host):
        facts = self.client.host_facts(host)
        if facts.get("connection_state") not in (None, "connected"):
            raise HostNotConnectedError("the host is %s" % facts["connection_state"], host=host.name,
                                        connection_state=facts["connection_state"])
        info = dict(facts)
        try:
            info["acceptance_level"] = self.client.acceptance_get(host)
        except VSphereError as e:
            info["acceptance_level"] = None
            self.warn("host %s: cannot read the acceptance level: %s" % (host.name, e.msg))
        try:
            prof = self.client.image_profile(host)
            info["image_profile"] = prof.get("name")
            info["image_profile_vendor"] = prof.get("vendor")
        except VSphereError as e:
            info["image_profile"] = info["image_profile_vendor"] = None
            self.warn("host %s: cannot read the image profile: %s" % (host.name, e.msg))
        return info

    def host_meta(self, host, info):
        meta = self.urls.meta_urls(info.get("product_line"), info.get("version"))
        bundles = self.urls.bundle_urls()
        if not meta and not bundles:
            unreachable = self.urls.unreachable()
            if unreachable:
                raise InputError("the host cannot download from the local depot source(s) %s: set depot_url to the "
                                 "URL the host reaches them at" % ", ".join(unreachable), host=host.name)
            raise InputError("no metadata of the depot fits the host (%s %s)"
                             % (info.get("product_line"), info.get("version")), host=host.name)
        return meta, bundles

    def _host_engine(self, host, info):
        meta, bundles = self.host_meta(host, info)
        with self.host_downloads(host):
            res = self.client.patch_scan(host, meta_urls=meta, bundle_urls=bundles)
        if res.get("errors"):
            err = res["errors"][0]
            raise DepotFetchError("the host could not read the depot metadata: %s: %s"
                                  % (err.get("error_class") or "error", redact_url(err.get("message") or "")),
                                  host=host.name, source=redact_url(err.get("url")) if err.get("url") else None,
                                  host_errors=[{"error_class": e.get("error_class"),
                                                "message": redact_url(e.get("message"))} for e in res["errors"]])
        return _scan.from_host_status(self.depot, res.get("status") or []), [redact_url(u) for u in meta + bundles]

    def scan_host(self, host, info=None, engine=None):
        """Scan one host. Returns ``(entry, inventory)``: the JSON-safe result entry and the host's VIBs (list of
        Vib, or None when the host engine was used and the inventory could not be read)."""
        p = self.params
        info = info or self.host_info(host)
        engine = engine or p.get("engine") or "auto"
        inventory = None
        fallback = None
        if engine in ("controller", "auto"):
            try:
                inventory = self.client.software_vibs(host)
            except VSphereError as e:
                if engine == "controller" or e.details.get("connection_lost") or e.details.get("session_lost"):
                    raise
                fallback = "the VIB inventory could not be read (%s); the host scanned itself" % e.msg
                self.warn("host %s: %s" % (host.name, fallback))
        used = "controller" if inventory is not None else "host"
        metadata_urls = []
        if used == "controller":
            groups = _scan.classify(self.depot, inventory, info.get("product_line"), info.get("version"),
                                    info.get("acceptance_level"))
        else:
            groups, metadata_urls = self._host_engine(host, info)
            if inventory is None and fallback is None:
                try:
                    inventory = self.client.software_vibs(host)
                except VSphereError:
                    inventory = None
        selected, _explicit = self.selection()
        entry = {
            "name": info.get("name") or host.name, "moid": host.moid, "cluster": info.get("cluster"),
            "datacenter": info.get("datacenter"), "endpoint": info.get("endpoint"),
            "version": info.get("version"), "build": info.get("build"), "product_line": info.get("product_line"),
            "image_profile": info.get("image_profile"), "acceptance_level": info.get("acceptance_level"),
            "in_maintenance_mode": info.get("in_maintenance_mode"),
            "connection_state": info.get("connection_state"),
            "engine": used, "engine_fallback": fallback, "metadata_urls": metadata_urls,
            "scanned_at": _now(), "depot_digest": self.depot.digest,
            "inventory_digest": _scan.inventory_digest(inventory) if inventory is not None else None,
            "vib_count": len(inventory) if inventory is not None else None,
        }
        for g in _scan.GROUPS:
            entry[g] = groups[g]
        entry["counts"] = {g: len(groups[g]) for g in _scan.GROUPS}
        relevant = {e["id"] for g in ("missing", "installed", "superseded") for e in groups[g]}
        entry["selected"] = [b for b in selected if b in relevant]
        entry["compliant"] = _scan.compliant(groups, selected)
        if p.get("profile"):
            entry["profile_compliance"] = self.profile_compliance(inventory, info, p["profile"])
            if entry["profile_compliance"]["compliant"] is False:
                entry["compliant"] = False
        entry["scan_record"] = None
        return entry, inventory

    def profile_compliance(self, inventory, info, name):
        prof = self.depot.profiles.get(name)
        if prof is None:
            raise InputError("image profile %s is not in the depot (profiles: %s)"
                             % (name, ", ".join(sorted(self.depot.profiles)) or "none"))
        if inventory is None:
            return {"profile": name, "compliant": None, "missing_vibs": []}
        plan = _plan.build(self.depot, inventory, {g: [] for g in _scan.GROUPS}, (), info.get("product_line"),
                           info.get("version"), None, profile=name)
        missing = sorted(v.id for v in plan.install)
        return {"profile": name, "compliant": not missing, "missing_vibs": missing}

    def record_key(self, entry):
        return _scan_record.host_key(entry["name"], self.client.endpoint, self.client.is_vcenter)

    def write_record(self, entry):
        d = self.params.get("scan_record_dir")
        if not d:
            return None
        path = _scan_record.record_path(d, self.record_key(entry))
        entry["scan_record"] = path
        _scan_record.write(d, self.record_key(entry), entry)
        return path


# ==== scan ==================================================================================================

def run_scan(params, partial=None, client=None, depot=None):
    """The ``esxi_patch_scan`` module: returns its result dict. A host that cannot be scanned fails the task after
    the others were scanned (their results are in ``hosts``)."""
    partial = partial if partial is not None else {}
    run = _Run(params, client=client, depot=depot)
    try:
        hosts = _targets(run.client, params)
        results = []
        failures = []
        partial["hosts"] = results
        for host in hosts:
            try:
                entry, _inv = run.scan_host(host)
                run.write_record(entry)
            except FleetpatchError as e:
                entry = {"name": host.name, "moid": host.moid, "failed": True, "msg": str(e),
                         "error_kind": e.kind}
                failures.append(e)
            results.append(entry)
        out = {"changed": False, "hosts": results, "depot_digest": run.depot.digest,
               "compliant": all(h.get("compliant") for h in results) if results else True,
               "warnings": run.warnings}
        if failures:
            first = failures[0]
            partial.update(out)
            raise type(first)("scan failed on %d of %d host(s): %s" % (len(failures), len(results), first.msg),
                              host=first.host, source=first.source)
        return out
    finally:
        run.close()


# ==== deploy ================================================================================================

class _HostDeploy(object):
    """The deploy of one host."""

    def __init__(self, run, host, check_mode, diff_mode, result):
        self.run = run
        self.client = run.client
        self.params = run.params
        self.host = host
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self.r = result          # the host's entry in the module result (filled while working)
        self.entered_mm = False
        self.applied = []

    # ---- small helpers -----------------------------------------------------------------------------------
    def event(self, message):
        text = "%s: %s" % (EVENT_PREFIX, message)
        try:
            self.client.log_user_event(self.host, text)
            self.r["events"].append({"message": text, "logged": True})
        except FleetpatchError as e:
            self.r["events"].append({"message": text, "logged": False, "error": e.msg})
            self.run.warn("host %s: could not record the user event (%s)" % (self.host.name, e.msg))

    def pending_ids(self):
        """VIB ids of the image that becomes active at the next reboot but are not active now (None: unknown)."""
        try:
            pend = self.client.esxcli.vib_list(self.host, rebooting_image=True)
            cur = self.client.esxcli.vib_list(self.host)
        except FleetpatchError:
            return None
        return sorted({v["id"] for v in pend} - {v["id"] for v in cur})

    # ---- the run -----------------------------------------------------------------------------------------
    def scan(self):
        p = self.params
        info = self.run.host_info(self.host)
        self.info = info
        key_entry = {"name": info.get("name") or self.host.name}
        record = None
        if p.get("scan_record_dir"):
            try:
                record = _scan_record.read(p["scan_record_dir"], self.run.record_key(key_entry))
            except InputError as e:
                if p.get("scan") == "record":
                    raise
                self.run.warn("host %s: %s" % (self.host.name, e))
        if p.get("scan") == "record":
            if record is None:
                raise PrecheckError("scan: record needs a scan record of the host in %s; run esxi_patch_scan first"
                                    % p.get("scan_record_dir"), host=self.host.name)
            if record.get("depot_digest") != self.run.depot.digest:
                raise PrecheckError("the scan record was made with other depot metadata (digest %s, now %s); scan "
                                    "again" % (record.get("depot_digest"), self.run.depot.digest), host=self.host.name)
            inventory = self.client.software_vibs(self.host)
            if record.get("inventory_digest") and record["inventory_digest"] != _scan.inventory_digest(inventory):
                raise PrecheckError("the host's VIBs changed since the scan recorded at %s; scan again"
                                    % record.get("scanned_at"), host=self.host.name)
            entry = record
        else:
            entry, inventory = self.run.scan_host(self.host, info)
            if record is not None and record.get("depot_digest") != entry["depot_digest"]:
                self.run.warn("host %s: the depot metadata changed since the recorded scan (%s): this deploy uses "
                              "a fresh scan" % (self.host.name, record.get("scanned_at")))
            self.run.write_record(entry)
            if inventory is None:
                inventory = self.client.software_vibs(self.host)
        self.r["scan"] = {"engine": entry.get("engine"), "scanned_at": entry.get("scanned_at"),
                          "depot_digest": entry.get("depot_digest"), "scan_record": entry.get("scan_record"),
                          "missing": [e["id"] for e in entry.get("missing", [])]}
        self.entry = entry
        self.inventory = inventory
        return entry, inventory

    def make_plan(self):
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
        self.selected = selected
        pd = plan.to_dict()
        pd["enter_maintenance_mode"] = actions["enter_maintenance_mode"]
        pd["reboot"] = actions["reboot"]
        self.pending = self.pending_ids() if plan.changed else []
        pd["pending_reboot"] = sorted(set(self.pending or []) & set(pd["install"]))
        self.r["plan"] = pd
        return plan

    def precheck_urls(self):
        """Everything the host must download is reachable (before touching the host)."""
        p = self.params
        steps = [s for s in self.plan.steps if s.kind in ("install", "profile_update")]
        if not steps:
            return
        if p.get("method") == "esxcli":
            if not self.run.urls.depot_urls():
                raise PrecheckError("esxcli needs a depot URL the host can reach; set depot_url for the local "
                                    "depot source(s) %s" % ", ".join(self.run.urls.unreachable()), host=self.host.name)
            return
        missing = [v.id for s in steps for v in s.install if not self.run.urls.vib_url(v.id)]
        if missing:
            raise PrecheckError("the host cannot download VIB(s) %s: the depot gives no URL for them that the host "
                                "can reach (set depot_url, or use method: esxcli for a zipped offline bundle)"
                                % ", ".join(missing), host=self.host.name, vibs=missing)
        self.run.host_meta(self.host, self.info)

    def execute(self):
        p = self.params
        plan = self.plan
        method = p.get("method")
        self.event("deploy started on %s: %s" % (self.host.name, self.describe()))
        reboot_needed = bool(set(self.pending or []) & {v.id for v in plan.install})
        changed = False
        with self.run.host_downloads(self.host):
            for number, step in enumerate(plan.steps, 1):
                rec = {"number": number, "kind": step.kind, "status": "dry_run", "method": method}
                self.r["steps"].append(rec)
                ctx = self.dry_run(step, rec)
                # the first dry run happens before maintenance mode, so a refusal leaves the host as it was
                if step.kind != "acceptance" and self.actions["enter_maintenance_mode"] and not self.entered_mm:
                    self.enter_mm()
                rec["status"] = "running"
                res = self.apply_step(step, rec, ctx)
                changed = changed or res.get("changed", False)
                reboot_needed = reboot_needed or bool(res.get("reboot_required"))
                rec["status"] = "no_change" if not res.get("changed") else (
                    "staged" if p.get("stage_only") and step.kind != "acceptance" else "applied")
                self.applied.append(number)
                if res.get("changed"):
                    self.r["changed"] = True
        if self.actions["enter_maintenance_mode"] and not self.entered_mm and not p.get("stage_only") and \
                reboot_needed:
            self.enter_mm()
        self.r["changed"] = self.r["changed"] or changed
        if p.get("stage_only"):
            return
        reboot = p.get("reboot")
        do_reboot = (reboot == "always" and (changed or reboot_needed)) or (reboot == "auto" and reboot_needed)
        if do_reboot:
            if not self.client.in_maintenance_mode(self.host):
                if p.get("maintenance_mode") == "never":
                    self.run.warn("host %s: a reboot is needed but maintenance_mode is never: not rebooting"
                                  % self.host.name)
                    do_reboot = False
                else:
                    self.enter_mm()
        if do_reboot:
            new_host, info = self.client.reboot(self.host, timeout=p.get("reboot_timeout") or 1800)
            self.host = new_host
            self.r["rebooted"] = True
            self.r["changed"] = True
            self.r["reboot"] = info
        self.r["pending_reboot"] = bool(reboot_needed and not do_reboot)

    def describe(self):
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
        return "; ".join(parts)

    def enter_mm(self):
        p = self.params
        changed = self.client.enter_maintenance_mode(
            self.host, timeout=p.get("maintenance_mode_timeout") or 0,
            evacuate_powered_off_vms=p.get("evacuate_powered_off_vms"), vsan_mode=p.get("vsan_mode"))
        if changed:
            self.entered_mm = True
            self.r["maintenance_mode"]["entered"] = True
            self.r["changed"] = True

    def exit_mm(self):
        p = self.params
        if self.entered_mm and self.client.exit_maintenance_mode(self.host, timeout=p.get("maintenance_mode_timeout")
                                                                 or 0):
            self.r["maintenance_mode"]["exited"] = True

    # ---- steps ----------------------------------------------------------------------------------------------
    def dry_run(self, step, rec):
        """Check ``step`` on the host without changing anything; returns what ``apply_step`` needs."""
        p = self.params
        host = self.host
        if step.kind == "acceptance":
            return None
        esxcli = self.client.esxcli
        if step.kind == "remove":
            names = sorted({v.name for v in step.remove})
            rec["dry_run"] = _install_summary(self._dry(
                lambda: esxcli.vib_remove(host, names, dryrun=True, maintenancemode=True), step))
            return names
        planned = {v.id for v in step.install}
        if p.get("method") == "esxcli":
            depots = self.run.urls.depot_urls()
            if step.kind == "profile_update":
                def call(dry):
                    return esxcli.profile_update(host, depots, step.profile, dryrun=dry, maintenancemode=dry)
            else:
                specs = ["%s:%s" % (v.name, v.version) for v in step.install]

                def call(dry):
                    return esxcli.vib_install(host, depot=depots, vibname=specs, dryrun=dry, maintenancemode=dry)
            dry = _install_summary(self._dry(lambda: call(True), step))
            dry.pop("changed", None)
            rec["dry_run"] = dry
            self._compare(planned, set(dry["installed"]), set(dry["skipped"]), rec)
            return call
        meta, bundles = self.run.host_meta(host, self.info)
        check = self._dry(lambda: self.client.patch_check(host, meta_urls=meta, bundle_urls=bundles), step)
        rec["dry_run"] = self._evaluate_check(check, step)
        return [self.run.urls.vib_url(v.id) for v in sorted(step.install, key=lambda v: v.id)]

    def apply_step(self, step, rec, ctx):
        p = self.params
        host = self.host
        if step.kind == "acceptance":
            res = self.client.acceptance_set(host, step.acceptance)
            rec["result"] = res
            return {"changed": res["changed"]}
        if step.kind == "remove":
            rec["result"] = _install_summary(self.client.esxcli.vib_remove(host, ctx))
            return rec["result"]
        planned = {v.id for v in step.install}
        if p.get("method") == "esxcli":
            rec["result"] = _install_summary(ctx(False))
            return rec["result"]
        vib_urls = ctx
        if p.get("stage_only"):
            if planned <= self.staged_ids():
                rec["result"] = {"changed": False, "staged": sorted(planned), "message": "already staged"}
                return rec["result"]
            summary = _patch_summary(self.client.patch_stage(host, vib_urls=vib_urls))
            summary["staged"] = sorted(planned)
            summary["changed"] = True
        else:
            summary = _patch_summary(self.client.patch_install(host, vib_urls=vib_urls))
        rec["result"] = summary
        return summary

    def staged_ids(self):
        """VIB ids staged on the host (scan records with pkgstate staged; empty when unknown)."""
        try:
            # esxupdate's "query" writes nothing; a scan without metadata lists the host's VIBs with their pkgstate
            res = esxupdate_result(self.client.patch_scan(self.host).get("xml_result"))
        except FleetpatchError:
            return set()
        return set(res["staged_vibs"]) if res["vib_staged"] is not False else set()

    def _dry(self, fn, step):
        try:
            return fn()
        except FleetpatchError as e:
            raise PrecheckError("dry run of step %s (%s) failed, nothing of this step was applied: %s"
                                % (len(self.r["steps"]), step.kind, e.msg), host=self.host.name,
                                step=len(self.r["steps"]), cause=e.kind, **{k: v for k, v in e.details.items()
                                                                            if k in ("error_class", "fault_type")})

    def _compare(self, planned, would, skipped, rec):
        other = sorted(would - planned)
        left = sorted(planned - would - skipped)
        if other:
            rec.setdefault("notes", []).append("the host would also install %s" % ", ".join(other))
        if left:
            rec.setdefault("notes", []).append("the host would not install %s" % ", ".join(left))

    def _evaluate_check(self, check, step):
        if check.get("errors"):
            err = check["errors"][0]
            raise PrecheckError("dry run (CheckHostPatch_Task) of step %d (%s): the host could not read the depot "
                                "metadata: %s: %s" % (len(self.r["steps"]), step.kind, err.get("error_class"),
                                                      redact_url(err.get("message") or "")),
                                host=self.host.name, step=len(self.r["steps"]))
        status = {s["id"]: s for s in check.get("status") or ()}
        out = {"bulletins": {}}
        refused = []
        for bid in step.bulletins:
            st = status.get(bid)
            if st is None:
                out["bulletins"][bid] = "not reported"
                continue
            reasons = list(st.get("reason") or ())
            out["bulletins"][bid] = "installed" if st.get("installed") else (
                "applicable" if st.get("applicable") else ", ".join(reasons) or "not applicable")
            if st.get("installed") or st.get("applicable"):
                continue
            bad = [r for r in reasons if r in _BLOCKING_REASONS]
            if len(step.bulletins) >= 2:
                # the host checks each bulletin alone; within one transaction another bulletin of the step brings
                # what this one needs (missingPatch) or replaces the installed VIB it would break (hasDependentPatch),
                # which the plan's resolution of the whole step verified
                bad = [r for r in bad if r != "hasDependentPatch"]
            elif "missingPatch" in reasons:
                bad.append("missingPatch")
            if bad:
                refused.append("%s (%s)" % (bid, ", ".join(bad)))
        if refused:
            raise PrecheckError("dry run (CheckHostPatch_Task) of step %d (%s): the host refuses %s"
                                % (len(self.r["steps"]), step.kind, "; ".join(refused)), host=self.host.name,
                                step=len(self.r["steps"]))
        return out

    # ---- after the steps --------------------------------------------------------------------------------
    def verify(self):
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

    def rescan(self):
        entry, _inv = self.run.scan_host(self.host)
        self.run.write_record(entry)
        self.r["rescan"] = {"engine": entry["engine"], "scanned_at": entry["scanned_at"],
                            "missing": [e["id"] for e in entry["missing"]], "compliant": entry["compliant"],
                            "version": entry["version"], "build": entry["build"]}
        self.r["compliant"] = entry["compliant"]
        self.r["version"], self.r["build"] = entry["version"], entry["build"]

    def host_state(self, err):
        """The host's state after a failure (never raises)."""
        state = {"reachable": None, "connection_state": None, "in_maintenance_mode": None,
                 "entered_maintenance_mode": self.entered_mm, "maintenance_mode_exited": False}
        wait = 0 if isinstance(err, RebootTimeoutError) else min(120, int(self.params.get("reboot_timeout") or 120))
        try:
            if wait and (err.details.get("connection_lost") or err.details.get("session_lost")
                         or err.details.get("outcome_unknown") or isinstance(err, HostNotConnectedError)
                         or "not connected" in err.msg.lower()):
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
            pend = self.pending_ids()
            state["pending_reboot_vibs"] = pend
        if self.params.get("exit_maintenance_on_failure") and self.entered_mm and state["in_maintenance_mode"]:
            try:
                if self.client.exit_maintenance_mode(self.host):
                    state["maintenance_mode_exited"] = True
                    state["in_maintenance_mode"] = False
            except FleetpatchError as e3:
                state["exit_maintenance_mode_error"] = e3.msg
        return state


def _install_summary(res):
    return {"changed": bool(res.get("changed")), "installed": list(res.get("vibs_installed") or ()),
            "removed": list(res.get("vibs_removed") or ()), "skipped": list(res.get("vibs_skipped") or ()),
            "reboot_required": bool(res.get("reboot_required")), "message": res.get("message")}


def _patch_summary(res):
    summary = install_summary(res)
    err = summary["error"]
    if err:
        raise VSphereError("the host's update engine failed: %s (esxupdate error %s)%s"
                           % (err["class"], err["code"], ": " + "; ".join(err["messages"]) if err["messages"] else ""),
                           error_class=err["class"], error_code=err["code"], error_messages=list(err["messages"]))
    return summary


def _diff(name, before, after):
    return {"before_header": "%s: VIBs before" % name, "after_header": "%s: VIBs after" % name,
            "before": "".join("%s\n" % i for i in _ids(before)), "after": "".join("%s\n" % i for i in _ids(after))}


def run_deploy(params, check_mode=False, diff_mode=False, partial=None, client=None, depot=None):
    """The ``esxi_patch_deploy`` module: returns its result dict, or raises with ``partial`` filled in."""
    partial = partial if partial is not None else {}
    results = []
    diffs = []
    partial.update(changed=False, hosts=results)
    run = _Run(params, client=client, depot=depot)
    partial["warnings"] = run.warnings
    try:
        hosts = _targets(run.client, params)
        for host in hosts:
            r = {"name": host.name, "moid": host.moid, "changed": False, "plan": None, "steps": [],
                 "maintenance_mode": {"entered": False, "exited": False}, "rebooted": False,
                 "pending_reboot": False, "verified": None, "compliant": None, "events": []}
            results.append(r)
            hd = _HostDeploy(run, host, check_mode, diff_mode, r)
            hd.scan()
            r["maintenance_mode"]["before"] = hd.info.get("in_maintenance_mode")
            plan = hd.make_plan()
            if plan.blockers:
                raise PrecheckError("pre-check failed, nothing was changed: %s" % plan.blocker_text(),
                                    host=host.name, blockers=plan.blockers)
            r["maintenance_mode"]["required"] = hd.actions["maintenance_mode_needed"]
            if not plan.changed and not (set(hd.pending or []) & {v.id for v in plan.install}):
                r["compliant"] = hd.entry.get("compliant")
                if diff_mode:
                    diffs.append(_diff(r["name"], plan.before, plan.before))
                continue
            hd.precheck_urls()
            if check_mode:
                r["changed"] = plan.changed
                if diff_mode:
                    diffs.append(_diff(r["name"], plan.before, plan.after))
                continue
            try:
                hd.execute()
                if not params.get("stage_only"):
                    hd.verify()
                    hd.rescan()
                hd.exit_mm()
                hd.event("deploy finished on %s: %s%s" % (
                    r["name"], "changed" if r["changed"] else "no change",
                    ", rebooted" if r["rebooted"] else (", reboot pending" if r["pending_reboot"] else "")))
            except FleetpatchError as e:
                partial["changed"] = partial.get("changed") or r["changed"]
                state = hd.host_state(e)
                r["failed"] = True
                r["msg"] = str(e)
                r["state"] = state
                for s in r["steps"]:
                    if s["status"] == "dry_run":
                        s["status"] = "refused"          # its dry run failed: nothing of it was applied
                    elif s["status"] == "running":
                        s["status"] = "failed"
                        if e.details.get("outcome_unknown") or e.details.get("connection_lost") or \
                                isinstance(e, HostNotConnectedError):
                            s["outcome_unknown"] = True
                applied = [s for s in r["steps"] if s["status"] in ("applied", "staged", "no_change")]
                hd.event("deploy FAILED on %s: %s" % (r["name"], e.msg))
                partial["failed_host"] = r["name"]
                partial["host_state"] = state
                e.msg = "%s. Applied before the failure: %s. Host state: %s" % (
                    e.msg.rstrip("."), ", ".join("step %d (%s, %s)" % (s["number"], s["kind"], s["status"])
                                                 for s in applied) or "nothing",
                    _state_text(state))
                e.args = (str(e),)
                raise
            if diff_mode:
                after = getattr(hd, "final_inventory", None)
                diffs.append(_diff(r["name"], plan.before, after if after is not None else plan.after))
        out = {"changed": any(r["changed"] for r in results), "hosts": results, "depot_digest": run.depot.digest,
               "warnings": run.warnings}
        if len(results) == 1:
            out["plan"] = results[0]["plan"]
        if diff_mode:
            out["diff"] = diffs[0] if len(diffs) == 1 else diffs
        return out
    finally:
        partial["changed"] = bool(partial.get("changed") or any(r["changed"] for r in results))
        run.close()


def _state_text(state):
    if not state.get("reachable"):
        return "unreachable (%s)" % (state.get("connection_state") or "unknown")
    mm = state.get("in_maintenance_mode")
    text = "%s, %s maintenance mode" % (state.get("connection_state"), "in" if mm else "not in")
    if state.get("maintenance_mode_exited"):
        text += " (exited after the failure)"
    if state.get("pending_reboot_vibs"):
        text += ", %d VIB(s) pending a reboot" % len(state["pending_reboot_vibs"])
    return text
