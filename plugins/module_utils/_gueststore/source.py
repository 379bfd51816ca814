# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the local side of a GuestStore repository: the files of ``src`` and their hashes. Breaking changes
at any time.

Reads the local disk only (no network). Symbolic links that leave ``src`` are refused; links inside ``src`` are
followed only when asked (``follow_links``).
"""

from __future__ import annotations

import hashlib
import os
import stat as _stat
from typing import Any, Dict, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError

MAX_FILE_SIZE = 512 * 1024 * 1024   # bytes (512 MiB): larger files are refused before anything is uploaded
MANIFEST_NAME = ".fleetpatch-manifest.json"


def hash_file(path: str, chunk: int = 1024 * 1024) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            data = f.read(chunk)
            if not data:
                break
            digest.update(data)
    return digest.hexdigest()


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _walk_source(src: str, follow_links: bool) -> Tuple[list, list, list, list]:
    """``(entries, links_out, links_refused, special)`` of ``src``: ``entries`` are ``(rel, full, real)`` of
    regular files; links that leave ``src`` and (without ``follow_links``) every link are collected, never read."""
    root = os.path.realpath(src)
    entries, links_out, links_refused, special = [], [], [], []
    stack = [(src, frozenset([root]))]      # (folder, real paths of the folders above it and itself)
    while stack:
        folder, above = stack.pop()
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            raise InputError("cannot read %s: %s" % (folder, exc.strerror or exc), source=src)
        for name in names:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, src).replace(os.sep, "/")
            real = os.path.realpath(full)
            if os.path.islink(full):
                if not _inside(real, root):
                    links_out.append(rel)
                    continue
                if not follow_links:
                    links_refused.append(rel)
                    continue
            try:
                st = os.stat(full)
            except OSError as exc:
                raise InputError("cannot read %s: %s" % (full, exc.strerror or exc), source=src)
            if _stat.S_ISDIR(st.st_mode):
                if real not in above:              # a link back up the tree would never end: not descended
                    stack.append((full, above | {real}))
            elif _stat.S_ISREG(st.st_mode):
                entries.append((rel, full, real))
            else:
                special.append(rel)
    return sorted(entries), links_out, links_refused, special


def scan_source(src: str, max_size: int = MAX_FILE_SIZE, with_hashes: bool = True,
                follow_links: bool = False) -> Dict[str, Dict[str, Any]]:
    """The files under the local folder ``src``: ``{rel: {"local", "size", "sha256"}}`` (``rel`` with ``/``).

    Symbolic links: a link whose target is outside ``src`` is always refused (it would upload a file of the
    controller, such as ``/etc/hostname``); a link inside ``src`` is followed only with ``follow_links`` and is
    refused otherwise. ``local`` is the real path of the file. Refused with InputError, before anything is read:
    a missing folder, such links (every one is named), files over ``max_size`` bytes, special files, and a file
    named like the manifest. Hashes are computed only when every file passed these checks.
    """
    if not src:
        raise InputError("src must name a local folder")
    if not os.path.isdir(src):
        raise InputError("src %s is not a folder (or does not exist)" % src, source=src)
    entries, links_out, links_refused, special = _walk_source(src, follow_links)
    if links_out:
        raise InputError("src contains symbolic links to files or folders outside src; refused before any upload: "
                         "%s" % ", ".join(links_out), source=src, links=links_out)
    if links_refused:
        raise InputError("src contains symbolic links (%s); set follow_links: true to upload what they point to "
                         "inside src" % ", ".join(links_refused), source=src, links=links_refused)
    files: Dict[str, Dict[str, Any]] = {}
    too_big = []
    for rel, _full, real in entries:
        size = os.stat(real).st_size
        if size > max_size:
            too_big.append("%s (%d bytes)" % (rel, size))
            continue
        files[rel] = {"local": real, "size": size, "sha256": None}
    if too_big:
        raise InputError("GuestStore files must not be larger than %d bytes (512 MiB); refused before any upload: %s"
                         % (max_size, ", ".join(too_big)), source=src, too_large=[t.split(" (")[0] for t in too_big])
    if special:
        raise InputError("src contains entries that are neither files nor folders: %s" % ", ".join(special),
                         source=src)
    if MANIFEST_NAME in files:
        raise InputError("src must not contain %s at its top (the name is reserved for the manifest the module "
                         "keeps in the repository)" % MANIFEST_NAME, source=src)
    if with_hashes:
        for rel, rec in files.items():
            try:
                rec["sha256"] = hash_file(rec["local"])
            except OSError as exc:
                raise InputError("cannot read %s: %s" % (rec["local"], exc.strerror or exc), source=src)
    return files
