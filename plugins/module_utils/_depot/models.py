# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: data models of a VMware depot. Pure Python; no Ansible, no I/O. Breaking changes at any time.

Every model has ``to_dict()`` returning JSON-safe data with the field names the modules document.
Field names follow the issue contract (snake_case), not VMware's XML spelling.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, MutableMapping, Sequence as _SequenceABC
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vibversion import satisfies, platform_version_matches

# Python 3.10+: the record classes get ``__slots__`` (no per-instance dict: about 3x less memory per VIB).
_SLOTS = {"slots": True} if sys.version_info >= (3, 10) else {}

# Acceptance levels, strongest first. Index = trust rank (higher = more trusted).
ACCEPTANCE_LEVELS = ("community", "partner", "accepted", "certified")
_ACCEPTANCE_ALIASES = {
    "certified": "certified", "vmwarecertified": "certified", "vmware_certified": "certified",
    "accepted": "accepted", "vmwareaccepted": "accepted", "vmware_accepted": "accepted",
    "partner": "partner", "partnersupported": "partner", "partner_supported": "partner",
    "community": "community", "communitysupported": "community", "community_supported": "community",
}
# What the vSphere API (ImageConfigManager) and esxcli call each level.
ACCEPTANCE_API_NAMES = {"certified": "vmware_certified", "accepted": "vmware_accepted",
                        "partner": "partner", "community": "community"}
ACCEPTANCE_ESXCLI_NAMES = {"certified": "VMwareCertified", "accepted": "VMwareAccepted",
                           "partner": "PartnerSupported", "community": "CommunitySupported"}


def normalize_acceptance(level):
    """``VMwareCertified``/``vmware_certified``/``certified`` -> ``certified``. ValueError if unknown."""
    if level is None:
        return None
    key = str(level).strip().replace("-", "_").lower()
    key2 = key.replace("_", "")
    if key in _ACCEPTANCE_ALIASES:
        return _ACCEPTANCE_ALIASES[key]
    if key2 in _ACCEPTANCE_ALIASES:
        return _ACCEPTANCE_ALIASES[key2]
    raise ValueError("unknown acceptance level %r (use certified, accepted, partner, community or "
                     "VMwareCertified, VMwareAccepted, PartnerSupported, CommunitySupported)" % (level,))


def acceptance_rank(level):
    return ACCEPTANCE_LEVELS.index(normalize_acceptance(level))


def acceptance_allows(minimum, level):
    """True if a VIB of ``level`` may go into an image (or host) whose minimum is ``minimum``."""
    return acceptance_rank(level) >= acceptance_rank(minimum)


class Relation(NamedTuple):
    """A ``depends``/``conflicts``/``replaces`` constraint: ``name [relation version]``.

    The small value types are named tuples: immutable, hashable and about a third of the memory of a
    dataclass instance (thousands of them per depot)."""
    name: str
    relation: Optional[str] = None   # one of <<, <=, =, >=, >> or None
    version: Optional[str] = None

    def matches(self, name: str, version: str) -> bool:
        return name == self.name and satisfies(version, self.relation, self.version)

    def to_dict(self) -> dict:
        return {"name": self.name, "relation": self.relation, "version": self.version}

    def __str__(self) -> str:
        return self.name if not self.relation else "%s %s %s" % (self.name, self.relation, self.version)


class Provide(NamedTuple):
    name: str
    version: Optional[str] = None

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version}


class Platform(NamedTuple):
    product_line: str
    version: str = ""
    locale: str = ""

    def matches(self, product_line: str, version: str) -> bool:
        if self.product_line and product_line and self.product_line != product_line:
            return False
        return platform_version_matches(self.version, version)

    def to_dict(self) -> dict:
        return {"product_line": self.product_line, "version": self.version, "locale": self.locale}


class Checksum(NamedTuple):
    type: str                        # sha-256, sha-1, sha-256-gunzip1, ...
    value: str
    verify_process: Optional[str] = None   # gunzip, txt-mle, or None

    def to_dict(self) -> dict:
        return {"type": self.type, "value": self.value, "verify_process": self.verify_process}


class Payload(NamedTuple):
    name: str
    type: str
    size: Optional[int] = None
    uncompressed_size: Optional[int] = None
    compression_option: Optional[str] = None
    checksums: Tuple[Checksum, ...] = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "size": self.size,
                "uncompressed_size": self.uncompressed_size, "compression_option": self.compression_option,
                "checksums": [c.to_dict() for c in self.checksums]}


class FileList(_SequenceABC):
    """The file list of a VIB kept as ONE string (the paths joined by ``sep``) instead of a tuple of thousands
    of small strings: esx-base lists about 4,900 files, and a depot holds one esx-base per release. Reads like
    a tuple (iteration, ``len``, indexing, ``==`` with a tuple); the paths are split out on each access.
    Empty paths are dropped, as the XML reader drops empty ``<file/>`` elements."""
    __slots__ = ("text", "sep", "_n", "__weakref__")

    def __init__(self, text: str, sep: str = "\x00") -> None:
        self.text = text
        self.sep = sep
        self._n = -1

    def _parts(self) -> List[str]:
        parts = self.text.split(self.sep) if self.text else []
        if "" in parts:
            parts = [x for x in parts if x]
        return parts

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts())

    def __len__(self) -> int:
        if self._n < 0:
            self._n = len(self._parts())
        return self._n

    def __getitem__(self, i):  # type: ignore[override]
        return tuple(self._parts())[i]

    def __contains__(self, item: object) -> bool:
        return item in self._parts()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FileList):
            return tuple(self) == tuple(other)
        if isinstance(other, (tuple, list)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return "FileList(%d files)" % len(self)

    def joined(self, sep: str) -> str:
        """The paths joined by ``sep`` (no split when ``sep`` is the stored separator and none is empty)."""
        if sep == self.sep and (self.sep + self.sep) not in self.text and not self.text.startswith(self.sep) \
                and not self.text.endswith(self.sep):
            return self.text
        return sep.join(self._parts())


@dataclass(**_SLOTS)
class Vib:
    id: str
    name: str
    version: str
    vendor: str
    type: str = "bootbank"
    acceptance_level: str = "community"       # certified | accepted | partner | community
    summary: str = ""
    description: str = ""
    release_date: Optional[str] = None        # ISO 8601 as written
    depends: Tuple[Relation, ...] = ()
    conflicts: Tuple[Relation, ...] = ()
    replaces: Tuple[Relation, ...] = ()
    provides: Tuple[Provide, ...] = ()
    maintenance_mode_required: bool = True
    live_install_allowed: bool = False
    live_remove_allowed: bool = False
    stateless_ready: bool = False
    overlay: bool = False
    cimom_restart: bool = False
    platforms: Tuple[Platform, ...] = ()
    hw_platforms: Tuple[dict, ...] = ()
    relative_path: Optional[str] = None
    packed_size: Optional[int] = None
    checksum: Optional[Checksum] = None
    payloads: Tuple[Payload, ...] = ()
    tags: Tuple[str, ...] = ()
    files: Sequence[str] = ()                 # a tuple, or a FileList (compact form) from the depot reader
    install_date: Optional[str] = None
    source: Optional[str] = None              # where it was read from (redacted URL or path)
    urls: Tuple[Tuple[str, str], ...] = ()     # <urls><url key=..>: (key, url) pairs as written

    @staticmethod
    def make_id(vendor, vib_type, name, version):
        return "%s_%s_%s_%s" % (vendor, vib_type, name, version)

    def applies_to(self, product_line, version):
        """A VIB with no platform applies everywhere; otherwise one platform must match."""
        return not self.platforms or any(p.matches(product_line, version) for p in self.platforms)

    def to_dict(self, with_files=False):
        d = {
            "id": self.id, "name": self.name, "version": self.version, "vendor": self.vendor, "type": self.type,
            "acceptance_level": self.acceptance_level, "summary": self.summary, "description": self.description,
            "release_date": self.release_date,
            "depends": [r.to_dict() for r in self.depends], "conflicts": [r.to_dict() for r in self.conflicts],
            "replaces": [r.to_dict() for r in self.replaces], "provides": [p.to_dict() for p in self.provides],
            "maintenance_mode_required": self.maintenance_mode_required,
            "live_install_allowed": self.live_install_allowed, "live_remove_allowed": self.live_remove_allowed,
            "stateless_ready": self.stateless_ready, "overlay": self.overlay,
            "platforms": [p.to_dict() for p in self.platforms],
            "relative_path": self.relative_path, "packed_size": self.packed_size,
            "checksum": self.checksum.to_dict() if self.checksum else None,
            "payloads": [p.to_dict() for p in self.payloads], "tags": list(self.tags),
            "install_date": self.install_date,
            "urls": [{"key": k, "url": u} for k, u in self.urls],
        }
        if with_files:
            d["files"] = list(self.files)
        return d


class Component(NamedTuple):
    """ESXi 7.0+ component identity of a bulletin (``componentNameSpec``/``componentVersionSpec``)."""
    name: str
    version: str
    display_name: Optional[str] = None
    display_version: Optional[str] = None

    def to_dict(self):
        return {"name": self.name, "version": self.version, "display_name": self.display_name,
                "display_version": self.display_version}


@dataclass(**_SLOTS)
class Bulletin:
    id: str
    vendor: str = ""
    summary: str = ""
    severity: str = ""          # general | important | critical | security | ...
    category: str = ""          # general | enhancement | bugfix | security | ...
    urgency: str = ""
    release_type: str = ""      # extension | patch | update | rollup ...
    release_date: Optional[str] = None
    kb_url: Optional[str] = None
    description: str = ""
    contact: Optional[str] = None
    platforms: Tuple[Platform, ...] = ()
    vib_ids: Tuple[str, ...] = ()
    component: Optional[Component] = None
    source: Optional[str] = None

    def applies_to(self, product_line, version):
        return not self.platforms or any(p.matches(product_line, version) for p in self.platforms)

    def to_dict(self):
        return {"id": self.id, "vendor": self.vendor, "summary": self.summary, "severity": self.severity,
                "category": self.category, "urgency": self.urgency, "release_type": self.release_type,
                "release_date": self.release_date, "kb_url": self.kb_url, "description": self.description,
                "contact": self.contact, "platforms": [p.to_dict() for p in self.platforms],
                "vib_ids": list(self.vib_ids), "component": self.component.to_dict() if self.component else None}


@dataclass(**_SLOTS)
class ImageProfile:
    name: str
    creator: str = ""
    acceptance_level: str = "partner"
    vib_ids: Tuple[str, ...] = ()
    description: str = ""
    profile_id: Optional[str] = None
    creation_time: Optional[str] = None
    modified_time: Optional[str] = None
    readonly: bool = False
    source: Optional[str] = None

    def to_dict(self):
        return {"name": self.name, "creator": self.creator, "acceptance_level": self.acceptance_level,
                "vib_ids": list(self.vib_ids), "description": self.description, "profile_id": self.profile_id,
                "creation_time": self.creation_time, "modified_time": self.modified_time, "readonly": self.readonly}


@dataclass
class MetadataRef:
    """One ``<metadata>`` entry of a ``vendor-index.xml``: which metadata.zip serves which platform."""
    url: str                   # absolute URL or absolute path of the metadata zip
    product_line: str = ""
    version: str = ""
    locale: str = ""
    channels: Tuple[str, ...] = ()
    patch_url: Optional[str] = None   # <patchUrl> as written (often empty)

    def to_dict(self):
        return {"url": self.url, "product_line": self.product_line, "version": self.version,
                "locale": self.locale, "channels": list(self.channels), "patch_url": self.patch_url}


class LayeredMap(MutableMapping):
    """A dict-like map built from layers, later layers winning on equal keys: what ``Depot`` holds its VIBs,
    bulletins, profiles and ``vib_files`` in. ``update()`` with a *lazy* mapping (one that has
    ``lazy_layer = True``, such as the depot cache's records) adds it as a layer instead of copying it, so
    merging a cached unit of 30,000 VIBs costs nothing until a VIB is read. Anything else is copied as a dict
    would copy it. Reads look at the layers from the newest; deleting a key that lives in a lazy layer is
    not supported (cached content is read-only)."""
    __slots__ = ("_layers",)

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._layers: List[Mapping] = []
        if args or kwargs:
            self.update(*args, **kwargs)

    def _own(self) -> dict:
        if not self._layers or type(self._layers[-1]) is not dict:  # pylint: disable=unidiomatic-typecheck
            self._layers.append({})
        own = self._layers[-1]
        if not (isinstance(own, dict)):
            raise AssertionError('isinstance(own, dict)')
        return own

    def update(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        if len(args) == 1 and not kwargs and getattr(args[0], "lazy_layer", False):
            layer = args[0]
            if not (isinstance(layer, Mapping)):
                raise AssertionError('isinstance(layer, Mapping)')
            if len(layer):
                self._layers.append(layer)
            return
        own = self._own()
        own.update(*args, **kwargs)  # type: ignore[call-overload]

    def add_located(self, vibs: Mapping, locate: Callable[[str], Optional[str]]) -> None:
        """``vib_files`` of a unit: ``vib id -> locate(vib.relative_path)``, resolved when looked up."""
        if len(vibs):
            self._layers.append(_Located(vibs, locate))

    def __getitem__(self, key: object) -> object:
        layers = self._layers
        if len(layers) == 1:
            return layers[0][key]
        for layer in reversed(layers):
            try:
                return layer[key]
            except KeyError:
                pass
        raise KeyError(key)

    def get(self, key: object, default: object = None) -> object:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        layers = self._layers
        if len(layers) == 1 and type(layers[0]) is dict:  # pylint: disable=unidiomatic-typecheck
            return key in layers[0]
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __setitem__(self, key: object, value: object) -> None:
        self._own()[key] = value

    def __delitem__(self, key: object) -> None:
        found = False
        for layer in self._layers:
            if key in layer:
                if type(layer) is not dict:  # pylint: disable=unidiomatic-typecheck
                    raise TypeError("cached depot content is read-only")
                del layer[key]
                found = True
        if not found:
            raise KeyError(key)

    def __iter__(self) -> Iterator:
        layers = self._layers
        if len(layers) == 1:
            return iter(layers[0])
        seen: dict = {}
        for layer in layers:
            for k in layer:
                seen[k] = None
        return iter(seen)

    def __len__(self) -> int:
        layers = self._layers
        if len(layers) == 1:
            return len(layers[0])
        return sum(1 for _item in self)

    def values(self):  # type: ignore[override]
        layers = self._layers
        if len(layers) == 1:
            return layers[0].values()
        return [self[k] for k in self]

    def items(self):  # type: ignore[override]
        layers = self._layers
        if len(layers) == 1:
            return layers[0].items()
        return [(k, self[k]) for k in self]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return "LayeredMap(%d entries, %d layers)" % (len(self), len(self._layers))


class _Located(Mapping):
    """``vib id -> locate(relative_path)`` over a unit's VIBs (the lazy ``vib_files`` layer)."""
    __slots__ = ("vibs", "locate")

    def __init__(self, vibs: Mapping, locate: Callable[[str], Optional[str]]) -> None:
        self.vibs = vibs
        self.locate = locate

    def __getitem__(self, vid: object) -> str:
        rp = self.vibs[vid].relative_path
        ref = self.locate(rp) if rp else None
        if not ref:
            raise KeyError(vid)
        return ref

    def __iter__(self) -> Iterator:
        for vid in self.vibs:
            try:
                self[vid]
            except KeyError:
                continue
            yield vid

    def __len__(self) -> int:
        return sum(1 for _item in self)


@dataclass
class Depot:
    """The merged content of one or more depot sources."""
    # LayeredMap: dict-like; cached units are merged as lazy layers (read on first use)
    vibs: Dict[str, Vib] = field(default_factory=LayeredMap)  # type: ignore[arg-type]
    bulletins: Dict[str, Bulletin] = field(default_factory=LayeredMap)  # type: ignore[arg-type]
    profiles: Dict[str, ImageProfile] = field(default_factory=LayeredMap)  # type: ignore[arg-type]
    base_images: Dict[str, dict] = field(default_factory=dict)
    addons: Dict[str, dict] = field(default_factory=dict)
    metadata: List[MetadataRef] = field(default_factory=list)
    sources: List[str] = field(default_factory=list)     # redacted
    digest: Optional[str] = None                          # sha256 over the metadata bytes used
    # vib id -> local .vib path or URL, when known (LayeredMap: metadata units add lazily located layers)
    vib_files: Dict[str, str] = field(default_factory=LayeredMap)  # type: ignore[arg-type]
    # installed-host image DB records (var/db/esximg/vibs): vib id -> {"descriptor": path of the record,
    # "orig": path of the signed original ``.orig`` or None, "sig": path of the detached ``.sig`` or None}
    descriptor_signatures: Dict[str, dict] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)   # non-fatal notes (e.g. no metadata matched a filter)
    cache_stats: Dict[str, int] = field(default_factory=dict)   # load_depot: {"memory": n, "disk": n, "miss": n}

    def merge(self, other):
        self.vibs.update(other.vibs)
        self.bulletins.update(other.bulletins)
        self.profiles.update(other.profiles)
        self.base_images.update(other.base_images)
        self.addons.update(other.addons)
        self.metadata.extend(other.metadata)
        self.sources.extend(other.sources)
        self.vib_files.update(other.vib_files)
        self.descriptor_signatures.update(other.descriptor_signatures)
        self.warnings.extend(other.warnings)
        return self

    @property
    def components(self):
        out = {}
        for b in self.bulletins.values():
            if b.component:
                out["%s_%s" % (b.component.name, b.component.version)] = b
        return out

    def counts(self):
        return {"bulletins": len(self.bulletins), "vibs": len(self.vibs), "profiles": len(self.profiles),
                "components": len(self.components), "base_images": len(self.base_images),
                "addons": len(self.addons)}
