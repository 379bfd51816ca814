# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: scan records on disk (``scan_record_dir``). Breaking changes at any time.

One JSON file per host, ``<dir>/<key>.json``, written atomically (temporary file + rename) with mode 0600 in a
folder created with mode 0700. ``esxi_patch_scan`` writes it; ``esxi_patch_deploy`` reads it to make sure it
deploys against the metadata the scan used (``depot_digest``) and the host as it was then (``inventory_digest``).

The record is the host's scan result (the same dict the scan module returns per host, JSON-safe, no secrets)
plus ``record_version``.
"""

from __future__ import annotations

import json
import os
import hashlib
import re

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.fileutil import write_atomic
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError

RECORD_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def host_key(name, endpoint=None, via_vcenter=True):
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


def record_path(directory, key):
    return os.path.join(os.path.abspath(os.path.expanduser(directory)), "%s.json" % key)


def write(directory, key, data):
    """Write ``data`` (JSON-safe dict) as the record of ``key``; returns the file path."""
    path = record_path(directory, key)
    folder = os.path.dirname(path)
    try:
        if not os.path.isdir(folder):
            os.makedirs(folder, mode=0o700)
        payload = dict(data)
        payload["record_version"] = RECORD_VERSION
        write_atomic(path, json.dumps(payload, indent=1, sort_keys=True) + "\n", mode=0o600)
    except OSError as e:
        raise InputError("cannot write the scan record: %s" % (e.strerror or e), source=path)
    return path


def read(directory, key):
    """The record of ``key`` as a dict, or None when there is none. A damaged file raises ``InputError``."""
    path = record_path(directory, key)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError) as e:
        raise InputError("cannot read the scan record (%s); run esxi_patch_scan again" % e, source=path)
    if not isinstance(data, dict) or data.get("record_version") != RECORD_VERSION:
        raise InputError("not a scan record of this version; run esxi_patch_scan again", source=path)
    return data
