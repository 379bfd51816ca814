# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VIB version ordering and relations, as VMware's esximage orders them. Breaking changes at any time.

The rules are esximage's (``Version.py``, ``Vib.py`` of ESXi 6.5/6.7, see
``docs/reference/esxi-software-stack-facts.md``, sections "Versions" and "Relations"):

- A VIB version is ``<version>-<release>`` (``1.14-1vmw.803.0.0.75399077``); it must have at most one hyphen (two or
  more: ``ValueError("Could not parse '...' to a Vib version.")``); without a hyphen the release is ``""``.
- Each half is split on ``.``; each field becomes ``(int(leading digits) or -1 when there are none, rest as a
  string)``; the tuples compare lexicographically and a shorter prefix is smaller (``8.0 < 8.0.0``). Only the
  LEADING digit run is numeric: ``2abc10 < 2abc9``, ``1-a10 < 1-a9``.
- Two VIB versions compare ``(version, release)``; an empty release is the field ``(-1, '')``, the lowest, so
  ``1.0 < 1.0-1``.
- A constraint version without a release (``esx-version >= 6.7.0``) is a plain version: it is compared with the
  version half only. An unversioned provide never satisfies a versioned constraint.

Relations: ``<<`` (strictly older), ``<=``, ``=``, ``>=``, ``>>`` (strictly newer); ``None`` means any version.
The playbook operators ``<``, ``>``, ``==``, ``!=`` are accepted as aliases.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterable, Optional, Tuple, Union

_TOKEN = re.compile(r"\d+|[^\d]+")
_LEADING = re.compile(r"^(\d*)(.*)$", re.S)

RELATIONS = ("<<", "<=", "=", ">=", ">>")
_ALIASES = {"<": "<<", ">": ">>", "==": "=", "<<": "<<", "<=": "<=", "=": "=", ">=": ">=", ">>": ">>",
            "!=": "!=", "lessThan": "<<", "lessThanEqual": "<=", "equals": "=", "greaterThanEqual": ">=",
            "greaterThan": ">>"}

Key = Tuple[Tuple[int, str], ...]


def _field(field: str) -> Tuple[int, str]:
    """esximage's field: (leading digit run as int, or -1 when there is none; the rest as a string)."""
    m = _LEADING.match(field)
    digits, rest = (m.group(1), m.group(2)) if m else ("", field)
    return (int(digits) if digits else -1, rest)


def _part_key(part: str) -> Key:
    return tuple(_field(f) for f in part.split("."))


def _natural_key(field: str) -> Tuple[Tuple[int, int, str], ...]:
    # platform patterns only (``7.0.0`` vs ``7.0.00``): digit runs compare as numbers
    return tuple((1, int(t), "") if t.isdigit() else (0, 0, t) for t in _TOKEN.findall(field))


@functools.total_ordering
class VibVersion(object):
    """A parsed version. Compare with the usual operators.

    ``VibVersion.vib(text)`` is a VIB's own version: without a hyphen its release is ``""``, the lowest
    (``1.0 < 1.0-1``). ``VibVersion(text)`` (= ``VibVersion.constraint(text)``) is the version of a relation: without
    a hyphen it is a plain version that compares with the version half only (``6.7.0`` equals ``6.7.0-0.0.1``).
    ``compare()``, ``newest()`` and ``sort_key()`` order as esximage orders VIB versions."""

    __slots__ = ("text", "version", "release", "_vkey", "_rkey")

    def __init__(self, text: Optional[str], plain: bool = True) -> None:
        text = (text or "").strip()
        self.text = text
        parts = text.split("-")
        if len(parts) > 2:
            raise ValueError("Could not parse '%s' to a Vib version." % text)
        self.version = parts[0]
        self.release: Optional[str] = parts[1] if len(parts) == 2 else (None if plain else "")
        self._vkey = _part_key(self.version)
        self._rkey: Optional[Key] = _part_key(self.release) if self.release is not None else None

    @classmethod
    def parse(cls, text: Union[str, "VibVersion", None]) -> "VibVersion":
        return text if isinstance(text, VibVersion) else cls(text)

    @classmethod
    def vib(cls, text: Union[str, "VibVersion", None]) -> "VibVersion":
        """A VIB's own version (no hyphen: empty release, the lowest)."""
        if isinstance(text, VibVersion):
            return text if not text.plain else cls(text.text, plain=False)
        return cls(text, plain=False)

    @classmethod
    def constraint(cls, text: Union[str, "VibVersion", None]) -> "VibVersion":
        """The version of a relation: without a release it is a plain version (version half only)."""
        return text if isinstance(text, VibVersion) else cls(text, plain=True)

    @property
    def plain(self) -> bool:
        return self._rkey is None

    def compare(self, other: Union[str, "VibVersion"]) -> int:
        """-1, 0 or 1. Two VIB versions compare (version, release), an empty release lowest; a plain version
        (a constraint without a release) compares the version halves only."""
        other = VibVersion.parse(other)
        if self._vkey != other._vkey:
            return -1 if self._vkey < other._vkey else 1
        if self._rkey is None or other._rkey is None or self._rkey == other._rkey:
            return 0
        return -1 if self._rkey < other._rkey else 1

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, (VibVersion, str)):
            return NotImplemented
        return self.compare(other) == 0

    def __lt__(self, other: Any) -> bool:
        if not isinstance(other, (VibVersion, str)):
            return NotImplemented
        return self.compare(other) < 0

    def __hash__(self) -> int:
        return hash(self._vkey)   # equal versions have equal version halves (a plain one equals any release)

    def __repr__(self) -> str:
        return "VibVersion(%r)" % self.text

    def __str__(self) -> str:
        return self.text

    def sort_key(self) -> Tuple[Key, Key]:
        return (self._vkey, self._rkey if self._rkey is not None else ((-1, ""),))


def normalize_relation(op: Optional[str]) -> Optional[str]:
    """Map ``<``, ``==``, ``lessThan``... to VMware's relation; raise ValueError if unknown."""
    if op is None or op == "":
        return None
    try:
        return _ALIASES[op.strip()]
    except KeyError:
        raise ValueError("unknown version relation %r (use one of <<, <=, =, >=, >>, <, >, ==, !=)" % op)


def compare(a: Union[str, VibVersion], b: Union[str, VibVersion]) -> int:
    """Order two VIB versions as esximage does (``1.0 < 1.0-1``)."""
    return VibVersion.vib(a).compare(VibVersion.vib(b))


def satisfies(version: Optional[str], relation: Optional[str], wanted: Optional[str]) -> bool:
    """True if a provide of ``version`` satisfies the constraint ``relation wanted`` (esximage
    ``VibRelation.matchesprovide``). ``relation`` None = any version; no ``version`` never satisfies a versioned
    constraint; a ``wanted`` without a release compares the version half only."""
    rel = normalize_relation(relation)
    if rel is None or wanted in (None, ""):
        return True
    if version in (None, ""):
        return False
    c = VibVersion.vib(version).compare(VibVersion.constraint(wanted))
    if rel == "<<":
        return c < 0
    if rel == "<=":
        return c <= 0
    if rel == "=":
        return c == 0
    if rel == ">=":
        return c >= 0
    if rel == ">>":
        return c > 0
    if rel == "!=":
        return c != 0
    raise ValueError(rel)  # pragma: no cover


def newest(versions: Iterable[str]) -> Optional[str]:
    """The newest of an iterable of version strings (None for none)."""
    best = None
    for v in versions:
        if best is None or VibVersion.vib(v) > best:
            best = VibVersion.vib(v)
    return None if best is None else best.text


def platform_version_matches(pattern: Optional[str], version: Optional[str]) -> bool:
    """Match a platform version pattern (``6.*``, ``7.0.0``, ``8.0``, ``5.5.0``, ``''``) against an ESXi
    version such as ``8.0.3``. ``*`` matches any rest; a shorter pattern without ``*`` matches the same
    leading fields (``8.0`` matches ``8.0.3``); an update field of 0 matches every update of the release
    (``7.0.0`` matches ``7.0.3``, see the note below); ``7.0.2`` matches ``7.0.2`` only."""
    pattern = (pattern or "").strip()
    if pattern in ("", "*"):
        return True
    version = (version or "").strip()
    if not version:
        return False
    if "*" in pattern:
        regex = "^" + re.escape(pattern).replace(r"\*", ".*") + "$"
        return re.match(regex, version) is not None
    pfields = pattern.split(".")
    vfields = version.split(".")
    # ASSUMED (from practice, not from a VMware document): a pattern whose update field is 0 (``7.0.0``,
    # ``8.0.0``) names the release line, not only its GA: VMware's ``7.0.0``/``8.0.0`` components (community
    # network driver, Intel nvmupdate, Realtek Re driver) install on 7.0 U3 / 8.0 U3 hosts, and GA VIBs that
    # declare ``6.7.0`` stay installed in 6.7 U3 images. So ``X.Y.0`` matches every ``X.Y.z``.
    if len(pfields) == 3 and _natural_key(pfields[2]) == _natural_key("0"):
        pfields = pfields[:2]
    if len(pfields) > len(vfields):
        vfields = vfields + ["0"] * (len(pfields) - len(vfields))
    return all(_natural_key(p) == _natural_key(v) for p, v in zip(pfields, vfields))
