# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: bulletin-level compliance of one host against a depot. Pure; no Ansible, no pyVmomi.

``classify(depot, inventory, product_line, version)`` puts every bulletin of the depot in exactly one group:

- ``not_applicable``: no platform of the bulletin (or of any of its VIBs) fits the host's product line and version,
  or the bulletin cannot go on the host: a dependency that neither the host nor any other applicable bulletin of
  the depot provides (the host's ``missingLib``), a conflict with an installed VIB (``conflictLib``), or an
  installed VIB that would lose a dependency (``hasDependentPatch``);
- ``installed``: every VIB of the bulletin is on the host at exactly its version;
- ``superseded``: the host already has a newer version of each of its VIBs (or a VIB that replaces them), or
  another installable bulletin of the depot carries newer versions of all of its VIBs (``superseded_by``);
- ``missing``: applicable, not installed and not superseded. ``update`` is true when the host has an older
  version of at least one of its VIBs, false when all of them would be new to the host. ``needs`` lists the other
  bulletins of the depot that provide a dependency the host lacks (the host's ``missingPatch``; a deploy adds
  them); a bulletin that needs others supersedes only bulletins that need others too.

The dependency checks follow ESXi's scan (``HostPatchManager``): each bulletin is applied alone to the host's VIBs
(same-named and ``replaces``-matched VIBs leave) and the result's ``depends``/``conflicts`` are checked.

``select(depot, ...)`` applies the user's selection (ids, severity, category, release dates, exclude).
The same functions serve the controller engine (inventory read from the host) and the report of the host
engine (``from_host_status``), so both engines return the same shape.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import posixpath
from urllib.parse import urljoin, urlsplit, urlunsplit

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import (
    acceptance_allows, normalize_acceptance)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder.resolve import VibIndex
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact_url
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vibversion import VibVersion, platform_version_matches

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
    c = VibVersion.vib(inst.version).compare(VibVersion.vib(vib.version))
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
    inventory = list(inventory)
    host_by_name = _index_inventory(inventory)
    host_idx = VibIndex(inventory)
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

    # what the depot offers this host, for telling "needs another bulletin" from "cannot be satisfied"
    offered = VibIndex(v for _b, vs in applicable.values() for v in vs)
    owner = {}
    for bid, (_b, vs) in applicable.items():
        for v in vs:
            owner.setdefault(v.id, bid)

    states = {}
    pending = {}
    for bid in sorted(applicable):
        b, vibs = applicable[bid]
        st = [(v, ) + _vib_state(v, host_by_name) for v in vibs]
        kinds = [s[1] for s in st]
        states[bid] = st
        if all(k == "installed" for k in kinds):
            out["installed"].append(_entry(b, "all %d VIB(s) installed" % len(vibs)))
            continue
        if all(k in ("installed", "newer", "replaced") for k in kinds):
            newer = ["%s %s" % (s[2].name, s[2].version) for s in st if s[1] in ("newer", "replaced")]
            out["superseded"].append(_entry(b, "host has newer: %s" % ", ".join(newer), superseded_by=None))
            continue
        blocked, needs = _dependency_check(bid, vibs, host_idx, offered, owner)
        if blocked:
            out["not_applicable"].append(_entry(b, "; ".join(blocked)))
            continue
        pending[bid] = needs

    # Depot-internal supersedence among the installable bulletins: B is superseded by B2 when B2 has, for every
    # VIB name of B, a newer version (or a VIB that replaces it). A bulletin that needs other bulletins only
    # supersedes bulletins that need others as well.
    self_contained = {bid: applicable[bid] for bid in pending if not pending[bid]}
    installable = {bid: applicable[bid] for bid in pending}
    newest_sc = _newest_by_name(self_contained)
    newest_all = _newest_by_name(installable)

    for bid in sorted(pending):
        b, vibs = applicable[bid]
        needs = pending[bid]
        pool, newest = (installable, newest_all) if needs else (self_contained, newest_sc)
        by = _superseding_bulletin(bid, vibs, pool, newest)
        if by is not None:
            out["superseded"].append(_entry(b, "superseded by bulletin %s in the depot" % by, superseded_by=by))
            continue
        st = states[bid]
        older = [s for s in st if s[1] == "older"]
        reason_parts = []
        if older:
            reason_parts.append("update: " + ", ".join("%s %s -> %s" % (s[0].name, s[2].version, s[0].version)
                                                       for s in older))
        absent = [s[0] for s in st if s[1] == "absent"]
        if absent:
            reason_parts.append("new: " + ", ".join("%s %s" % (v.name, v.version) for v in absent))
        if needs:
            reason_parts.append("needs: " + ", ".join(needs))
        extra = {"is_update": bool(older), "needs": list(needs)}
        if host_level:
            blocked = [v.id for v in vibs if not acceptance_allows(host_level, v.acceptance_level)]
            extra["acceptance_blocked"] = blocked
            if blocked:
                reason_parts.append("acceptance: %s below host level %s" % (", ".join(blocked), host_level))
        out["missing"].append(_entry(b, "; ".join(reason_parts), **extra))
    for g in GROUPS:
        out[g].sort(key=lambda e: e["id"])
    return out


def _newest_by_name(pool):
    newest = {}
    for bid, (_b, vibs) in pool.items():
        for v in vibs:
            cur = newest.get(v.name)
            if cur is None or VibVersion.vib(v.version) > VibVersion.vib(cur[1].version):
                newest[v.name] = (bid, v)
    return newest


def _dependency_check(bid, vibs, host_idx, offered, owner):
    """Apply bulletin ``bid`` alone to the host's VIBs and check the result, as the host's scan does.

    Returns ``(blocked reasons, needed bulletin ids)``: a non-empty first list makes the bulletin not applicable."""
    own = VibIndex(vibs)
    leaving = set()
    for v in vibs:
        for inst in host_idx.by_name.get(v.name, ()):
            leaving.add(inst.id)
        for rel in v.replaces:
            for inst in host_idx.name_matches(rel):
                if inst.name != v.name:
                    leaving.add(inst.id)

    def satisfied_after(rel):
        if own.satisfied(rel):
            return True
        return any(p.id not in leaving for p in host_idx.providers(rel))

    blocked = []
    needs = []
    for v in vibs:
        for rel in v.depends:
            if satisfied_after(rel):
                continue
            providers = [p for p in offered.providers(rel) if owner.get(p.id) != bid]
            if providers:
                best = sorted(providers, key=lambda p: (VibVersion.vib(p.version).sort_key(), p.id))[-1]
                need = owner.get(best.id)
                if need and need not in needs:
                    needs.append(need)
            else:
                blocked.append("missing dependency: %s requires %s, which neither the host nor another applicable "
                               "bulletin of the depot provides" % (v.id, rel))
        for rel in v.conflicts:
            hits = [h.id for h in host_idx.conflicts_with(rel) if h.id not in leaving]
            if hits:
                blocked.append("conflict: %s conflicts with installed %s" % (v.id, ", ".join(sorted(hits))))
    if leaving:
        for inst in host_idx:
            if inst.id in leaving:
                continue
            for rel in inst.depends:
                if host_idx.satisfied(rel) and not satisfied_after(rel):
                    blocked.append("installed VIB %s depends on %s, which the bulletin would remove" % (inst.id, rel))
    return blocked, sorted(needs)


def _superseding_bulletin(bid, vibs, applicable, newest_by_name):
    candidates = None
    for v in vibs:
        owner = newest_by_name.get(v.name)
        if owner is None or owner[0] == bid or VibVersion.vib(owner[1].version) <= VibVersion.vib(v.version):
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

    ``installed`` -> installed; ``reason`` containing ``obsoleted`` -> superseded; ``applicable``, or only
    ``missingPatch`` (needs another bulletin of the depot) -> missing; otherwise not_applicable. Bulletins the host
    did not report are not_applicable."""
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
                                         is_update=None, needs=None))
        elif reasons and set(reasons) <= {"missingPatch"}:
            # applicable once another bulletin of the depot is installed with it (a deploy adds it)
            out["missing"].append(_entry(b, "reported applicable by the host together with another bulletin of "
                                            "the depot (missingPatch)", is_update=None, needs=None))
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


# ---- what the host downloads ---------------------------------------------------------------------------

def _is_url(text):
    return isinstance(text, str) and text.lower().startswith(("http://", "https://"))


def _url_dir(url):
    """``http://h/a/index.xml`` -> ``http://h/a/``; a URL ending in ``/`` is returned as is."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if not path.endswith("/"):
        path = path.rsplit("/", 1)[0] + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _zip_kind(path_or_url):
    """``bundle`` for an offline bundle zip, ``metadata`` for a metadata.zip, None for anything else."""
    name = posixpath.basename(urlsplit(path_or_url).path if _is_url(path_or_url) else path_or_url.replace("\\", "/"))
    if not name.lower().endswith(".zip"):
        return None
    return "metadata" if "metadata" in name.lower() else "bundle"


class HostDepotUrls(object):
    """The URLs under which a host reaches the depot the controller read.

    ``sources``: the ``depot`` option as given (paths or URLs); ``depot_url``: None, one URL (with a single
    source), or a list with one entry per source (empty entries: use the source itself). A source that is a URL is
    reached at that URL unless ``depot_url`` overrides it; a local source is reached only through its
    ``depot_url``, which is where the same files are served from (an offline bundle zip is served either as the
    zip itself or unzipped, with ``depot_url`` naming its ``index.xml``).

    - ``meta_urls(product_line, version)``: the ``metadata.zip`` URLs (from the ``vendor-index.xml`` entries that
      fit the host, as patch consoles pick them) for ``HostPatchManager`` ``metaUrls``;
    - ``bundle_urls()``: offline bundle zips for ``bundleUrls``;
    - ``depot_urls()``: what ``esxcli software ... -d`` takes (index.xml or bundle zip URLs);
    - ``vib_url(vib_id)``: the URL of one ``.vib`` or None.

    IPv6 literals (``http://[fd00::10]:8080/depot/index.xml``) are kept as written.
    """

    def __init__(self, depot, sources, depot_url=None):
        self.depot = depot
        self.sources = [str(s).strip() for s in (sources if isinstance(sources, (list, tuple)) else [sources])]
        if depot_url in (None, "", []):
            urls = [None] * len(self.sources)
        elif isinstance(depot_url, str):
            local = [i for i, s in enumerate(self.sources) if not _is_url(s)]
            if len(self.sources) == 1:
                urls = [depot_url]
            elif len(local) == 1:
                urls = [None] * len(self.sources)
                urls[local[0]] = depot_url
            else:
                raise InputError("depot_url: give one URL per depot source (%d sources, %d of them local paths)"
                                 % (len(self.sources), len(local)))
        else:
            urls = [u or None for u in depot_url]
            if len(urls) != len(self.sources):
                raise InputError("depot_url has %d entries but depot has %d sources; give one entry per source "
                                 "(an empty entry uses the source itself)" % (len(urls), len(self.sources)))
        for u in urls:
            if u and not _is_url(u):
                raise InputError("depot_url %r is not an http:// or https:// URL" % redact_url(u))
        self.entries = []
        for src, host_url in zip(self.sources, urls):
            local = not _is_url(src)
            path = None
            if local:
                path = src[7:] if src.lower().startswith("file://") else src
                path = os.path.abspath(os.path.expanduser(path))
            self.entries.append({"source": src, "local": path, "host": host_url or (None if local else src)})

    # -- mapping one reference (a MetadataRef url or a Depot.vib_files value) to a host URL ---------------
    def _entry_of(self, ref):
        for e in self.entries:
            if e["local"] is None:
                if _is_url(ref) and ref.startswith(_url_dir(e["source"])):
                    return e
                continue
            head = ref.split("#", 1)[0]
            root = e["local"]
            if head == root or (os.path.isdir(root) and head.startswith(root.rstrip(os.sep) + os.sep)):
                return e
            if not os.path.isdir(root) and os.path.dirname(head) == os.path.dirname(root) and \
                    not root.lower().endswith((".zip", ".vib")):
                return e
        return None

    def map_ref(self, ref):
        """The host URL of a depot reference, or None when the host cannot reach it."""
        if not ref:
            return None
        e = self._entry_of(ref)
        if e is None:
            return ref if _is_url(ref) else None
        host = e["host"]
        if host is None:
            return None
        if e["local"] is None:
            if host == e["source"]:
                return ref
            return urljoin(_url_dir(host), ref[len(_url_dir(e["source"])):])
        if "#" in ref:
            member = ref.split("#")[-1]
            if _zip_kind(host) == "bundle":
                return None     # a member inside a served zip has no URL of its own
            return urljoin(_url_dir(host), member.lstrip("/"))
        root = e["local"]
        base = root if os.path.isdir(root) else os.path.dirname(root)
        rel = os.path.relpath(ref, base).replace(os.sep, "/")
        if rel.startswith(".."):
            return None
        if _zip_kind(host) and rel == os.path.basename(root):
            return host
        return urljoin(_url_dir(host), rel)

    def _fits(self, ref, product_line, version):
        if product_line and ref.product_line and ref.product_line.lower() != product_line.lower():
            return False
        if version and ref.version and not platform_version_matches(ref.version, version):
            return False
        return True

    def meta_urls(self, product_line=None, version=None):
        """metadata.zip URLs for a host of ``product_line``/``version`` (sorted, each once)."""
        out = []
        covered = set()
        for ref in self.depot.metadata:
            e = self._entry_of(ref.url)
            if e is not None:
                covered.add(id(e))
            if not self._fits(ref, product_line, version):
                continue
            url = self.map_ref(ref.url)
            if url is None and e is not None and e["host"] and _zip_kind(e["host"]) == "bundle":
                continue     # reached through bundle_urls()
            if url and url not in out:
                out.append(url)
        for e in self.entries:
            if id(e) in covered or not e["host"]:
                continue
            if _zip_kind(e["host"]) == "metadata" and e["host"] not in out:
                out.append(e["host"])
        return out

    def bundle_urls(self):
        return [e["host"] for e in self.entries if e["host"] and _zip_kind(e["host"]) == "bundle"]

    def depot_urls(self):
        """URLs for ``esxcli software ... --depot``: every reachable source (index.xml, bundle zip, ...)."""
        return [e["host"] for e in self.entries if e["host"] and not e["host"].lower().endswith(".vib")]

    def vib_url(self, vib_id):
        ref = self.depot.vib_files.get(vib_id)
        if ref is None:
            return None
        return self.map_ref(ref)

    def unreachable(self):
        """The local sources without a ``depot_url`` (the host cannot download from them)."""
        return [e["source"] for e in self.entries if not e["host"]]
