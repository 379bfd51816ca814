# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VIB version ordering and relations, as VMware orders them. Breaking changes at any time.

A VIB version is ``<version>-<release>`` (``1.14-1vmw.803.0.0.75399077``, ``8.0.3-0.0.24022510``,
``8.045a-napi``). Both halves are dot-separated fields; each field is split into runs of digits and
non-digits, and digit runs compare as numbers (``1.10`` > ``1.9``, ``10vmw`` > ``9vmw``). The release
splits off at the last hyphen. A constraint version without a release (``esx-version >= 6.7.0``)
compares against the version half only.

Relations: ``<<`` (strictly older), ``<=``, ``=``, ``>=``, ``>>`` (strictly newer); ``None`` means any version.
The playbook operators ``<``, ``>``, ``==``, ``!=`` are accepted as aliases.
"""

from __future__ import annotations

import functools
import re

_TOKEN = re.compile(r"\d+|[^\d]+")

RELATIONS = ("<<", "<=", "=", ">=", ">>")
_ALIASES = {"<": "<<", ">": ">>", "==": "=", "<<": "<<", "<=": "<=", "=": "=", ">=": ">=", ">>": ">>",
            "!=": "!=", "lessThan": "<<", "lessThanEqual": "<=", "equals": "=", "greaterThanEqual": ">=",
            "greaterThan": ">>"}


def _field_key(field):
    # digits compare numerically and sort after letters at the same position (Debian-like)
    return tuple((1, int(t), "") if t.isdigit() else (0, 0, t) for t in _TOKEN.findall(field))


def _part_key(part):
    return tuple(_field_key(f) for f in part.split(".")) if part else ()


@functools.total_ordering
class VibVersion(object):
    """A parsed VIB version. Compare instances with the usual operators."""

    __slots__ = ("text", "version", "release", "_vkey", "_rkey")

    def __init__(self, text):
        text = (text or "").strip()
        self.text = text
        if "-" in text:
            self.version, self.release = text.rsplit("-", 1)
        else:
            self.version, self.release = text, None
        self._vkey = _part_key(self.version)
        self._rkey = _part_key(self.release) if self.release is not None else None

    @classmethod
    def parse(cls, text):
        return text if isinstance(text, VibVersion) else cls(text)

    def compare(self, other):
        """-1, 0 or 1. Releases are compared only when both sides have one."""
        other = VibVersion.parse(other)
        if self._vkey != other._vkey:
            return -1 if self._vkey < other._vkey else 1
        if self._rkey is None or other._rkey is None or self._rkey == other._rkey:
            return 0
        return -1 if self._rkey < other._rkey else 1

    def __eq__(self, other):
        if not isinstance(other, (VibVersion, str)):
            return NotImplemented
        return self.compare(other) == 0

    def __lt__(self, other):
        if not isinstance(other, (VibVersion, str)):
            return NotImplemented
        return self.compare(other) < 0

    def __hash__(self):
        return hash((self._vkey, self._rkey))

    def __repr__(self):
        return "VibVersion(%r)" % self.text

    def __str__(self):
        return self.text

    def sort_key(self):
        return (self._vkey, self._rkey or ())


def normalize_relation(op):
    """Map ``<``, ``==``, ``lessThan``... to VMware's relation; raise ValueError if unknown."""
    if op is None or op == "":
        return None
    try:
        return _ALIASES[op.strip()]
    except KeyError:
        raise ValueError("unknown version relation %r (use one of <<, <=, =, >=, >>, <, >, ==, !=)" % op)


def compare(a, b):
    return VibVersion.parse(a).compare(b)


def satisfies(version, relation, wanted):
    """True if ``version`` stands in ``relation`` to ``wanted``. ``relation`` None = any version."""
    rel = normalize_relation(relation)
    if rel is None or wanted in (None, ""):
        return True
    if version in (None, ""):
        return False
    c = VibVersion.parse(version).compare(wanted)
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


def newest(versions):
    """The newest of an iterable of version strings (None for none)."""
    best = None
    for v in versions:
        if best is None or VibVersion.parse(v) > best:
            best = VibVersion.parse(v)
    return None if best is None else best.text


def platform_version_matches(pattern, version):
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
    if len(pfields) == 3 and _field_key(pfields[2]) == _field_key("0"):
        pfields = pfields[:2]
    if len(pfields) > len(vfields):
        vfields = vfields + ["0"] * (len(pfields) - len(vfields))
    return all(_field_key(p) == _field_key(v) for p, v in zip(pfields, vfields))
