# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: deploy planning: from a host's scan and the user's selection to an ordered list of steps.
Pure; no Ansible, no pyVmomi, no I/O. Breaking changes at any time.

``build(depot, inventory, groups, ...)`` returns a ``DeployPlan``:

- the selected bulletins that the scan found ``missing`` are installed; ``installed`` and ``superseded`` ones are
  skipped (``skip`` says why); a bulletin named explicitly (``explicit``) that the scan found ``not_applicable``, or
  did not report at all, is refused (``blockers``);
- the VIBs of those bulletins go through ``_resolve.apply_candidates`` on the host's VIBs (newest per name, older
  or equal skipped, ``replaces``); a ``depends`` that the result does not satisfy is looked up in the depot and the
  newest provider's bulletin is added (``added_dependencies``, repeated until nothing is missing);
- ``profile``: the profile's VIBs are applied first, as ``esxcli software profile update`` does (installed VIBs
  are upgraded, never removed); with ``allow_removal`` the installed VIBs whose names are not in the profile leave
  as well (a full replacement, as ``profile install``), each listed in ``remove`` and ``removed_by_request``;
- the problems the change would introduce (``missing_dependency``, ``conflict``, ``duplicate_name``, platform
  errors) and an acceptance level below the host's (unless ``allow_acceptance_change``) are ``blockers``;
- ``steps``, in order: ``acceptance`` (lower the host acceptance level), ``profile_update``, ``install``,
  ``remove``. Each step carries its own VIBs and maintenance mode / reboot needs.

``host_actions(plan, ...)`` decides maintenance mode and reboot from the plan and the module options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import acceptance_rank, normalize_acceptance
from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder.resolve import (
    ChangeRequirements, VibIndex, apply_candidates, change_requirements, lowest_acceptance, sort_findings,
    validate_set, vcmp)

STEP_KINDS = ("acceptance", "profile_update", "install", "remove")
MAX_DEPENDENCY_ROUNDS = 8
_BLOCKING = ("missing_dependency", "conflict", "duplicate_name", "platform_mismatch")


@dataclass
class Step(object):
    """One host operation of a deploy."""
    kind: str
    install: List = field(default_factory=list)       # Vib
    remove: List = field(default_factory=list)        # Vib (upgraded, replaced or removed on request)
    bulletins: List[str] = field(default_factory=list)
    profile: Optional[str] = None
    acceptance: Optional[str] = None                  # target level of an ``acceptance`` step
    requirements: ChangeRequirements = field(default_factory=ChangeRequirements)

    def to_dict(self, number=None):
        return {"number": number, "kind": self.kind, "bulletins": list(self.bulletins),
                "install": sorted(v.id for v in self.install), "remove": sorted(v.id for v in self.remove),
                "profile": self.profile, "acceptance": self.acceptance,
                "maintenance_mode_required": self.requirements.maintenance_mode_required,
                "reboot_required": self.requirements.reboot_required}


@dataclass
class DeployPlan(object):
    """What a deploy would do on one host. ``before``/``after`` are the VIB sets (Vib) around the change."""
    selected: List[str] = field(default_factory=list)
    bulletins: List[str] = field(default_factory=list)
    profile: Optional[str] = None
    steps: List[Step] = field(default_factory=list)
    install: List = field(default_factory=list)
    remove: List = field(default_factory=list)
    removed_by_request: List[str] = field(default_factory=list)
    replaces: dict = field(default_factory=dict)
    skip: List[dict] = field(default_factory=list)
    added_dependencies: List[dict] = field(default_factory=list)
    kept: List[str] = field(default_factory=list)
    not_applicable_count: int = 0
    acceptance: dict = field(default_factory=dict)
    requirements: ChangeRequirements = field(default_factory=ChangeRequirements)
    findings: List = field(default_factory=list)
    blockers: List[dict] = field(default_factory=list)
    before: List = field(default_factory=list)
    after: List = field(default_factory=list)
    merged_profile: bool = False

    @property
    def changed(self):
        return bool(self.steps)

    @property
    def ok(self):
        return not self.blockers

    def blocker_text(self):
        return "; ".join(b["detail"] for b in self.blockers)

    def to_dict(self):
        return {
            "changed": self.changed, "ok": self.ok, "selected": list(self.selected),
            "bulletins": list(self.bulletins), "profile": self.profile,
            "install": sorted(v.id for v in self.install), "remove": sorted(v.id for v in self.remove),
            "removed_by_request": sorted(self.removed_by_request),
            "replaces": {k: sorted(v) for k, v in sorted(self.replaces.items())},
            "skip": list(self.skip), "added_dependencies": list(self.added_dependencies), "kept": sorted(self.kept),
            "not_applicable_count": self.not_applicable_count,
            "steps": [s.to_dict(i + 1) for i, s in enumerate(self.steps)],
            "maintenance_mode_required": self.requirements.maintenance_mode_required,
            "reboot_required": self.requirements.reboot_required,
            "live_install_allowed": self.requirements.live_install_allowed,
            "acceptance": dict(self.acceptance),
            "findings": [f.to_dict() for f in self.findings],
            "blockers": list(self.blockers), "merged_profile": self.merged_profile,
        }


def _newest(vibs):
    best = None
    for v in vibs:
        if best is None or vcmp(v.version, best.version) > 0 or (vcmp(v.version, best.version) == 0 and v.id > best.id):
            best = v
    return best


def _bulletin_owner(depot, product_line, version):
    """VIB id -> id of the newest applicable bulletin holding it."""
    owner = {}
    for bid in sorted(depot.bulletins):
        b = depot.bulletins[bid]
        if not b.applies_to(product_line, version):
            continue
        for vid in b.vib_ids:
            owner[vid] = bid
    return owner


def _skip_entries(skipped):
    out = []
    for s in sorted(skipped, key=lambda s: s.vib.id):
        d = s.to_dict()
        d["type"] = "vib"
        out.append(d)
    return out


def build(depot, inventory, groups, bulletin_ids=(), product_line="embeddedEsx", version=None,
          host_acceptance=None, profile=None, explicit=(), exclude=(), allow_acceptance_change=False,
          allow_removal=False):
    """Plan the deploy of ``bulletin_ids`` (and/or ``profile``) on a host; see the module docstring.

    ``groups``: the host's scan (``_scan.classify``/``from_host_status`` shape); ``inventory``: its VIBs (Vib);
    ``explicit``: the ids the user named (refused when not applicable); ``exclude``: ids never added as a
    dependency. Raises ``InputError`` for an unknown profile; every other problem is a blocker of the plan.

    Phases (``_Builder``): the selected bulletins against the scan; the profile; the bulletins with their
    dependencies from the depot; profile and bulletins merged into one transaction when the profile alone would
    break the host; removal on request; the acceptance level."""
    b = _Builder(depot, inventory, product_line, version, profile)
    wanted = b.wanted(groups, bulletin_ids, set(explicit or ()))
    removal, p1_blockers, prof_cands = b.profile_phase(allow_removal) if profile else ([], [], [])
    chosen, cands, p2 = b.bulletin_phase(wanted, set(exclude or ()))
    if p1_blockers and p2 is not None and b.plan.steps and b.plan.steps[0].kind == "profile_update":
        p1_blockers = b.merge_profile(prof_cands, cands, p1_blockers)
    b.plan.blockers.extend(p1_blockers)
    stepped = set()
    for st in b.plan.steps:
        stepped.update(st.bulletins)
    b.plan.bulletins = [x for x in chosen if x in stepped]
    if removal:
        b.removal_phase(removal)
    b.acceptance_phase(host_acceptance, allow_acceptance_change)
    return b.finish()


class _Builder(object):
    """The state shared by the phases of ``build``: the plan, the host's VIB set as the steps change it
    (``base``), everything installed and removed so far, the depot catalogue for the host."""

    def __init__(self, depot, inventory, product_line, version, profile):
        self.depot = depot
        self.inventory = list(inventory)
        self.product_line = product_line
        self.profile = profile
        self.plan = DeployPlan(selected=[], profile=profile, before=self.inventory)
        self.catalog = VibIndex([v for v in depot.vibs.values() if v.applies_to(product_line, version)])
        self.owner = _bulletin_owner(depot, product_line, version)
        self.base = list(self.inventory)
        self.all_install = []
        self.all_remove = []

    def _apply(self, base, cands):
        return apply_candidates(base, cands, None, self.product_line, catalog=self.catalog)

    def _add_step(self, kind, res, bulletins, profile=None):
        self.plan.steps.append(Step(kind, install=list(res.install), remove=list(res.remove), bulletins=bulletins,
                                    profile=profile, requirements=change_requirements(res.install, res.remove)))
        self.all_install.extend(res.install)
        self.all_remove.extend(res.remove)
        self.plan.replaces.update(res.replaces)

    def wanted(self, groups, bulletin_ids, explicit):
        """The selected bulletins that are missing; the others as skips or blockers."""
        plan = self.plan
        plan.selected = list(bulletin_ids)
        by_id = {}
        for g in ("installed", "missing", "superseded", "not_applicable"):
            for e in groups.get(g, ()):
                by_id[e["id"]] = (g, e)
        wanted = []
        for bid in bulletin_ids:
            g, e = by_id.get(bid, (None, None))
            if g == "missing":
                wanted.append(bid)
            elif g in ("installed", "superseded"):
                plan.skip.append({"id": bid, "type": "bulletin", "reason": g, "detail": e.get("reason", ""),
                                  "by": e.get("superseded_by")})
            elif g == "not_applicable":
                if bid in explicit:
                    plan.blockers.append({"type": "not_applicable", "bulletin": bid,
                                          "detail": "bulletin %s is not applicable to the host (%s)"
                                          % (bid, e.get("reason", ""))})
                else:
                    plan.not_applicable_count += 1
            elif bid in explicit:
                plan.blockers.append({"type": "not_scanned", "bulletin": bid,
                                      "detail": "bulletin %s was not reported by the scan of the host" % bid})
        return wanted

    def profile_phase(self, allow_removal):
        """The profile's VIBs on the host. Returns (VIBs to remove on request, blockers, the profile's VIBs)."""
        plan, depot, profile = self.plan, self.depot, self.profile
        prof = depot.profiles.get(profile)
        if prof is None:
            raise InputError("image profile %s is not in the depot (profiles: %s)"
                             % (profile, ", ".join(sorted(depot.profiles)) or "none"))
        for vid in [vid for vid in prof.vib_ids if vid not in depot.vibs]:
            plan.blockers.append({"type": "missing_vib", "vib": vid,
                                  "detail": "image profile %s lists VIB %s, which is not in the depot" % (profile, vid)})
        cands = [depot.vibs[vid] for vid in prof.vib_ids if vid in depot.vibs]
        p1 = self._apply(self.base, cands)
        plan.skip.extend(s for s in _skip_entries(p1.skipped) if s["reason"] != "already_installed")
        names = {v.name for v in cands}
        extra = [v for v in p1.result if v.name not in names]
        removal = []
        if allow_removal:
            removal = extra
        else:
            plan.kept = [v.id for v in extra]
        plan.findings.extend(f for f in p1.findings if f.severity != "error")
        blockers = [{"type": f.type, "vib": f.vib, "detail": f.detail} for f in p1.findings
                    if f.severity == "error" and f.type in _BLOCKING]
        if p1.changed:
            self._add_step("profile_update", p1, sorted({self.owner[v.id] for v in p1.install if v.id in self.owner}),
                           profile=profile)
        self.base = p1.result
        return removal, blockers, cands

    def bulletin_phase(self, wanted, exclude):
        """The wanted bulletins plus the depot bulletins their VIBs depend on. Returns (bulletins chosen, candidate
        VIBs, the last resolution or None)."""
        depot = self.depot
        chosen = list(wanted)
        cands = []
        seen = set()

        def add_bulletin(bid):
            for vid in depot.bulletins[bid].vib_ids:
                v = depot.vibs.get(vid)
                if v is not None and v.id not in seen:
                    seen.add(v.id)
                    cands.append(v)

        for bid in chosen:
            add_bulletin(bid)
        if not cands:
            return chosen, cands, None
        added = False
        for _round in range(MAX_DEPENDENCY_ROUNDS):
            p2 = self._apply(self.base, cands)
            added = self._add_dependencies(p2, cands, seen, chosen, exclude, add_bulletin)
            if not added:
                break
        if added:
            p2 = self._apply(self.base, cands)
        self._record_resolution(p2, chosen)
        return chosen, cands, p2

    def _add_dependencies(self, p2, cands, seen, chosen, exclude, add_bulletin):
        """One round: for each unmet dependency of a VIB to install, add the newest depot VIB that provides it
        (with its bulletin). True when something was added."""
        plan = self.plan
        extra = []
        after = VibIndex(p2.result)
        added = False
        for v in p2.install:
            for rel in v.depends:
                if after.satisfied(rel):
                    continue
                best = _newest([p for p in self.catalog.providers(rel) if p.id not in seen])
                if best is None:
                    continue            # reported as missing_dependency
                bid = self.owner.get(best.id)
                if bid in exclude:
                    plan.blockers.append({
                        "type": "excluded_dependency", "bulletin": bid, "vib": v.id,
                        "detail": "%s requires %s, provided by bulletin %s, which is excluded" % (v.id, rel, bid)})
                    seen.add(best.id)
                    continue
                before_len = len(cands)
                if bid:
                    chosen.append(bid)
                    add_bulletin(bid)
                else:
                    seen.add(best.id)
                    cands.append(best)
                extra.extend(cands[before_len:])
                after = VibIndex(list(p2.result) + extra)
                plan.added_dependencies.append({"bulletin": bid, "vib": best.id, "for": v.id, "requires": str(rel)})
                added = True
        return added

    def _record_resolution(self, p2, chosen):
        plan = self.plan
        plan.skip.extend(s for s in _skip_entries(p2.skipped)
                         if not (s["reason"] == "already_installed" and self.profile))
        plan.findings.extend(f for f in p2.findings if f.severity != "error")
        for f in p2.findings:
            if f.severity == "error" and f.type in _BLOCKING:
                plan.blockers.append({"type": f.type, "vib": f.vib, "detail": f.detail})
        if p2.changed:
            installed_ids = {v.id for v in p2.install}
            step_bulletins = [b for b in chosen
                              if any(vid in installed_ids for vid in self.depot.bulletins[b].vib_ids)]
            self._add_step("install", p2, step_bulletins)
        self.base = p2.result

    def merge_profile(self, prof_cands, cands, p1_blockers):
        """The profile alone would break the host (e.g. an installed driver needs an API the new base drops) but
        the bulletins fix it: one transaction for both, as the host resolves a single install. Returns the
        profile's blockers that remain."""
        plan = self.plan
        pc = self._apply(self.inventory, list(prof_cands) + list(cands))
        if [f for f in pc.findings if f.severity == "error" and f.type in _BLOCKING]:
            return p1_blockers
        bulletins = []
        for st in plan.steps:
            bulletins.extend(b for b in st.bulletins if b not in bulletins)
        plan.steps = [Step("install", install=list(pc.install), remove=list(pc.remove), bulletins=bulletins,
                           profile=self.profile, requirements=change_requirements(pc.install, pc.remove))]
        self.all_install[:] = list(pc.install)
        self.all_remove[:] = list(pc.remove)
        plan.replaces = dict(pc.replaces)
        plan.findings = [f for f in pc.findings if f.severity != "error"]
        self.base = pc.result
        plan.merged_profile = True
        return []

    def removal_phase(self, removal):
        """Remove the VIBs that are not in the profile (``allow_removal``), refused when that breaks the host."""
        plan = self.plan
        gone = {v.id for v in removal}
        final = [v for v in self.base if v.id not in gone]
        before_keys = {(f.type, f.vib, f.detail)
                       for f in validate_set(self.base, None, self.product_line, None, self.catalog)}
        for f in validate_set(final, None, self.product_line, None, self.catalog):
            if f.severity == "error" and (f.type, f.vib, f.detail) not in before_keys:
                plan.blockers.append({"type": f.type, "vib": f.vib,
                                      "detail": "removing the VIBs that are not in profile %s: %s"
                                      % (self.profile, f.detail)})
        plan.steps.append(Step("remove", remove=list(removal), profile=self.profile,
                               requirements=change_requirements((), removal)))
        plan.removed_by_request = sorted(gone)
        self.all_remove.extend(removal)
        self.base = final

    def acceptance_phase(self, host_acceptance, allow_acceptance_change):
        """Lower the host's acceptance level first (``allow_acceptance_change``) or block the plan."""
        plan = self.plan
        host_level = normalize_acceptance(host_acceptance) if host_acceptance else None
        required = lowest_acceptance(self.all_install)
        plan.acceptance = {"host": host_level, "required": required, "change_to": None}
        if not (host_level and required and acceptance_rank(required) < acceptance_rank(host_level)):
            return
        low = sorted(v.id for v in self.all_install
                     if acceptance_rank(v.acceptance_level) < acceptance_rank(host_level))
        if allow_acceptance_change:
            plan.acceptance["change_to"] = required
            plan.steps.insert(0, Step("acceptance", acceptance=required))
        else:
            plan.blockers.append({
                "type": "acceptance_level", "vib": low[0],
                "detail": "the host acceptance level is %s but %s %s %s; set allow_acceptance_change: true to lower "
                          "the host level to %s" % (host_level, ", ".join(low), "is" if len(low) == 1 else "are",
                                                    required, required)})

    def finish(self):
        plan = self.plan
        plan.install = sorted(self.all_install, key=lambda v: v.id)
        seen_rm = {}
        for v in self.all_remove:
            seen_rm[v.id] = v
        plan.remove = [seen_rm[k] for k in sorted(seen_rm)]
        plan.requirements = change_requirements(self.all_install, self.all_remove)
        plan.after = self.base
        plan.findings = sort_findings(plan.findings)
        return plan


def host_actions(plan, maintenance_mode="auto", reboot="auto", stage_only=False, in_maintenance_mode=False):
    """Maintenance mode and reboot decisions for ``plan``.

    Returns ``{enter_maintenance_mode, maintenance_mode_needed, reboot, blockers}``:

    - a reboot happens when something changes and ``reboot`` is ``always``, or ``auto`` and a VIB needs one;
      ``stage_only`` never reboots;
    - maintenance mode is needed when a VIB to install or remove requires it, or for the reboot (a host reboots
      only in maintenance mode); staging needs none;
    - ``auto`` enters it only when needed, ``require`` whenever something changes, ``never`` refuses a plan that
      needs it (unless the host is already in maintenance mode).
    """
    out = {"enter_maintenance_mode": False, "maintenance_mode_needed": False, "reboot": False, "blockers": []}
    changes = plan.changed
    if stage_only:
        if any(s.kind == "remove" for s in plan.steps):
            out["blockers"].append({"type": "stage_only", "detail": "stage_only cannot remove VIBs (allow_removal)"})
        return out
    will_reboot = changes and (reboot == "always" or (reboot == "auto" and plan.requirements.reboot_required))
    needed = changes and (plan.requirements.maintenance_mode_required or will_reboot)
    out["reboot"] = bool(will_reboot)
    out["maintenance_mode_needed"] = bool(needed)
    if maintenance_mode == "require":
        out["enter_maintenance_mode"] = bool(changes and not in_maintenance_mode)
    elif maintenance_mode == "never":
        if needed and not in_maintenance_mode:
            why = []
            if plan.requirements.maintenance_mode_required:
                why.append("VIB(s) %s require maintenance mode" % ", ".join(plan.requirements.maintenance_mode_vibs))
            if will_reboot:
                why.append("the reboot needs maintenance mode")
            out["blockers"].append({"type": "maintenance_mode",
                                    "detail": "maintenance_mode is never but %s" % " and ".join(why)})
    else:
        out["enter_maintenance_mode"] = bool(needed and not in_maintenance_mode)
    return out
