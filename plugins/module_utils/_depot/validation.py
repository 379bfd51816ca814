# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the I/O side of profile validation. Breaking changes at any time.

``_imagebuilder.validate`` is pure: it gets a trust store, an extensibility schema (bytes), a VIB opener and a
host-record reader from its caller. This module is that caller: it reads the trust-store files, the schema file
and the ``X.xml.sig``/``X.xml.orig`` pairs of host image databases from disk, and opens ``.vib`` files through
``_depot.sources.open_vib`` (local files, bundle members, HTTP(S) through the client layer).

``validate_profile(depot, **options)`` takes the module's options (paths) and returns the pure function's result.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotFormatError, InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import open_vib
from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder import signature as S
from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder import validate as V
from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder import vib_checks as C
from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder.validate import (  # noqa: F401
    ProfileInvalidError, check_fail_on, should_fail,
)

MAX_TRUST_FILE = 16 * 1024 * 1024
MAX_RECORD_SIG = 1024 * 1024
MAX_RECORD_ORIG = 64 * 1024 * 1024
MAX_SCHEMA = 16 * 1024 * 1024

PathList = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]], None]


def _read(path: str, limit: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(limit)


def read_trust_store(paths: PathList) -> S.TrustStore:
    """A ``TrustStore`` from PEM/DER certificate and CRL files. ``InputError`` names a missing or unreadable file,
    or one without a usable certificate."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    blobs: List[Tuple[str, bytes]] = []
    for p in paths or ():
        path = os.fspath(p)
        try:
            blobs.append((path, _read(path, MAX_TRUST_FILE)))
        except OSError as e:
            raise InputError("trust_store: cannot read %s: %s" % (path, e.strerror or e), source=path)
    return S.TrustStore.from_blobs(blobs)


def read_schema(path: Union[str, "os.PathLike[str]"]) -> C.SchemaFile:
    """The bytes of an extensibility schema (``vib20-extensibility.rng``) file."""
    label = os.fspath(path)
    try:
        return C.SchemaFile(label, _read(label, MAX_SCHEMA))
    except OSError as e:
        raise InputError("cannot read extensibility schema %s: %s" % (label, e.strerror or e), source=label)


def host_record_files(xml_path: str) -> Tuple[Optional[str], Optional[str]]:
    """``(orig_path, sig_path)`` of an installed-VIB record ``X.xml`` (``X.xml.orig``, ``X.xml.sig``), each None
    when absent."""
    orig = xml_path + ".orig"
    sig = xml_path + ".sig"
    return (orig if os.path.isfile(orig) else None, sig if os.path.isfile(sig) else None)


def read_host_record(xml_path: str) -> Tuple[Optional[bytes], Optional[bytes]]:
    """``(signature, original)`` bytes of an installed-VIB record (None for a missing file). An unreadable file
    is a ``DepotFormatError`` naming it."""
    orig, sig = host_record_files(xml_path)
    try:
        return (_read(sig, MAX_RECORD_SIG) if sig else None, _read(orig, MAX_RECORD_ORIG) if orig else None)
    except OSError as e:
        raise DepotFormatError("cannot read %s: %s" % (e.filename, e.strerror), source=str(e.filename))


def verify_host_record(xml_path: str, trust: S.TrustStore, expiry: str = "signing_time",
                       now: Any = None) -> Optional[S.SignatureResult]:
    """``signature.verify_host_record`` for a record on disk."""
    sig, orig = read_host_record(xml_path)
    return S.verify_host_record(os.path.basename(xml_path), sig, orig, trust, expiry, now)


def validate_profile(depot: Any, trust_store: PathList = (), extensibility_schema: Optional[str] = None,
                     **options: Any) -> Dict[str, Any]:
    """``_imagebuilder.validate.validate_profile`` with the module's options: ``trust_store`` (PEM files) and
    ``extensibility_schema`` (a path) are read here, ``.vib`` files are opened with ``open_vib`` and host records
    with ``read_host_record``. Other ``options`` are passed through."""
    trust = read_trust_store(trust_store) if options.get("verify_signatures") and trust_store else None
    schema = read_schema(extensibility_schema) if extensibility_schema else None
    options.setdefault("open_vib", open_vib)
    options.setdefault("read_host_record", read_host_record)
    return V.validate_profile(depot, trust_store=trust, extensibility_schema=schema, **options)


def validate_and_check(depot: Any, fail_on: str, **options: Any) -> Dict[str, Any]:
    """``validate_profile`` then ``check_fail_on`` (raises ``ProfileInvalidError`` carrying the result)."""
    return check_fail_on(validate_profile(depot, **options), fail_on)


__all__: Tuple[str, ...] = ("read_trust_store", "read_schema", "read_host_record", "host_record_files",
                            "verify_host_record", "validate_profile", "validate_and_check", "check_fail_on",
                            "should_fail", "ProfileInvalidError")
