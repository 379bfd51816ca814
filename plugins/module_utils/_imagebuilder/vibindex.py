# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: cached VIB version comparison and ``VibIndex``, the lookup structure of the resolver.
Breaking changes at any time.

``VibIndex(vibs)`` is built once, O(n): ``by_id``, ``by_name``, ``providers(relation)``,
``name_matches(relation)``, ``conflicts_with(relation)``, ``newest(name)``, ``esx_version()``. ``vcmp`` and
``_satisfies`` compare versions through a bounded cache. ``_imagebuilder.resolve`` re-exports all of it.
"""

from __future__ import annotations

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vibversion import VibVersion, normalize_relation

ESX_BASE = "esx-base"
ESX_VERSION = "esx-version"


# ---- versions (cached: the same strings are compared over and over) --------------------------------
_VCACHE = {}
_VCACHE_MAX = 200000


def _ver(text):
    v = _VCACHE.get(text)
    if v is None:
        if len(_VCACHE) > _VCACHE_MAX:
            _VCACHE.clear()
        v = _VCACHE[text] = VibVersion(text)
    return v


def vcmp(a, b):
    """-1/0/1 comparing two version strings (cached parse)."""
    return _ver(a).compare(_ver(b))


_KNOWN_REL = ("<<", "<=", "=", ">=", ">>", "!=")


def _satisfies(version, relation, wanted):
    if not relation or wanted in (None, ""):
        return True
    if version in (None, ""):
        return False
    if relation not in _KNOWN_REL:
        relation = normalize_relation(relation)
        if relation is None:
            return True
    c = _ver(version).compare(_ver(wanted))
    if relation == "<<":
        return c < 0
    if relation == "<=":
        return c <= 0
    if relation == "=":
        return c == 0
    if relation == ">=":
        return c >= 0
    if relation == ">>":
        return c > 0
    return c != 0


def _provide_satisfies(provided_version, rel):
    """A provide ``name [= provided_version]`` against constraint ``rel`` (same name)."""
    if not rel.relation:
        return True
    if provided_version in (None, ""):
        return False
    return _satisfies(provided_version, rel.relation, rel.version)


def version_part(text):
    """``6.7.0-0.0.8169922`` -> ``6.7.0`` (the version half of a VIB version)."""
    return _ver(text).version if text else None


def _newest_first(vibs):
    return sorted(vibs, key=lambda v: (_ver(v.version).sort_key(), v.id), reverse=True)


def _rel_text(rel):
    return str(rel)


def _ids(vibs):
    return tuple(sorted({v.id for v in vibs}))


# ---- index --------------------------------------------------------------------------------------------
class VibIndex(object):
    """Lookup structure over a set of VIBs, built once in O(n).

    ``by_id``: id -> Vib; ``by_name``: name -> [Vib] (newest first); ``_prov``: provided name -> [(Vib, version)]
    including each VIB's own name and version.
    """

    def __init__(self, vibs):
        self.by_id = {}
        by_name = {}
        prov = {}
        for v in vibs:
            if v.id in self.by_id:
                continue
            self.by_id[v.id] = v
            by_name.setdefault(v.name, []).append(v)
            prov.setdefault(v.name, []).append((v, v.version))
            for p in v.provides:
                prov.setdefault(p.name, []).append((v, p.version))
        self.by_name = {n: (_newest_first(lst) if len(lst) > 1 else lst) for n, lst in by_name.items()}
        self._prov = prov

    def __len__(self):
        return len(self.by_id)

    def __iter__(self):
        return iter(self.by_id.values())

    def __contains__(self, vib_id):
        return vib_id in self.by_id

    @property
    def vibs(self):
        return list(self.by_id.values())

    def newest(self, name):
        lst = self.by_name.get(name)
        return lst[0] if lst else None

    def providers(self, rel, exclude=None):
        """VIBs whose name or provides satisfy ``rel`` (a ``Relation``), each once, in index order."""
        out = []
        seen = set()
        for vib, pver in self._prov.get(rel.name, ()):
            if vib.id in seen or (exclude is not None and vib.id == exclude):
                continue
            if _provide_satisfies(pver, rel):
                seen.add(vib.id)
                out.append(vib)
        return out

    def satisfied(self, rel):
        for vib, pver in self._prov.get(rel.name, ()):
            if _provide_satisfies(pver, rel):
                return True
        return False

    def name_matches(self, rel, exclude=None):
        """VIBs whose own name and version match ``rel`` (what a ``replaces`` constraint retires)."""
        return [v for v in self.by_name.get(rel.name, ())
                if (exclude is None or v.id != exclude) and _satisfies(v.version, rel.relation, rel.version)]

    def conflicts_with(self, rel, exclude=None):
        """VIBs a ``conflicts`` constraint hits (names and provides)."""
        return self.providers(rel, exclude=exclude)

    def esx_version(self):
        """The image's ESXi version (``6.7.0``): the ``esx-version`` provide of its esx-base, else esx-base's
        own version half; None when the set has no esx-base."""
        best = None
        for vib, pver in self._prov.get(ESX_VERSION, ()):
            if pver and (best is None or vcmp(pver, best) > 0):
                best = pver
        if best:
            return version_part(best)
        base = self.newest(ESX_BASE)
        return version_part(base.version) if base is not None else None


def esx_version_of(vibs):
    """The ESXi version (``8.0.3``) that a VIB set's esx-base gives it, or None."""
    idx = vibs if isinstance(vibs, VibIndex) else VibIndex(vibs)
    return idx.esx_version()
