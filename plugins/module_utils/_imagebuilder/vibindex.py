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
from typing import Dict, TYPE_CHECKING, Any, List, Optional, Iterator

if TYPE_CHECKING:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Relation, Vib

ESX_BASE = "esx-base"
ESX_VERSION = "esx-version"


# ---- versions (cached: the same strings are compared over and over) --------------------------------
_VCACHE: Dict[Any, Any] = {}
_VCACHE_MAX = 200000


def _ver(text: str) -> VibVersion:
    v = _VCACHE.get(text)
    if v is None:
        if len(_VCACHE) > _VCACHE_MAX:
            _VCACHE.clear()
        v = _VCACHE[text] = VibVersion(text)
    return v


def _vib_ver(text: str) -> VibVersion:
    """A VIB's own version (no hyphen: empty release, the lowest: ``1.0 < 1.0-1``), cached."""
    key = ("vib", text)
    v = _VCACHE.get(key)
    if v is None:
        if len(_VCACHE) > _VCACHE_MAX:
            _VCACHE.clear()
        v = _VCACHE[key] = VibVersion.vib(text)
    return v


def vcmp(a: str, b: str) -> int:
    """-1/0/1 comparing two VIB versions as esximage does (``1.0 < 1.0-1``; cached parse)."""
    return _vib_ver(a).compare(_vib_ver(b))


_KNOWN_REL = ("<<", "<=", "=", ">=", ">>", "!=")


def _satisfies(version: str, relation: Optional[str], wanted: Optional[str]) -> bool:
    if not relation or wanted in (None, ""):
        return True
    if version in (None, ""):
        return False
    if relation not in _KNOWN_REL:
        relation = normalize_relation(relation)
        if relation is None:
            return True
    c = _vib_ver(version).compare(_ver(wanted))
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


def _provide_satisfies(provided_version: Optional[str], rel: Relation) -> bool:
    """A provide ``name [= provided_version]`` against constraint ``rel`` (same name)."""
    if not rel.relation:
        return True
    if provided_version in (None, ""):
        return False
    return _satisfies(provided_version, rel.relation, rel.version)


def version_part(text: str) -> Optional[str]:
    """``6.7.0-0.0.8169922`` -> ``6.7.0`` (the version half of a VIB version)."""
    return _ver(text).version if text else None


def _newest_first(vibs: List[Vib]) -> List[Vib]:
    return sorted(vibs, key=lambda v: (_vib_ver(v.version).sort_key(), v.id), reverse=True)


def _rel_text(rel: Relation) -> str:
    return str(rel)


def _ids(vibs: List[Any]) -> Any:
    return tuple(sorted({v.id for v in vibs}))


# ---- index --------------------------------------------------------------------------------------------
class VibIndex(object):
    """Lookup structure over a set of VIBs, built once in O(n).

    ``by_id``: id -> Vib; ``by_name``: name -> [Vib] (newest first); ``_prov``: provided name -> [(Vib, version)]
    including each VIB's own name and version.
    """

    def __init__(self, vibs: List[Any]) -> None:
        self.by_id: Dict[Any, Any] = {}
        by_name: Dict[Any, Any] = {}
        prov: Dict[Any, Any] = {}
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

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.by_id.values())

    def __contains__(self, vib_id: object) -> bool:
        return vib_id in self.by_id

    @property
    def vibs(self) -> List[Vib]:
        return list(self.by_id.values())

    def newest(self, name: str) -> Optional[Vib]:
        lst = self.by_name.get(name)
        return lst[0] if lst else None

    def providers(self, rel: Relation, exclude: Optional[str] = None) -> List[Any]:
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

    def satisfied(self, rel: Relation) -> bool:
        for vib, pver in self._prov.get(rel.name, ()):
            if _provide_satisfies(pver, rel):
                return True
        return False

    def name_matches(self, rel: Relation, exclude: Optional[str] = None) -> List[Any]:
        """VIBs whose own name and version match ``rel`` (what a ``replaces`` constraint retires)."""
        return [v for v in self.by_name.get(rel.name, ())
                if (exclude is None or v.id != exclude) and _satisfies(v.version, rel.relation, rel.version)]

    def conflicts_with(self, rel: Relation, exclude: Optional[str] = None) -> List[Any]:
        """VIBs a ``conflicts`` constraint hits (names and provides)."""
        return self.providers(rel, exclude=exclude)

    def esx_version(self) -> Optional[str]:
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


def esx_version_of(vibs: List[Vib]) -> Optional[str]:
    """The ESXi version (``8.0.3``) that a VIB set's esx-base gives it, or None."""
    idx = vibs if isinstance(vibs, VibIndex) else VibIndex(vibs)
    return idx.esx_version()
