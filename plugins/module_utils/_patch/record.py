# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: scan records on disk (``scan_record_dir``). Breaking changes at any time.

One JSON file per host, ``<dir>/<key>.json``, written atomically (temporary file + rename) with mode 0600 in a
folder created with mode 0700. ``esxi_patch_scan`` writes it; ``esxi_patch_deploy`` reads it to make sure it
deploys against the metadata the scan used (``depot_digest``) and the host as it was then (``inventory_digest``).

The record is the host's scan result (the same dict the scan module returns per host, JSON-safe, no secrets)
plus ``record_version``.

Incremental scans keep, next to the records, each host's installed-software inventory as it was read
(``<dir>/.inventory/<key>.json``: the host's fingerprint, image profile name, boot time and image install date,
and the digest of its package records, kept once per distinct list in ``<dir>/.inventory/packages/<digest>.json``
with the API field names). A later scan of a host whose fingerprint is unchanged reuses that inventory instead of
fetching it again. The folder is hidden, so report builders that read every ``<dir>/*.json`` record do not see
it.

Concurrent writers (AWX slices, parallel tasks) are safe: folders are created race-free (``exist_ok``), every
file is written to a temporary file and renamed into place (readers never see a partial file; the last
writer wins), and a record that cannot be read back is reported, never half-used.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from typing import Any, Dict, List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.fileutil import write_atomic
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError

RECORD_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def host_key(name: Optional[str], endpoint: Optional[str] = None, via_vcenter: bool = True) -> str:
    """The record name of a host: its inventory name through vCenter; ``<name>@<endpoint>`` on a direct ESXi
    connection (standalone hosts are often all called ``localhost.localdomain``)."""
    key = str(name or "host")
    if not via_vcenter and endpoint:
        key = "%s@%s" % (key, endpoint)
    safe = _UNSAFE.sub("_", key).strip("._") or "host"
    if safe != key:
        # sanitising is lossy (fd00::1:0 and fd00:1::0 would both give fd00_1_0): keep keys distinct
        safe = "%s_%s" % (safe[:180], hashlib.sha256(key.encode("utf-8")).hexdigest()[:10])
    return safe[:200]


def record_path(directory: str, key: str) -> str:
    return os.path.join(os.path.abspath(os.path.expanduser(directory)), "%s.json" % key)


def _makedirs(folder: str) -> None:
    """Create ``folder`` (mode 0700) unless it exists; safe when another writer creates it at the same time."""
    os.makedirs(folder, mode=0o700, exist_ok=True)


class RecordEncoder(object):
    """``json.dumps(record, sort_keys=True, separators=(",", ":"))`` for the records of one scan, where the
    values under ``shared`` keys (the classification groups) are lists of the same read-only objects for every
    host classified alike: each distinct list is encoded once per scan (keyed by the identities of its items,
    which the encoder keeps alive). The text is exactly ``json.dumps``'s."""

    def __init__(self, shared: Any) -> None:
        self.shared = frozenset(shared)
        self._memo: Dict[Any, Any] = {}

    def dumps(self, payload: Dict[str, Any]) -> str:
        if not all(isinstance(k, str) for k in payload):
            return json.dumps(payload, sort_keys=True, separators=(",", ":"))
        parts = []
        for k in sorted(payload):
            v = payload[k]
            if k in self.shared and isinstance(v, list):
                memo = (k, tuple(id(x) for x in v))
                hit = self._memo.get(memo)
                if hit is None:
                    hit = self._memo[memo] = (json.dumps(v, sort_keys=True, separators=(",", ":")), list(v))
                text = hit[0]
            else:
                text = json.dumps(v, sort_keys=True, separators=(",", ":"))
            parts.append("%s:%s" % (json.dumps(k), text))
        return "{%s}" % ",".join(parts)


def write(directory: str, key: str, data: Dict[str, Any], encoder: Optional[RecordEncoder] = None) -> str:
    """Write ``data`` (JSON-safe dict) as the record of ``key``; returns the file path. ``encoder``: a
    ``RecordEncoder`` shared by the records of one scan (the same text, written faster)."""
    path = record_path(directory, key)
    try:
        _makedirs(os.path.dirname(path))
        payload = dict(data)
        payload["record_version"] = RECORD_VERSION
        # compact: json's C encoder (indent would use the pure-Python one, the slowest step of a repeat scan)
        text = encoder.dumps(payload) if encoder is not None else \
            json.dumps(payload, sort_keys=True, separators=(",", ":"))
        write_atomic(path, text + "\n", mode=0o600)
    except OSError as e:
        raise InputError("cannot write the scan record: %s" % (e.strerror or e), source=path)
    return path


def read(directory: str, key: str) -> Optional[Dict[str, Any]]:
    """The record of ``key`` as a dict, or None when there is none. A damaged file raises ``InputError``."""
    path = record_path(directory, key)
    try:
        with open(path) as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise InputError("cannot read the scan record (%s); run esxi_patch_scan again" % e, source=path)
    if not isinstance(data, dict) or data.get("record_version") != RECORD_VERSION:
        raise InputError("not a scan record of this version; run esxi_patch_scan again", source=path)
    return data


# ---- cached inventories (incremental scan) --------------------------------------------------------------
# Format 2: the package list of a host is kept once per distinct list, content-addressed
# (``.inventory/packages/<sha256 of the file>.json``, canonical JSON), and each host's file holds its fingerprint
# and that digest. Hosts built from one image share one package file, so a repeat scan of 1,000 hosts reads a few
# package files, not 1,000 copies; a package file is checked against its name before use. Format 1 files (the
# packages in each host's file) are misses: those hosts are read again and rewritten in format 2.
INVENTORY_VERSION = 2
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def inventory_path(directory: str, key: str) -> str:
    return os.path.join(os.path.abspath(os.path.expanduser(directory)), ".inventory", "%s.json" % key)


def packages_path(directory: str, digest: str) -> str:
    return os.path.join(os.path.abspath(os.path.expanduser(directory)), ".inventory", "packages", "%s.json" % digest)


def packages_json(packages: List[Dict[str, Any]]) -> bytes:
    """The canonical JSON of a package list (its digest names its file)."""
    return json.dumps(packages, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def packages_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fingerprint(fingerprint: List[Any]) -> List[Any]:
    return [x if isinstance(x, (str, int, float)) else str(x) for x in fingerprint]


def write_packages(directory: str, data: bytes) -> str:
    """Keep a package list (``packages_json``) under its digest; returns the digest. A file already there is kept
    if it holds these very bytes (content-addressed), replaced otherwise (damaged or edited)."""
    digest = packages_digest(data)
    path = packages_path(directory, digest)
    try:
        try:
            with open(path, "rb") as fh:
                if packages_digest(fh.read()) == digest:
                    return digest
        except OSError:
            pass
        _makedirs(os.path.dirname(os.path.dirname(path)))
        _makedirs(os.path.dirname(path))
        write_atomic(path, data, mode=0o600)
    except OSError as e:
        raise InputError("cannot write the cached inventory: %s" % (e.strerror or e), source=path)
    return digest


def write_inventory(directory: str, key: str, fingerprint: List[Any], packages: List[Dict[str, Any]],
                    digest: Optional[str] = None) -> str:
    """Keep ``packages`` (the host's package records) with the ``fingerprint`` they were read under. ``digest``:
    the caller kept the list with ``write_packages`` already (once for many hosts). Returns the host's file."""
    path = inventory_path(directory, key)
    try:
        if digest is None:
            digest = write_packages(directory, packages_json(packages))
        _makedirs(os.path.dirname(os.path.dirname(path)))
        _makedirs(os.path.dirname(path))
        write_atomic(path, json.dumps({"version": INVENTORY_VERSION, "fingerprint": _fingerprint(fingerprint),
                                       "packages": digest}, sort_keys=True), mode=0o600)
    except (OSError, TypeError, ValueError) as e:
        raise InputError("cannot write the cached inventory: %s" % (getattr(e, "strerror", None) or e), source=path)
    return path


class InventoryReader(object):
    """``read_inventory`` for the hosts of one scan: each package file is read (and checked) once, and hosts with
    the same packages get the same list object (read-only)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._packages: Dict[str, Optional[List[Dict[str, Any]]]] = {}
        self._hosts: Dict[str, Any] = {}
        self._loader: Optional[threading.Thread] = None
        self._lock = threading.Lock()   # ``read`` runs on the scan's threads: each package file read once

    def preload(self, keys: List[str]) -> None:
        """Read the files of ``keys`` in the background (one pass, while the scan waits for its first answers);
        ``read`` then uses what was read (a key not read there is read when asked). The files are read once
        per scan, as before, only earlier: the fingerprint check of ``read`` is the same."""
        def load() -> None:
            for key in keys:
                self._hosts[key] = self._load(key)
        self._loader = threading.Thread(target=load, name="fleetpatch-inventory-preload", daemon=True)
        self._loader.start()

    def _load(self, key: str) -> Any:
        try:
            with open(inventory_path(self.directory, key), "rb") as fh:
                return json.loads(fh.read())
        except (OSError, ValueError):
            return None

    def packages(self, digest: str) -> Optional[List[Dict[str, Any]]]:
        """The package list kept under ``digest``; None when it is missing, damaged or not what its name says."""
        if digest in self._packages:
            return self._packages[digest]
        with self._lock:
            if digest not in self._packages:
                self._packages[digest] = self._read_packages(digest)
        return self._packages[digest]

    def _read_packages(self, digest: str) -> Optional[List[Dict[str, Any]]]:
        out = None
        if _DIGEST.match(digest):
            try:
                with open(packages_path(self.directory, digest), "rb") as fh:
                    data = fh.read()
                if packages_digest(data) == digest:
                    doc = json.loads(data.decode("utf-8"))
                    if isinstance(doc, list) and all(isinstance(p, dict) for p in doc):
                        out = doc
            except (OSError, ValueError):
                out = None
        return out

    def read(self, key: str, fingerprint: List[Any]) -> Optional[List[Dict[str, Any]]]:
        """The cached package records of ``key`` if they were read under the same ``fingerprint`` (else None). A
        fingerprint with an unknown part (None) never matches; a damaged or foreign file is a miss, not an
        error: the inventory is then read from the host again."""
        if not fingerprint or any(x is None for x in fingerprint):
            return None
        if self._loader is not None:
            self._loader.join()
        data = self._hosts[key] if key in self._hosts else self._load(key)
        if not isinstance(data, dict) or data.get("version") != INVENTORY_VERSION \
                or data.get("fingerprint") != _fingerprint(fingerprint) \
                or not isinstance(data.get("packages"), str):
            return None
        return self.packages(data["packages"])


def read_inventory(directory: str, key: str, fingerprint: List[Any]) -> Optional[List[Dict[str, Any]]]:
    """``InventoryReader(directory).read(key, fingerprint)`` (one host)."""
    return InventoryReader(directory).read(key, fingerprint)
