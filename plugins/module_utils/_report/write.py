# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: writing the compliance report files and the ``compliance_report`` module's entry point. Breaking
changes at any time.

Shared report files are written atomically (temporary file + rename: a reader never sees half a file) under an
exclusive lock (``<dest>/.<basename>.lock``), so concurrent writers (N AWX job slices writing the same report)
never interleave; with ``record_dir`` each writer builds the report from the per-host records of every slice,
so the last writer's report holds every host recorded so far.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.fileutil import write_atomic
from ansible_collections.fleetpatch.esxi.plugins.module_utils._report.model import (
    EXTENSIONS, FORMATS, build_report, result_view, utc_now)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._report.render import RENDERERS
from ansible_collections.fleetpatch.esxi.plugins.module_utils._report.vlcm import cluster_views

# ---- files -----------------------------------------------------------------------------------------------
_DIGEST_RES = {
    "junit": re.compile(r'<property name="fleetpatch\.digest" value="([0-9a-f]{64})"'),
    "html": re.compile(r'<meta name="fleetpatch-report-digest" content="([0-9a-f]{64})"'),
}
_MAX_RECORD_BYTES = 64 * 1024 * 1024


def existing_digest(path: str, fmt: str) -> Optional[str]:
    """The digest recorded in an existing report file (None if absent or unreadable)."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read(4 * 1024 * 1024 if fmt == "json" else 64 * 1024)
    except (OSError, UnicodeDecodeError):
        return None
    if fmt == "json":
        try:
            digest = json.loads(text).get("digest")
        except (ValueError, AttributeError):
            return None
        return digest if isinstance(digest, str) else None
    m = _DIGEST_RES[fmt].search(text)
    return m.group(1) if m else None


def report_paths(dest: str, basename: str = "compliance", formats: Iterable[str] = FORMATS) -> Dict[str, str]:
    if not basename or "/" in basename or basename in (".", ".."):
        raise InputError("basename: %r is not a plain file name" % (basename,))
    return {f: os.path.join(dest, basename + EXTENSIONS[f]) for f in formats}


@contextlib.contextmanager
def report_lock(dest: str, basename: str) -> Iterator[None]:
    """An exclusive lock on ``<dest>/.<basename>.lock`` (created 0600): one writer of a report at a time, across
    processes (concurrent job slices on one controller or on a shared folder that supports ``flock``)."""
    path = os.path.join(dest, ".%s.lock" % basename)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)        # closing releases the lock


def write_reports(report: Dict[str, Any], dest: str, formats: Optional[Iterable[str]] = FORMATS,
                  basename: str = "compliance", mode: int = 0o644, check_mode: bool = False,
                  lock: bool = True) -> Tuple[Dict[str, str], Dict[str, Optional[str]]]:
    """Write the report files whose recorded digest differs from ``report['digest']``.

    Returns ``(paths, before)``: every path by format, and for each format (re)written (or that would be, in
    check mode) the digest the file had before (None when it did not exist). Each file is replaced atomically
    under ``report_lock`` (``lock=False``: the caller holds it). Raises ``InputError`` when ``dest`` cannot be
    created or written.
    """
    wanted = set(formats or FORMATS)
    fmts = [f for f in FORMATS if f in wanted]
    paths = report_paths(dest, basename, fmts)
    before = _stale(report, paths)
    if check_mode or not before:
        return paths, before
    try:
        os.makedirs(dest, exist_ok=True)
        with report_lock(dest, basename) if lock else contextlib.nullcontext():
            before = _stale(report, paths)
            for f in fmts:
                if f in before:
                    write_atomic(paths[f], RENDERERS[f](report), mode=mode)
    except OSError as e:
        raise InputError("cannot write the report: %s" % (e.strerror or e), source=dest)
    return paths, before


def _stale(report: Dict[str, Any], paths: Dict[str, str]) -> Dict[str, Optional[str]]:
    before = {}
    for f, path in paths.items():
        old = existing_digest(path, f)
        if old != report["digest"]:
            before[f] = old
    return before


# ---- per-host records (one report from every slice) --------------------------------------------------------
def read_records(record_dir: str) -> List[Dict[str, Any]]:
    """Every per-host scan record (``<host>.json``, as ``esxi_patch_scan`` writes with ``scan_record_dir``) in
    ``record_dir``, sorted by file name. A folder without records, or a damaged record, is an input error naming
    the folder or the file."""
    folder = os.path.abspath(os.path.expanduser(record_dir))
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))
    except OSError as e:
        raise InputError("record_dir: cannot read the folder of scan records: %s" % (e.strerror or e), source=folder)
    records = []
    for name in names:
        path = os.path.join(folder, name)
        try:
            if os.path.getsize(path) > _MAX_RECORD_BYTES:
                raise InputError("scan record larger than %d bytes" % _MAX_RECORD_BYTES, source=path)
            with open(path, "r", encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            raise InputError("cannot read the scan record (%s); run esxi_patch_scan again" % e, source=path)
        if not isinstance(data, dict) or "record_version" not in data:
            raise InputError("not a scan record (no record_version); record_dir must hold only the records "
                             "esxi_patch_scan writes", source=path)
        records.append(data)
    if not records:
        raise InputError("record_dir: no scan records (*.json) in the folder; did esxi_patch_scan run with "
                         "scan_record_dir set to it?", source=folder)
    return records


# ---- cluster image records (image-managed clusters, one report from every slice) ----------------------------
CLUSTER_RECORDS = ".clusters"
CLUSTER_RECORD_KIND = "fleetpatch.esxi.cluster_image"


def _cluster_record_path(record_dir: str, cluster: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", cluster)[:64].strip(".") or "cluster"
    digest = hashlib.sha256(cluster.encode("utf-8")).hexdigest()[:12]
    return os.path.join(os.path.abspath(os.path.expanduser(record_dir)), CLUSTER_RECORDS,
                        "%s-%s.json" % (slug, digest))


def write_cluster_records(record_dir: str, cluster_images: Any, now: str) -> List[str]:
    """Keep each successful ``esxi_cluster_image_info`` result of ``cluster_images`` as the record of its cluster
    (``<record_dir>/.clusters/<cluster>-<hash>.json``, written to a temporary file and renamed: a reader never
    sees half a record; concurrent writers of one cluster each write a whole record and the last rename wins). A
    record whose content is unchanged is left alone. Returns the paths written."""
    written = []
    for view in cluster_views(cluster_images).values():
        if view["error"]:
            continue            # a failed read replaces no good record: the report shows the failure anyway
        data = {"kind": CLUSTER_RECORD_KIND, "record_version": 1, "cluster": view["cluster"],
                "image": view["image"], "compliance": {
                    "status": view["status"], "impact": view["impact"], "commit": view["commit"],
                    "hosts": [view["hosts"][n] for n in sorted(view["hosts"])]}}
        path = _cluster_record_path(record_dir, view["cluster"])
        old = _read_json(path)
        if isinstance(old, dict) and dict(old, recorded_at=None) == dict(data, recorded_at=None):
            continue
        data["recorded_at"] = now
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_atomic(path, json.dumps(data, sort_keys=True) + "\n", mode=0o600)
        except OSError as e:
            raise InputError("cannot write the cluster image record: %s" % (e.strerror or e), source=path)
        written.append(path)
    return written


def _read_json(path: str) -> Any:
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise InputError("cannot read the cluster image record (%s); run esxi_cluster_image_info again" % e,
                         source=path)


def read_cluster_records(record_dir: str) -> List[Dict[str, Any]]:
    """Every cluster image record of ``record_dir`` (none: an empty list)."""
    folder = os.path.join(os.path.abspath(os.path.expanduser(record_dir)), CLUSTER_RECORDS)
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))
    except FileNotFoundError:
        return []
    except OSError as e:
        raise InputError("cannot read the cluster image records: %s" % (e.strerror or e), source=folder)
    out = []
    for name in names:
        data = _read_json(os.path.join(folder, name))
        if not isinstance(data, dict) or data.get("kind") != CLUSTER_RECORD_KIND:
            raise InputError("not a cluster image record", source=os.path.join(folder, name))
        out.append(data)
    return out


def _build(params: Dict[str, Any], now: Optional[str] = None, check_mode: bool = True) -> Dict[str, Any]:
    results = params.get("results")
    images = params.get("cluster_images")
    if params.get("record_dir"):
        if images and not check_mode:
            write_cluster_records(params["record_dir"], images, now or utc_now())
        records = read_records(params["record_dir"])
        results = records if results in (None, "", [], {}) else [results, records]
        kept = read_cluster_records(params["record_dir"])
        images = kept if not images else [kept, images]       # the results given win over the records
    return build_report(results, title=params.get("title"), minimum_build=params.get("minimum_build"),
                        required_bulletins=params.get("required_bulletins"), clusters=params.get("clusters"),
                        expected_hosts=params.get("expected_hosts") or None, cluster_images=images)


def compliance_report(params: Dict[str, Any], check_mode: bool = False, diff: bool = False) -> Dict[str, Any]:
    """The ``compliance_report`` module's result for its ``params``.

    The report covers ``results`` and, with ``record_dir``, every per-host record of the folder (the records of
    every job slice); a host in both is reported from its newest scan."""
    mode = params.get("mode")
    try:
        mode_int = int(str(mode), 8) if mode not in (None, "") else 0o644
    except ValueError:
        raise InputError("mode: %r is not an octal file mode such as '0644'" % (mode,))
    basename = params.get("basename") or "compliance"
    report_paths(params["dest"], basename)
    if check_mode:
        report = _build(params)
        paths, before = write_reports(report, params["dest"], params.get("formats"), basename, mode_int, True)
    else:
        try:
            os.makedirs(params["dest"], exist_ok=True)
            lock = report_lock(params["dest"], basename)
            lock.__enter__()
        except OSError as e:
            raise InputError("cannot write the report: %s" % (e.strerror or e), source=params["dest"])
        try:
            # read the records and write under one lock: the last writer's report holds every record so far
            report = _build(params, check_mode=False)
            paths, before = write_reports(report, params["dest"], params.get("formats"), basename, mode_int,
                                          False, lock=False)
        finally:
            lock.__exit__(None, None, None)
    written = [f for f in FORMATS if f in before]
    out = result_view(report)
    out.update(changed=bool(written), paths=paths, written=written, generated_at=report["generated_at"])
    if diff:
        out["diff"] = {"before": {"digest": {f: before[f] for f in written}},
                       "after": {"digest": {f: report["digest"] for f in written}}}
    return out
