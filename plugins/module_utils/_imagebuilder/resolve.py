# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VIB set resolution, as Image Builder and esximage do it. Pure; no Ansible, no I/O.
Breaking changes at any time.

Vocabulary
----------
A *VIB set* is an image profile's VIBs or a host's installed inventory (any iterable of ``_models.Vib``).

- **one version per name**: a set holds at most one VIB per ``name``; two are a ``duplicate_name`` error.
  When VIBs are *added* (``compose``) or *applied* (``apply_candidates``), the newer one takes the place of the
  older one.
- **replaces**: ``Vib.replaces`` constraints retire other VIBs (matched by *name* and version relation), e.g.
  esx-base 6.7 replaces ``esx-tboot`` and ``esx-xlibs``. A retired VIB still present in a set is reported as
  ``replaced`` (a warning: it is dead weight, the installer would drop it).
- **provides**: a VIB provides its own ``name = version`` plus every ``Vib.provides`` entry (virtual names such
  as ``vmkapi_2_3_0_0`` or ``esx-version = 6.7.0-0.0.8169922``). A ``depends`` constraint is satisfied by a
  provider whose version stands in the constraint's relation; a provide *without* a version satisfies only a
  constraint without a relation. ``conflicts`` constraints match names and provides the same way.
- **platform**: a VIB's ``platforms`` (product line + version pattern ``6.*``, ``7.0.0``, ``8.0``) are matched
  against the image's own ESXi version, which its ``esx-base`` VIB provides as ``esx-version``.
- **acceptance**: every VIB must be at or above the minimum (``certified > accepted > partner > community``).

Findings
--------
Every problem is a ``Finding(type, severity, vib, detail, related)``; ``vib`` is the VIB id the finding is
about, ``related`` the other VIB ids involved. Types and default severities produced here:

=====================  ========  ====================================================================
type                   severity  meaning
=====================  ========  ====================================================================
``missing_dependency`` error     a ``depends`` constraint nothing in the set satisfies; ``related`` =
                                 VIBs of the catalog (depot) that would satisfy it
``conflict``           error     a ``conflicts`` constraint matches another VIB of the set (``related``)
``duplicate_name``     error     two or more VIBs of one name in the set (``vib`` = newest)
``replaced``           warning   a VIB of the set is retired by another VIB's ``replaces`` (``related``)
                       info      ``compose``/``apply_candidates`` dropped it in favour of ``related``
``acceptance_level``   error     the VIB's acceptance level is below the minimum
``platform_mismatch``  error     no platform of the VIB is for the image's product line
                       warning   the product line fits but no version pattern matches the image's ESXi
                                 version (real ESXi installs e.g. ghettoVCB declared for ``5.*`` on 7.0;
                                 real incompatibilities show up as ``missing_dependency`` on vmkapi)
=====================  ========  ====================================================================

``_validate.py`` adds ``missing_vib``, ``unsigned``, ``signature_invalid``, ``expired_signer``,
``checksum_mismatch`` and ``file_path`` with the same ``Finding`` class.

API (what scan/deploy build on)
-------------------------------
- ``VibIndex(vibs)``: built once, O(n); ``by_id``, ``by_name``, ``providers(relation)``,
  ``name_matches(relation)``, ``conflicts_with(relation)``, ``newest(name)``, ``esx_version()``.
- ``validate_set(vibs, minimum_acceptance=None, product_line=..., esx_version=None, catalog=None)``
  -> sorted list of ``Finding``: the Image Builder checks of one set.
- ``compose(base, add=(), remove=())`` -> ``Composition``: Image Builder's Add/Remove-EsxSoftwarePackage
  (an added VIB replaces the same-named VIB whatever its version, and retires what it ``replaces``).
- ``apply_candidates(installed, candidates, ...)`` -> ``Plan``: what installing ``candidates`` on a host (or
  image) with ``installed`` would do, esxcli ``software vib update`` style: newest candidate per name wins,
  candidates older than or equal to the installed version are skipped, ``replaces`` retires installed VIBs,
  platform-inapplicable candidates are skipped; the plan's ``findings`` are the problems the change would
  *introduce* (``preexisting`` holds those already there), plus maintenance mode / reboot needs.
- ``change_requirements(install, remove)`` -> ``ChangeRequirements`` (maintenance mode, reboot, live install).
- ``diff(base, target)`` -> dict, as ``Compare-EsxImageProfile`` (ImageProfileDiff): ``added``, ``removed``,
  ``upgraded``, ``downgraded``, ``unchanged``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Set, Tuple, Union

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import (
    ACCEPTANCE_LEVELS, acceptance_allows, normalize_acceptance)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vibversion import platform_version_matches
from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder.vibindex import (  # noqa: F401 (re-exports)
    ESX_BASE, VibIndex, _ids, _newest_first, _rel_text, _satisfies, vcmp)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder.vibindex import (  # noqa: F401 pylint: disable=unused-import
    esx_version_of)

if TYPE_CHECKING:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Vib

SEVERITIES = ("error", "warning", "info")
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}

MISSING_DEPENDENCY = "missing_dependency"
CONFLICT = "conflict"
DUPLICATE_NAME = "duplicate_name"
REPLACED = "replaced"
ACCEPTANCE_LEVEL = "acceptance_level"
PLATFORM_MISMATCH = "platform_mismatch"

DEFAULT_PRODUCT_LINE = "embeddedEsx"

# Skip reasons of apply_candidates
ALREADY_INSTALLED = "already_installed"
OLDER_THAN_INSTALLED = "older_than_installed"
SUPERSEDED_BY_CANDIDATE = "superseded_by_candidate"
REPLACED_BY_INSTALLED = "replaced_by_installed"
NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class Finding:
    """One typed problem. ``vib`` is the VIB id it is about (None for the profile itself)."""
    type: str
    severity: str
    vib: Optional[str]
    detail: str
    related: Tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        return {"type": self.type, "severity": self.severity, "vib": self.vib, "detail": self.detail,
                "related": list(self.related)}

    def sort_key(self) -> Tuple[int, str, str, str]:
        return (_SEVERITY_RANK.get(self.severity, 9), self.type, self.vib or "", self.detail)


def sort_findings(findings: List[Any]) -> List[Any]:
    """Errors first, then warnings, then info; by type and VIB id within a severity. Duplicates removed."""
    seen = set()
    out = []
    for f in sorted(findings, key=Finding.sort_key):
        key = (f.type, f.severity, f.vib, f.detail, f.related)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


# ---- set validation ------------------------------------------------------------------------------------
def _platform_text(vib: Vib) -> str:
    return ", ".join("%s %s" % (p.product_line or "*", p.version or "*") for p in vib.platforms)


def check_platform(vib: Vib, product_line: str, esx_version: Optional[str]) -> Optional[Finding]:
    """A ``platform_mismatch`` Finding for ``vib`` on ``product_line``/``esx_version``, or None.

    No platform = any. An unknown ``esx_version`` checks the product line only."""
    if not vib.platforms:
        return None
    line_ok = [p for p in vib.platforms
               if not p.product_line or not product_line or p.product_line == product_line]
    if not line_ok:
        return Finding(PLATFORM_MISMATCH, "error", vib.id,
                       "%s is for %s, not for product line %s" % (vib.id, _platform_text(vib), product_line))
    if not esx_version:
        return None
    if any(platform_version_matches(p.version, esx_version) for p in line_ok):
        return None
    return Finding(PLATFORM_MISMATCH, "warning", vib.id,
                   "%s is for %s, the image is %s %s" % (vib.id, _platform_text(vib), product_line or "ESXi",
                                                         esx_version))


def validate_set(vibs: Union[List[Vib], VibIndex], minimum_acceptance: Optional[str] = None,
                 product_line: str = DEFAULT_PRODUCT_LINE, esx_version: Optional[str] = None,
                 catalog: Optional[VibIndex] = None, check_acceptance_of: Optional[Set[str]] = None) -> List[Any]:
    """The Image Builder checks of one VIB set; returns a sorted list of ``Finding``.

    ``vibs``: iterable of Vib or a ``VibIndex``. ``minimum_acceptance``: level name (any spelling) or None for
    no acceptance check. ``esx_version``: the image's ESXi version; None = derive it from esx-base (no version
    check when there is none). ``catalog``: a ``VibIndex`` of everything available (the depot), used to name
    the VIBs that would satisfy a missing dependency (``related``). ``check_acceptance_of``: restrict the
    acceptance check to these VIB ids (None = all).
    """
    idx = vibs if isinstance(vibs, VibIndex) else VibIndex(vibs)
    findings = []
    minimum = normalize_acceptance(minimum_acceptance) if minimum_acceptance else None
    if esx_version is None:
        esx_version = idx.esx_version()

    for name, same in idx.by_name.items():
        if len(same) > 1:
            findings.append(Finding(
                DUPLICATE_NAME, "error", same[0].id,
                "%d VIBs named %s in one image (versions %s); an image holds one version per name"
                % (len(same), name, ", ".join(v.version for v in same)), _ids(same[1:])))

    for vib in idx:
        for rel in vib.depends:
            if not idx.satisfied(rel):
                related = ()
                if catalog is not None:
                    related = _ids(catalog.providers(rel)[:10])
                findings.append(Finding(
                    MISSING_DEPENDENCY, "error", vib.id,
                    "%s depends on %s, which no VIB in the image provides%s"
                    % (vib.id, _rel_text(rel), ("; available in the depot: %s" % ", ".join(related))
                       if related else ""), related))
        for rel in vib.conflicts:
            hits = idx.conflicts_with(rel, exclude=vib.id)
            if hits:
                findings.append(Finding(
                    CONFLICT, "error", vib.id,
                    "%s conflicts with %s: %s" % (vib.id, _rel_text(rel), ", ".join(v.id for v in hits)),
                    _ids(hits)))
        for rel in vib.replaces:
            hits = [v for v in idx.name_matches(rel, exclude=vib.id) if v.name != vib.name]
            for old in hits:
                findings.append(Finding(
                    REPLACED, "warning", old.id,
                    "%s is replaced by %s (replaces %s) and should not be in the same image"
                    % (old.id, vib.id, _rel_text(rel)), (vib.id,)))
        if minimum and (check_acceptance_of is None or vib.id in check_acceptance_of):
            try:
                ok = acceptance_allows(minimum, vib.acceptance_level)
            except ValueError:
                ok = False
            if not ok:
                findings.append(Finding(
                    ACCEPTANCE_LEVEL, "error", vib.id,
                    "%s has acceptance level %s, below the minimum %s"
                    % (vib.id, vib.acceptance_level, minimum)))
        pf = check_platform(vib, product_line, esx_version)
        if pf is not None:
            findings.append(pf)
    return sort_findings(findings)


def lowest_acceptance(vibs: List[Vib]) -> Optional[str]:
    """The lowest acceptance level among ``vibs`` (the level an image of them needs), or None if empty."""
    rank = None
    for v in vibs:
        try:
            r = ACCEPTANCE_LEVELS.index(normalize_acceptance(v.acceptance_level))
        except ValueError:
            r = 0
        rank = r if rank is None else min(rank, r)
    return None if rank is None else ACCEPTANCE_LEVELS[rank]


# ---- composing a profile (Image Builder Add/Remove-EsxSoftwarePackage) -------------------------------------
@dataclass
class Composition:
    """Result of ``compose``: the new VIB list, ``replaced`` info findings, and the ids added/removed."""
    vibs: List = field(default_factory=list)
    findings: List[Finding] = field(default_factory=list)
    added: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)


def compose(base: List[Any], add: Iterable[Any] = (), remove: Any = ()) -> Composition:
    """Remove ``remove`` (Vib objects or ids) from ``base``, then add ``add`` (Vib objects).

    An added VIB takes the place of every VIB of the same name (whatever its version: the user asked for this
    one; a downgrade is said so in the finding) and of every VIB its ``replaces`` constraints match. Among the
    added VIBs, one per name is kept (the newest). Each VIB dropped this way yields a ``replaced`` info finding.
    """
    remove_ids = {r if isinstance(r, str) else r.id for r in remove}
    current = [v for v in base if v.id not in remove_ids]
    removed = [v.id for v in base if v.id in remove_ids]
    findings = []

    chosen: Dict[Any, Any] = {}
    for v in add:
        cur = chosen.get(v.name)
        if cur is None or vcmp(v.version, cur.version) > 0:
            if cur is not None and cur.id != v.id:
                findings.append(Finding(REPLACED, "info", cur.id, "%s was added together with the newer %s; "
                                        "the newer one is kept" % (cur.id, v.id), (v.id,)))
            chosen[v.name] = v
        elif cur.id != v.id:
            findings.append(Finding(REPLACED, "info", v.id, "%s was added together with the newer %s; "
                                    "the newer one is kept" % (v.id, cur.id), (cur.id,)))
    new = list(chosen.values())
    new_ids = {v.id for v in new}
    keep = []
    for old in current:
        if old.id in new_ids:
            continue
        by = None
        why = None
        for v in new:
            if v.name == old.name:
                c = vcmp(v.version, old.version)
                why = "upgraded to" if c > 0 else ("downgraded to" if c < 0 else "swapped for")
                by = v
                break
            for rel in v.replaces:
                if rel.name == old.name and _satisfies(old.version, rel.relation, rel.version):
                    by = v
                    why = "replaced (%s) by" % _rel_text(rel)
                    break
            if by is not None:
                break
        if by is None:
            keep.append(old)
        else:
            removed.append(old.id)
            findings.append(Finding(REPLACED, "info", old.id, "%s %s %s" % (old.id, why, by.id), (by.id,)))
    base_ids = {v.id for v in current}
    added = [v.id for v in new if v.id not in base_ids]
    keep_ids = {k.id for k in keep}
    return Composition(vibs=keep + [v for v in new if v.id not in keep_ids],
                       findings=sort_findings(findings), added=added, removed=removed)


# ---- change requirements ----------------------------------------------------------------------------------
@dataclass
class ChangeRequirements:
    """What installing ``install`` and removing ``remove`` needs on a host."""
    maintenance_mode_required: bool = False
    reboot_required: bool = False
    live_install_allowed: bool = True
    cimom_restart: bool = False
    maintenance_mode_vibs: Tuple[str, ...] = ()
    reboot_vibs: Tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        return {"maintenance_mode_required": self.maintenance_mode_required,
                "reboot_required": self.reboot_required, "live_install_allowed": self.live_install_allowed,
                "cimom_restart": self.cimom_restart, "maintenance_mode_vibs": list(self.maintenance_mode_vibs),
                "reboot_vibs": list(self.reboot_vibs)}


def change_requirements(install: Iterable[Any] = (), remove: Iterable[Any] = ()) -> ChangeRequirements:
    """Maintenance mode is needed when any VIB installed or removed requires it; a reboot when any installed VIB
    does not allow live install or any removed VIB does not allow live remove (esxcli's "Reboot Required").
    Nothing to do needs nothing."""
    mm = set()
    reboot = set()
    cimom = False
    for v in install:
        if v.maintenance_mode_required:
            mm.add(v.id)
        if not v.live_install_allowed:
            reboot.add(v.id)
        cimom = cimom or bool(v.cimom_restart)
    for v in remove:
        if v.maintenance_mode_required:
            mm.add(v.id)
        if not v.live_remove_allowed:
            reboot.add(v.id)
    return ChangeRequirements(maintenance_mode_required=bool(mm), reboot_required=bool(reboot),
                              live_install_allowed=not reboot, cimom_restart=cimom,
                              maintenance_mode_vibs=tuple(sorted(mm)), reboot_vibs=tuple(sorted(reboot)))


# ---- applying candidates to a host / image ----------------------------------------------------------------
@dataclass(frozen=True)
class Skip:
    """A candidate that would not be installed: ``reason`` is one of already_installed, older_than_installed,
    superseded_by_candidate, replaced_by_installed, not_applicable; ``by`` the VIB id that causes it."""
    vib: Any
    reason: str
    by: Optional[str] = None
    detail: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {"id": self.vib.id, "name": self.vib.name, "version": self.vib.version, "reason": self.reason,
                "by": self.by, "detail": self.detail}


@dataclass
class Plan:
    """What ``apply_candidates`` decided.

    ``install``: candidates to install (Vib); ``remove``: installed VIBs that leave (upgraded or retired);
    ``replaces``: new id -> [installed ids it takes the place of]; ``skipped``: ``Skip`` per candidate not
    installed; ``result``: the VIB set after the change; ``findings``: problems the change introduces (an
    ``error`` blocks it); ``preexisting``: problems already present before; ``requirements``:
    ``ChangeRequirements``; ``esx_version``: the ESXi version after the change.
    """
    install: List = field(default_factory=list)
    remove: List = field(default_factory=list)
    replaces: Dict[str, List[str]] = field(default_factory=dict)
    skipped: List[Skip] = field(default_factory=list)
    result: List = field(default_factory=list)
    findings: List[Finding] = field(default_factory=list)
    preexisting: List[Finding] = field(default_factory=list)
    requirements: ChangeRequirements = field(default_factory=ChangeRequirements)
    esx_version: Optional[str] = None

    @property
    def changed(self) -> bool:
        return bool(self.install or self.remove)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> List[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "changed": self.changed, "ok": self.ok,
            "install": sorted(v.id for v in self.install), "remove": sorted(v.id for v in self.remove),
            "replaces": {k: sorted(v) for k, v in sorted(self.replaces.items())},
            "skipped": [s.to_dict() for s in sorted(self.skipped, key=lambda s: s.vib.id)],
            "findings": [f.to_dict() for f in self.findings],
            "preexisting": [f.to_dict() for f in self.preexisting],
            "requirements": self.requirements.to_dict(), "esx_version": self.esx_version,
        }


def _finding_key(f: Finding) -> Tuple[str, Optional[str], str]:
    return (f.type, f.vib, f.detail)


def _target_version(cand: List[Any], inst_idx: VibIndex) -> Optional[str]:
    """The ESXi version after the change: the ``esx-version`` of the newest esx-base among installed and
    candidates (an esx-base upgrade changes it), else the installed one's, else None."""
    bases = [v for v in cand if v.name == ESX_BASE] + list(inst_idx.by_name.get(ESX_BASE, ()))
    if bases:
        return VibIndex(_newest_first(bases)[:1]).esx_version()
    return inst_idx.esx_version()


def _against_installed(chosen: List[Any], inst_idx: VibIndex, allow_downgrade: bool,
                       skipped: List[Skip]) -> List[Any]:
    """Step 3 of ``apply_candidates``: candidates left after comparing with the installed VIB of the same name
    and with the installed VIBs' ``replaces``; the others are appended to ``skipped``."""
    inst_replaces: Dict[str, List[Tuple[Any, Any]]] = {}
    for inst in inst_idx:
        for rel in inst.replaces:
            inst_replaces.setdefault(rel.name, []).append((inst, rel))
    to_install = []
    for v in chosen:
        same = inst_idx.by_name.get(v.name, [])
        if same:
            equal = [i for i in same if vcmp(i.version, v.version) == 0]
            if equal:
                skipped.append(Skip(v, ALREADY_INSTALLED, equal[0].id, "%s is installed" % equal[0].id))
                continue
            newer = [i for i in same if vcmp(i.version, v.version) > 0]
            if newer and not allow_downgrade:
                skipped.append(Skip(v, OLDER_THAN_INSTALLED, newer[0].id,
                                    "installed %s is newer than %s" % (newer[0].version, v.version)))
                continue
        by = None
        for inst, rel in inst_replaces.get(v.name, ()):
            if inst.name != v.name and _satisfies(v.version, rel.relation, rel.version):
                by = inst
                break
        if by is not None:
            skipped.append(Skip(v, REPLACED_BY_INSTALLED, by.id, "installed %s replaces %s" % (by.id, v.name)))
            continue
        to_install.append(v)
    return to_install


def _drop_retired_candidates(to_install: List[Any], skipped: List[Skip]) -> List[Any]:
    """Step 4 of ``apply_candidates``: a candidate retired by another candidate's ``replaces`` is
    ``superseded_by_candidate`` (to a fix point; chains are short)."""
    active = {v.id: v for v in to_install}
    changed = True
    while changed:
        changed = False
        names = {v.name: v for v in active.values()}
        for v in list(active.values()):
            if v.id not in active:
                continue
            for rel in v.replaces:
                victim = names.get(rel.name)
                if victim is not None and victim.id in active and victim.name != v.name \
                        and _satisfies(victim.version, rel.relation, rel.version):
                    del active[victim.id]
                    skipped.append(Skip(victim, SUPERSEDED_BY_CANDIDATE, v.id,
                                        "%s replaces %s" % (v.id, _rel_text(rel))))
                    changed = True
    return [v for v in to_install if v.id in active]


def apply_candidates(installed: List[Any], candidates: List[Vib], minimum_acceptance: Optional[str] = None,
                     product_line: str = DEFAULT_PRODUCT_LINE,
                     esx_version: Optional[Any] = None, allow_downgrade: bool = False, check_platform_applicability: bool = True,
                     catalog: Optional[Any] = None) -> Plan:
    """Decide what installing ``candidates`` (Vibs from a depot, e.g. the VIBs of selected bulletins) on a host
    or image holding ``installed`` would do (esxcli ``software vib update`` semantics). Returns a ``Plan``.

    1. Platform: candidates whose platforms do not fit ``product_line`` and the target ESXi version are skipped
       (``not_applicable``). The target version is ``esx_version`` if given, else the ``esx-version`` of the
       newest esx-base among installed + candidates (an esx-base upgrade changes it), else unknown (no check).
    2. One per name: the newest candidate of each name is kept, older ones are ``superseded_by_candidate``.
    3. Against the installed VIB of the same name: equal version -> ``already_installed``; installed newer ->
       ``older_than_installed`` (unless ``allow_downgrade``); older installed -> replaced by the candidate.
       A candidate retired by an installed VIB's ``replaces`` is ``replaced_by_installed``.
    4. A candidate retired by another installed-to-be candidate's ``replaces`` is ``superseded_by_candidate``.
    5. Installed VIBs matched by the ``replaces`` of a candidate to install leave (``remove``).
    6. The resulting set is checked with ``validate_set`` (acceptance only for the VIBs to install, against
       ``minimum_acceptance``, i.e. the host's acceptance level); findings not present before the change are
       ``findings``, the others ``preexisting``.
    """
    inst_list = list(installed)
    inst_idx = VibIndex(inst_list)
    cand = []
    seen = set()
    for v in candidates:
        if v.id not in seen:
            seen.add(v.id)
            cand.append(v)
    skipped = []

    # 1. platform
    target_version = esx_version if esx_version is not None else _target_version(cand, inst_idx)
    if check_platform_applicability:
        keep = []
        for v in cand:
            pf = check_platform(v, product_line, target_version)
            if pf is not None:
                skipped.append(Skip(v, NOT_APPLICABLE, None, pf.detail))
            else:
                keep.append(v)
        cand = keep

    # 2. newest per name
    by_name: Dict[Any, Any] = {}
    for v in cand:
        by_name.setdefault(v.name, []).append(v)
    chosen = []
    for name, lst in by_name.items():
        lst = _newest_first(lst)
        chosen.append(lst[0])
        for other in lst[1:]:
            skipped.append(Skip(other, SUPERSEDED_BY_CANDIDATE, lst[0].id,
                                "a newer candidate %s of %s is chosen" % (lst[0].id, name)))

    # 3. against installed; 4. candidates retiring candidates
    to_install = _drop_retired_candidates(_against_installed(chosen, inst_idx, allow_downgrade, skipped), skipped)
    replaces: Dict[Any, Any] = {}
    removing = {}

    # 5. what leaves the host
    for v in to_install:
        gone = list(inst_idx.by_name.get(v.name, []))
        for rel in v.replaces:
            gone.extend(i for i in inst_idx.name_matches(rel) if i.name != v.name)
        for i in gone:
            removing[i.id] = i
            replaces.setdefault(v.id, [])
            if i.id not in replaces[v.id]:
                replaces[v.id].append(i.id)
    remove = [inst_idx.by_id[i] for i in sorted(removing)]
    result = [i for i in inst_list if i.id not in removing] + to_install

    # 6. findings introduced by the change
    new_ids = {v.id for v in to_install}
    before = validate_set(inst_idx, None, product_line, None, catalog)
    after = validate_set(result, minimum_acceptance, product_line, target_version, catalog,
                         check_acceptance_of=new_ids)
    before_keys = {_finding_key(f) for f in before}
    introduced = [f for f in after if _finding_key(f) not in before_keys]
    pre = [f for f in after if _finding_key(f) in before_keys]
    for v in to_install:
        for old_id in replaces.get(v.id, ()):
            old = inst_idx.by_id[old_id]
            if old.name == v.name:
                why = "upgraded to" if vcmp(v.version, old.version) > 0 else "downgraded to"
            else:
                why = "replaced by"
            introduced.append(Finding(REPLACED, "info", old_id, "%s %s %s" % (old_id, why, v.id), (v.id,)))
    return Plan(install=sorted(to_install, key=lambda v: v.id), remove=remove, replaces=replaces,
                skipped=skipped, result=result, findings=sort_findings(introduced), preexisting=pre,
                requirements=change_requirements(to_install, remove), esx_version=target_version)


# ---- difference of two sets (ImageProfileDiff) --------------------------------------------------------------
def diff(base: List[Vib], target: List[Vib]) -> Dict[str, Any]:
    """Compare two VIB sets as ``Compare-EsxImageProfile`` does.

    Returns ``{"added": [ids], "removed": [ids], "upgraded": [...], "downgraded": [...], "unchanged": [ids]}``.
    ``unchanged``: the same VIB id in both. ``upgraded``/``downgraded``: one name, a newer/older version in
    ``target`` (``{"name", "from", "to", "from_version", "to_version"}``). ``added``/``removed``: VIB ids only in
    ``target``/``base`` otherwise (a new name, or another VIB id with an equal version).
    """
    b = VibIndex(base)
    t = VibIndex(target)
    unchanged = sorted(i for i in t.by_id if i in b.by_id)
    upgraded: List[Any] = []
    downgraded: List[Any] = []
    added = []
    removed = []
    paired_b = set(unchanged)
    paired_t = set(unchanged)
    for name, tl in t.by_name.items():
        bl = [v for v in b.by_name.get(name, []) if v.id not in paired_b]
        tl = [v for v in tl if v.id not in paired_t]
        if not bl or not tl:
            continue
        new = tl[0]
        old = bl[0]
        c = vcmp(new.version, old.version)
        if c == 0:
            continue
        entry = {"name": name, "from": old.id, "to": new.id, "from_version": old.version,
                 "to_version": new.version}
        (upgraded if c > 0 else downgraded).append(entry)
        paired_b.add(old.id)
        paired_t.add(new.id)
    added = sorted(i for i in t.by_id if i not in paired_t)
    removed = sorted(i for i in b.by_id if i not in paired_b)
    upgraded.sort(key=lambda e: e["name"])
    downgraded.sort(key=lambda e: e["name"])
    return {"added": added, "removed": removed, "upgraded": upgraded, "downgraded": downgraded,
            "unchanged": unchanged}
