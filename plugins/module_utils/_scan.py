# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: bulletin-level compliance of one host against a depot. Pure; no Ansible, no pyVmomi.

``classify(depot, inventory, product_line, version)`` puts every bulletin of the depot in exactly one group:

- ``not_applicable``: no platform of the bulletin (or of any of its VIBs) fits the host's product line and version;
- ``installed``: every VIB of the bulletin is on the host at exactly its version;
- ``superseded``: the host already has a newer version of each of its VIBs (or a VIB that replaces them), or
  another applicable bulletin of the depot carries newer versions of all of its VIBs (``superseded_by``);
- ``missing``: applicable, not installed and not superseded. ``update`` is true when the host has an older
  version of at least one of its VIBs, false when all of them would be new to the host.

``select(depot, ...)`` applies the user's selection (ids, severity, category, release dates, exclude).
The same functions serve the controller engine (inventory read from the host) and the report of the host
engine (``from_host_status``), so both engines return the same shape.
"""

from __future__ import annotations

import datetime
import hashlib

from ansible_collections.fleetpatch.esxi.plugins.module_utils._errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._models import (
    acceptance_allows, normalize_acceptance)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._vibversion import VibVersion

GROUPS = ("installed", "missing", "superseded", "not_applicable")


def _platform_text(platforms):
    return ", ".join("%s %s" % (p.product_line or "any", p.version or "*") for p in platforms) or "any"


def _index_inventory(inventory):
    """name -> Vib for the host's installed VIBs (``inventory``: iterable of Vib)."""
    by_name = {}
    for vib in inventory:
        by_name[vib.name] = vib
    return by_name


def _replaced_by_host(vib, host_vibs):
    """The installed VIB whose ``replaces`` constraints retire ``vib``, if any."""
    for inst in host_vibs.values():
        for rel in inst.replaces:
            if rel.matches(vib.name, vib.version):
                return inst
    return None


def _vib_state(vib, host_by_name):
    """('installed'|'newer'|'older'|'absent'|'replaced', installed Vib or None)."""
    inst = host_by_name.get(vib.name)
    if inst is None:
        rep = _replaced_by_host(vib, host_by_name)
        return ("replaced", rep) if rep is not None else ("absent", None)
    c = VibVersion(inst.version).compare(vib.version)
    if c == 0 and (inst.vendor == vib.vendor or not inst.vendor):
        return "installed", inst
    if c > 0:
        return "newer", inst
    if c == 0:
        return "installed", inst
    return "older", inst


def _entry(bulletin, reason, **extra):
    d = {
        "id": bulletin.id, "summary": bulletin.summary, "severity": bulletin.severity,
        "category": bulletin.category, "release_type": bulletin.release_type,
        "release_date": bulletin.release_date, "vendor": bulletin.vendor,
        "component": bulletin.component.to_dict() if bulletin.component else None,
        "vib_ids": list(bulletin.vib_ids), "reason": reason,
    }
    d.update(extra)
    return d


def classify(depot, inventory, product_line, version, acceptance_level=None):
    """Classify every bulletin in ``depot`` for one host. Returns ``{group: [entry, ...]}`` sorted by id."""
    host_by_name = _index_inventory(inventory)
    out = {g: [] for g in GROUPS}
    applicable = {}
    host_level = normalize_acceptance(acceptance_level) if acceptance_level else None

    for bid in sorted(depot.bulletins):
        b = depot.bulletins[bid]
        vibs = [depot.vibs[v] for v in b.vib_ids if v in depot.vibs]
        missing_records = [v for v in b.vib_ids if v not in depot.vibs]
        if not b.applies_to(product_line, version):
            out["not_applicable"].append(_entry(
                b, "platform: bulletin is for %s; host is %s %s" % (_platform_text(b.platforms), product_line, version)))
            continue
        if vibs and not any(v.applies_to(product_line, version) for v in vibs):
            out["not_applicable"].append(_entry(
                b, "platform: its VIBs are for %s; host is %s %s"
                % (_platform_text(vibs[0].platforms), product_line, version)))
            continue
        if not vibs:
            out["not_applicable"].append(_entry(b, "no VIB records in the depot for %s" % ", ".join(missing_records)))
            continue
        applicable[bid] = (b, vibs)

    # Depot-internal supersedence: B is superseded by B2 when B2 has, for every VIB name of B, a newer
    # version (or a VIB that replaces it).
    newest_by_name = {}
    for bid, (b, vibs) in applicable.items():
        for v in vibs:
            cur = newest_by_name.get(v.name)
            if cur is None or VibVersion(v.version) > VibVersion(cur[1].version):
                newest_by_name[v.name] = (bid, v)

    for bid in sorted(applicable):
        b, vibs = applicable[bid]
        states = [(v, ) + _vib_state(v, host_by_name) for v in vibs]
        kinds = [s[1] for s in states]
        if all(k == "installed" for k in kinds):
            out["installed"].append(_entry(b, "all %d VIB(s) installed" % len(vibs)))
            continue
        if all(k in ("installed", "newer", "replaced") for k in kinds):
            newer = ["%s %s" % (s[2].name, s[2].version) for s in states if s[1] in ("newer", "replaced")]
            out["superseded"].append(_entry(b, "host has newer: %s" % ", ".join(newer), superseded_by=None))
            continue
        by = _superseding_bulletin(bid, vibs, applicable, newest_by_name)
        if by is not None:
            out["superseded"].append(_entry(b, "superseded by bulletin %s in the depot" % by, superseded_by=by))
            continue
        older = [s for s in states if s[1] == "older"]
        reason_parts = []
        if older:
            reason_parts.append("update: " + ", ".join("%s %s -> %s" % (s[0].name, s[2].version, s[0].version)
                                                       for s in older))
        absent = [s[0] for s in states if s[1] == "absent"]
        if absent:
            reason_parts.append("new: " + ", ".join("%s %s" % (v.name, v.version) for v in absent))
        extra = {"update": bool(older)}
        if host_level:
            blocked = [v.id for v in vibs if not acceptance_allows(host_level, v.acceptance_level)]
            extra["acceptance_blocked"] = blocked
            if blocked:
                reason_parts.append("acceptance: %s below host level %s" % (", ".join(blocked), host_level))
        out["missing"].append(_entry(b, "; ".join(reason_parts), **extra))
    return out


def _superseding_bulletin(bid, vibs, applicable, newest_by_name):
    candidates = None
    for v in vibs:
        owner = newest_by_name.get(v.name)
        if owner is None or owner[0] == bid or VibVersion(owner[1].version) <= VibVersion(v.version):
            # also accept a replacing VIB from another bulletin
            rep = None
            for obid, (ob, ovibs) in applicable.items():
                if obid != bid and any(any(r.matches(v.name, v.version) for r in ov.replaces) for ov in ovibs):
                    rep = obid
                    break
            if rep is None:
                return None
            owners = {rep}
        else:
            owners = {owner[0]}
        candidates = owners if candidates is None else candidates & owners
        if not candidates:
            return None
    return sorted(candidates)[0] if candidates else None


# ---- selection -------------------------------------------------------------------------------------

def _parse_date(value, what):
    if value in (None, ""):
        return None
    if isinstance(value, (datetime.date, datetime.datetime)):
        d = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            d = datetime.datetime.fromisoformat(text)
        except ValueError:
            try:
                d = datetime.datetime.strptime(text[:10], "%Y-%m-%d")
            except ValueError:
                raise InputError("%s: %r is not an ISO 8601 date (YYYY-MM-DD)" % (what, value))
    if isinstance(d, datetime.datetime):
        if d.tzinfo is not None:
            d = d.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return d
    return datetime.datetime(d.year, d.month, d.day)


def select(depot, bulletins=None, severity=None, category=None, released_after=None, released_before=None,
           exclude=None):
    """Bulletin ids of the depot that match the selection (all criteria must hold; empty = no filter).

    Unknown ids in ``bulletins`` raise ``InputError`` naming them."""
    ids = set(depot.bulletins)
    if bulletins:
        unknown = sorted(set(bulletins) - ids)
        if unknown:
            raise InputError("bulletin(s) not in the depot: %s" % ", ".join(unknown))
        ids &= set(bulletins)
    sev = {s.lower() for s in (severity or [])}
    cat = {c.lower() for c in (category or [])}
    after = _parse_date(released_after, "released_after")
    before = _parse_date(released_before, "released_before")
    out = []
    for bid in sorted(ids):
        b = depot.bulletins[bid]
        if sev and (b.severity or "").lower() not in sev:
            continue
        if cat and (b.category or "").lower() not in cat:
            continue
        if after or before:
            rd = _parse_date(b.release_date, "bulletin %s release date" % bid) if b.release_date else None
            if rd is None or (after and rd < after) or (before and rd > before):
                continue
        if exclude and bid in exclude:
            continue
        out.append(bid)
    return out


def compliant(groups, selected_ids):
    """A host is compliant with a selection when none of the selected bulletins is missing."""
    missing = {e["id"] for e in groups["missing"]}
    return not (missing & set(selected_ids))


def from_host_status(depot, status_list):
    """Map ``HostPatchManager`` status records (plain dicts from the client layer) to the same groups.

    ``installed`` -> installed; ``reason`` containing ``obsoleted`` -> superseded; ``applicable`` ->
    missing; otherwise not_applicable. Bulletins the host did not report are not_applicable."""
    out = {g: [] for g in GROUPS}
    seen = set()
    for st in status_list:
        bid = st.get("id")
        if bid in seen:
            continue
        seen.add(bid)
        b = depot.bulletins.get(bid)
        reasons = list(st.get("reason") or [])
        if b is None:
            continue
        if st.get("installed"):
            out["installed"].append(_entry(b, "reported installed by the host"))
        elif "obsoleted" in reasons:
            out["superseded"].append(_entry(b, "reported obsoleted by the host", superseded_by=None))
        elif st.get("applicable"):
            out["missing"].append(_entry(b, "reported applicable by the host" +
                                         ("; " + ", ".join(reasons) if reasons else ""),
                                         update=None))
        else:
            out["not_applicable"].append(_entry(b, "reported not applicable by the host" +
                                                ("; " + ", ".join(reasons) if reasons else "")))
    for bid in sorted(set(depot.bulletins) - seen):
        out["not_applicable"].append(_entry(depot.bulletins[bid], "not reported by the host"))
    for g in GROUPS:
        out[g].sort(key=lambda e: e["id"])
    return out


def inventory_digest(inventory):
    """A stable digest of a VIB inventory (ids), to tell whether a host changed between scan and deploy."""
    h = hashlib.sha256()
    for vid in sorted(v.id for v in inventory):
        h.update(vid.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()
