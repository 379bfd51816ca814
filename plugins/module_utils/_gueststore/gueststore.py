# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: GuestStore repositories on ESXi hosts, and their content. Breaking changes at any time.

GuestStore lets the VMs of a host read files from a repository folder on a datastore. The repository is a host
setting (``esxcli system settings gueststore repository get|set``, no vSphere API) holding a URL of the form
``ds:///vmfs/volumes/<datastore id>/<folder>``. A file ``<folder>/a/b.msi`` is read by a guest as ``/a/b.msi``.

Pure parts (no network, unit-tested): version requirements (``check_version``), URL building and parsing
(``repository_url``, ``parse_repository_url``, ``normalize_url``), the local content scan with the 512 MiB rule
(``scan_source``), the manifest (``load_manifest``, ``dump_manifest``) and the sync plan (``plan_sync``).

Orchestration (``manage``): one client session for every host, checks first (nothing is changed when a host fails
them), then the content sync once per datastore, then the URL on each host (only after its content is complete).
It works through the client layer (``clients/``) and imports no third-party library itself.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
from typing import Any, Callable, Dict, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._gueststore.source import MANIFEST_NAME, scan_source
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    FleetpatchError, HostNotConnectedError, InputError, NotFoundError, PrecheckError, VSphereError)

# ---- requirements ------------------------------------------------------------------------------
MIN_VERSION = (7, 0, 2)        # ESXi 7.0 Update 2: GuestStore, Windows guests with VMware Tools 11.2.5+
LINUX_VERSION = (7, 0, 3)      # ESXi 7.0 Update 3: also Linux guests with VMware Tools 11.3.0+
WINDOWS_TOOLS = "11.2.5"
LINUX_TOOLS = "11.3.0"

MANIFEST_FORMAT = 1
DEFAULT_PATH = "GuestStore"
URL_PREFIX = "ds:///vmfs/volumes/"

_VERSION_RE = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")
_DS_URL_RE = re.compile(r"^ds:///vmfs/volumes/([^/]+)/?$")
_REPO_URL_RE = re.compile(r"^ds:///vmfs/volumes/([^/]+)(?:/(.*))?$")


def parse_esxi_version(version):
    """``"7.0.3"`` -> ``(7, 0, 3)``: major, minor and update (the third field of ``summary.config.product.version``;
    ESXi 7.0 Update 2 reports ``7.0.2``). A missing third field counts as 0. None when ``version`` is unreadable."""
    m = _VERSION_RE.match(str(version or ""))
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def version_label(parts):
    """``(7, 0, 2)`` -> ``"7.0 Update 2"``; ``(6, 7, 0)`` -> ``"6.7"``."""
    if not parts:
        return "unknown"
    base = "%d.%d" % (parts[0], parts[1])
    return "%s Update %d" % (base, parts[2]) if parts[2] else base


def check_version(version, build=None):
    """What GuestStore supports on a host of this ESXi version.

    Returns ``{version, build, supported, linux_guests, error, warning}``: ``supported`` is False below ESXi 7.0
    Update 2 (``error`` says why); ``linux_guests`` is False below 7.0 Update 3 (``warning`` says what that means).
    """
    parts = parse_esxi_version(version)
    shown = "ESXi %s%s" % (version or "(unknown version)", " build %s" % build if build else "")
    if parts and parts[2]:
        shown += " (%s)" % version_label(parts)
    out = {"version": version, "build": build, "supported": False, "linux_guests": False, "error": None,
           "warning": None}
    if parts is None:
        out["error"] = ("cannot tell whether GuestStore is supported: the host reports no readable ESXi version "
                        "(summary.config.product.version %r)" % (version,))
        return out
    if parts < MIN_VERSION:
        out["error"] = "GuestStore needs ESXi %s or later; the host runs %s" % (version_label(MIN_VERSION), shown)
        return out
    out["supported"] = True
    if parts < LINUX_VERSION:
        out["warning"] = ("the host runs %s: GuestStore serves Windows guests only (VMware Tools %s or later); "
                          "Linux guests need ESXi %s or later and VMware Tools %s or later"
                          % (shown, WINDOWS_TOOLS, version_label(LINUX_VERSION), LINUX_TOOLS))
        return out
    out["linux_guests"] = True
    return out


# ---- URLs and paths ----------------------------------------------------------------------------
def clean_repo_path(path, what="path"):
    """A repository folder relative to the datastore root (``GuestStore/tools``): slashes normalized, ``.`` and
    empty parts dropped. InputError for ``..``, an empty result, or a ``[datastore]`` prefix."""
    text = str(path if path is not None else "").replace("\\", "/").strip()
    if text.startswith("["):
        raise InputError("%s %r must be a folder relative to the datastore root, without a [datastore] prefix"
                         % (what, path))
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InputError("%s %r must not contain '..'" % (what, path))
    if not parts:
        raise InputError("%s must name a folder on the datastore (the datastore root cannot be a GuestStore "
                         "repository: every guest could read every file of the datastore)" % what)
    return "/".join(parts)


def repository_url(datastore_url, path, datastore=None):
    """The GuestStore URL of folder ``path`` of a datastore whose ``summary.url`` is ``datastore_url``
    (``ds:///vmfs/volumes/<id>/``): ``ds:///vmfs/volumes/<id>/<path>``."""
    m = _DS_URL_RE.match(str(datastore_url or ""))
    if not m:
        raise InputError("datastore %s has the URL %r, not one of the form %s<id>/; GuestStore needs a datastore "
                         "the host mounts under /vmfs/volumes" % (datastore or "?", datastore_url, URL_PREFIX))
    return "%s%s/%s" % (URL_PREFIX, m.group(1), clean_repo_path(path))


def parse_repository_url(url):
    """``ds:///vmfs/volumes/<id>/<folder>`` -> ``{"volume": id, "path": folder}``; InputError for another form."""
    m = _REPO_URL_RE.match(str(url or "").strip())
    if not m:
        raise InputError("url %r is not a GuestStore repository URL: expected %s<datastore id>/<folder>"
                         % (url, URL_PREFIX))
    return {"volume": m.group(1), "path": clean_repo_path(m.group(2) or "", what="the folder of url %r" % url)}


def normalize_url(url):
    """The form used to compare repository URLs: surrounding blanks, repeated and trailing slashes of the path
    removed; ``""`` for no repository (None or blank)."""
    text = str(url or "").strip()
    if not text:
        return ""
    if text.startswith(URL_PREFIX):
        rest = "/".join(p for p in text[len(URL_PREFIX):].split("/") if p)
        return URL_PREFIX + rest
    return text.rstrip("/")


def reported_url(value):
    """The repository URL in what ``esxcli ... repository get`` reported: ``""`` when it reports none. What an
    unset repository looks like is UNVERIFIED (an empty field, or a sentence), so any value that is not a
    ``ds:`` URL counts as "no repository"."""
    text = str(value or "").strip()
    return text if text.lower().startswith("ds:") else ""


def guest_path(rel):
    """The resource path a guest uses for repository file ``rel`` (``a/b.msi`` -> ``/a/b.msi``)."""
    return "/" + rel.lstrip("/")


# ---- local content -----------------------------------------------------------------------------
# ---- manifest ----------------------------------------------------------------------------------
def load_manifest(data):
    """Parse a manifest (bytes or text). Returns ``(files, problem)``: ``files`` is ``{rel: {"size", "sha256"}}``
    (empty when there is no usable manifest), ``problem`` a sentence or None. Never raises."""
    if data is None:
        return {}, None
    try:
        doc = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (ValueError, UnicodeDecodeError) as exc:
        return {}, "the manifest is not valid JSON (%s); every file is uploaded again" % exc
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT or not isinstance(doc.get("files"), dict):
        return {}, "the manifest has an unknown layout; every file is uploaded again"
    out = {}
    for rel, rec in doc["files"].items():
        if isinstance(rel, str) and isinstance(rec, dict) and isinstance(rec.get("size"), int) \
                and isinstance(rec.get("sha256"), str) and re.match(r"^[0-9a-f]{64}$", rec["sha256"]):
            out[rel] = {"size": rec["size"], "sha256": rec["sha256"]}
    return out, None


def dump_manifest(files):
    """The manifest document for ``{rel: {"size", "sha256"}}`` as UTF-8 bytes (sorted, stable)."""
    doc = {"format": MANIFEST_FORMAT, "generator": "fleetpatch.esxi.gueststore_repo",
           "files": {rel: {"size": int(files[rel]["size"]), "sha256": files[rel]["sha256"]} for rel in sorted(files)}}
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _parents(rel):
    out = []
    d = posixpath.dirname(rel)
    while d:
        out.append(d)
        d = posixpath.dirname(d)
    return out


def plan_sync(local, manifest, remote_files, remote_dirs=(), delete_extra=False):
    """What a sync of ``local`` into a repository has to do.

    ``local``: ``{rel: {"size", "sha256"}}``; ``manifest``: the repository's manifest (same shape);
    ``remote_files``: ``{rel: size}`` found on the datastore (manifest excluded); ``remote_dirs``: folders found.
    A file is unchanged only when the manifest records its size and SHA-256 AND the datastore has a file of that
    size (the manifest alone is not trusted). Returns ``{upload, unchanged, delete, keep, manifest}``: ``delete``
    holds extra files and the topmost extra folders (only with ``delete_extra``), ``keep`` the extra files left in
    place, ``manifest`` the manifest after the sync. InputError when a local file and a datastore folder (or the
    other way round) have the same path and ``delete_extra`` is off.
    """
    remote_dirs = set(remote_dirs or ())
    local_dirs = set()
    for rel in local:
        local_dirs.update(_parents(rel))
    conflicts = sorted([r for r in local if r in remote_dirs] + [d for d in local_dirs if d in remote_files])
    if conflicts and not delete_extra:
        raise InputError("the repository has folders where src has files, or files where src has folders: %s "
                         "(set delete_extra to replace them)" % ", ".join(conflicts))
    upload, unchanged = [], []
    for rel in sorted(local):
        want = local[rel]
        rec = manifest.get(rel)
        if rec and rec["size"] == want["size"] and rec["sha256"] == want["sha256"] \
                and rel not in remote_dirs and remote_files.get(rel) == want["size"]:
            unchanged.append(rel)
        else:
            upload.append(rel)
    extra_files = sorted(r for r in remote_files if r not in local)
    extra_dirs = sorted(d for d in remote_dirs if d not in local_dirs)
    delete, keep = [], []
    if delete_extra:
        extra_dir_set = set(extra_dirs)
        top_dirs = [d for d in extra_dirs if not any(p in extra_dir_set for p in _parents(d))]
        delete = sorted(top_dirs + [f for f in extra_files if not any(p in extra_dir_set for p in _parents(f))])
    else:
        keep = extra_files
    new_manifest = {rel: {"size": local[rel]["size"], "sha256": local[rel]["sha256"]} for rel in local}
    for rel in keep:
        rec = manifest.get(rel)
        if rec and remote_files.get(rel) == rec["size"]:
            new_manifest[rel] = dict(rec)
    return {"upload": upload, "unchanged": unchanged, "delete": delete, "keep": keep, "manifest": new_manifest}


# ---- options -----------------------------------------------------------------------------------
def check_options(params: Dict[str, Any]) -> Dict[str, Any]:
    """Validate the module options beyond the argument spec; returns the normalized request
    ``{state, url, datastore, path, src, delete_extra, hosts, cluster, datacenter}``."""
    state = params.get("state") or "present"
    url, datastore, path, src = params.get("url"), params.get("datastore"), params.get("path"), params.get("src")
    delete_extra = bool(params.get("delete_extra"))
    if state == "absent":
        given = [n for n in ("url", "datastore", "path", "src") if params.get(n)]
        if given or delete_extra:
            raise InputError("state=absent clears the repository setting and takes no %s"
                             % ", ".join(given + (["delete_extra"] if delete_extra else [])))
    else:
        if bool(url) == bool(datastore):
            raise InputError("state=present needs either url or datastore (with path)")
        if url and (path or src):
            raise InputError("url cannot be combined with %s: name the datastore with datastore and path instead"
                             % " and ".join(n for n in ("path", "src") if params.get(n)))
        if delete_extra and not src:
            raise InputError("delete_extra needs src")
    out = {"state": state, "datastore": datastore, "src": src, "delete_extra": delete_extra,
           "follow_links": bool(params.get("follow_links")),
           "hosts": list(params.get("esxi_hostname") or []), "cluster": params.get("cluster_name"),
           "datacenter": params.get("datacenter"), "url": None, "path": None}
    if url:
        parse_repository_url(url)
        out["url"] = normalize_url(url)
    if datastore:
        out["path"] = clean_repo_path(path if path else DEFAULT_PATH)
    return out


# ---- orchestration -----------------------------------------------------------------------------
def connect(params):
    """The default client: one ``VSphereClient`` session from the connection options."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
    return VSphereClient.from_params(params)


def datastore_files(client):
    """The default datastore file client (HTTPS ``/folder`` on the client's session)."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.datastore import DatastoreFiles
    return DatastoreFiles(client)


def manage(params: Dict[str, Any], check_mode: bool = False, partial: Optional[Dict[str, Any]] = None,
           diff: bool = False, warn: Optional[Callable[[str], None]] = None, client_factory: Optional[Callable] = None,
           files_factory: Optional[Callable] = None) -> Dict[str, Any]:
    """Bring the GuestStore repository of the selected hosts to the requested state; returns the module result.

    ``params`` are the module options; ``partial`` (a dict) is kept up to date with ``changed``, ``hosts`` and
    ``repositories`` so a failure reports what was done; ``warn(msg)`` receives warnings. Raises a
    ``FleetpatchError`` when anything fails (after the other hosts were handled, see ``_Job``).
    """
    req = check_options(params)
    local = scan_source(req["src"], follow_links=req["follow_links"]) if req["src"] else None   # before connecting
    client = (client_factory or connect)(params)
    try:
        job = _Job(client, req, local, check_mode, partial if partial is not None else {}, diff, warn,
                   files_factory or datastore_files)
        try:
            return job.run()
        finally:
            job.close()
    finally:
        client.close()


class _Job(object):
    """One run: checks, content, URLs. See ``manage``."""

    def __init__(self, client, req, local, check_mode, partial, diff, warn, files_factory):
        self.client = client
        self.req = req
        self.local = local
        self.check_mode = check_mode
        self.partial = partial
        self.diff = diff
        self.warn = warn or (lambda msg: None)
        self.files_factory = files_factory
        self._files = None
        self.hosts = []          # [(Host, record)]
        self.repos = []          # repository records (one per datastore)
        self.warnings = []

    # ---- helpers -----------------------------------------------------------------------------
    @property
    def files(self):
        if self._files is None:
            self._files = self.files_factory(self.client)
        return self._files

    def close(self):
        if self._files is not None:
            try:
                self._files.close()
            except Exception:  # pylint: disable=broad-except
                pass

    def _warn(self, msg):
        self.warnings.append(msg)
        self.warn(msg)

    @staticmethod
    def _public(rec):
        return {k: v for k, v in rec.items() if not k.startswith("_")}

    def _publish(self):
        self.partial["hosts"] = [self._public(rec) for _h, rec in self.hosts]
        self.partial["repositories"] = [self._public(r) for r in self.repos]
        self.partial["changed"] = self._changed()

    def _changed(self):
        return any(rec.get("changed") for _h, rec in self.hosts) or any(r.get("changed") for r in self.repos)

    @staticmethod
    def _fail_record(rec, err):
        rec["failed"] = True
        rec["msg"] = err.msg if isinstance(err, FleetpatchError) else str(err)
        rec["error_kind"] = err.kind if isinstance(err, FleetpatchError) else "error"

    def _raise(self, failed, phase):
        """One error for the failed hosts (``failed``: [(name, error)]), with every host's record."""
        self._publish()
        kinds = {type(e) for _n, e in failed}
        cls = kinds.pop() if len(kinds) == 1 else (PrecheckError if phase == "check" else VSphereError)
        total = len(self.hosts)
        parts = "; ".join("%s: %s" % (n, e.msg if isinstance(e, FleetpatchError) else e) for n, e in failed)
        if phase == "check":
            msg = ("GuestStore repository not changed on any host: %d of %d host(s) failed the checks: %s"
                   % (len(failed), total, parts))
        else:
            msg = "setting the GuestStore repository failed on %d of %d host(s): %s" % (len(failed), total, parts)
        err = cls(msg, failed_hosts=[n for n, _e in failed])
        raise err

    # ---- the run -------------------------------------------------------------------------------
    def run(self):
        req = self.req
        targets = self.client.find_targets(req["hosts"], req["cluster"], req["datacenter"])
        self.hosts = [(h, {"name": h.name}) for h in targets]
        self._publish()

        failed = []
        for host, rec in self.hosts:
            try:
                self._check_host(host, rec)
            except FleetpatchError as err:
                self._fail_record(rec, err)
                failed.append((host.name, err))
        if failed:
            self._raise(failed, "check")

        if req["state"] == "present" and req["datastore"]:
            self._content()

        failed = []
        for host, rec in self.hosts:
            if rec.get("_skip"):
                continue
            try:
                self._apply_host(host, rec)
            except FleetpatchError as err:
                self._fail_record(rec, err)
                failed.append((host.name, err))
            self._publish()
        if failed:
            self._raise(failed, "apply")
        return self._result()

    def _check_host(self, host, rec):
        """Read-only: version, connection, datastore, current URL. Fills ``rec``; raises on a failed check."""
        req = self.req
        facts = self.client.host_facts(host)
        ver = check_version(facts.get("version"), facts.get("build"))
        rec.update({"version": facts.get("version"), "build": facts.get("build"),
                    "supported": ver["supported"], "linux_guests": ver["linux_guests"],
                    "url_before": None, "url_after": None, "changed": False})
        if facts.get("connection_state") not in (None, "connected"):
            raise HostNotConnectedError("the host is %s" % facts.get("connection_state"), host=host.name,
                                        connection_state=facts.get("connection_state"))
        if not ver["supported"]:
            if req["state"] == "absent" and parse_esxi_version(facts.get("version")) is not None:
                rec["_skip"] = True
                rec["msg"] = "no GuestStore on this ESXi version (%s); nothing to clear" % version_label(
                    parse_esxi_version(facts.get("version")))
                return
            raise PrecheckError(ver["error"], host=host.name, version=facts.get("version"),
                                build=facts.get("build"))
        if ver["warning"] and req["state"] == "present":
            rec["warnings"] = [ver["warning"]]
            self._warn("%s: %s" % (host.name, ver["warning"]))
        if req["state"] == "absent":
            rec["_want"] = ""
        elif req["datastore"]:
            ds = self.client.find_datastore(req["datastore"], host=host)
            if not ds.get("accessible", True):
                raise PrecheckError("datastore %s is not accessible from this host" % ds["name"], host=host.name)
            rec["datastore"] = ds["name"]
            rec["_ds"] = ds
            rec["_want"] = repository_url(ds.get("url"), req["path"], datastore=ds["name"])
        else:
            rec["_want"] = req["url"]
        raw = self.client.esxcli.gueststore_get(host)
        rec["url_before"] = reported_url(raw)
        if (raw or "") != rec["url_before"]:
            rec["url_reported"] = raw

    # ---- content -------------------------------------------------------------------------------
    def _groups(self):
        """Hosts by datastore (moid): one repository per datastore, shared ones once."""
        groups = {}
        for host, rec in self.hosts:
            ds = rec.get("_ds")
            if ds is None:
                continue
            key = ds.get("moid") or ds.get("url")
            groups.setdefault(key, {"ds": ds, "hosts": []})["hosts"].append((host, rec))
        return list(groups.values())

    def _content(self):
        for group in self._groups():
            ds, members = group["ds"], group["hosts"]
            first = members[0][0]
            repo = {"datastore": ds["name"], "datastore_url": ds.get("url"), "path": self.req["path"],
                    "url": members[0][1]["_want"], "hosts": [h.name for h, _r in members], "changed": False}
            self.repos.append(repo)
            self._publish()
            try:
                if self.local is None:
                    self._check_folder(ds, first, repo)
                else:
                    self._sync(ds, first, repo)
            except FleetpatchError as err:
                repo["failed"] = True
                repo["msg"] = err.msg
                for _h, rec in members:
                    rec["msg"] = "repository URL not changed: the content sync of [%s] %s failed" % (
                        ds["name"], self.req["path"])
                self._publish()
                raise type(err)("content sync to [%s] %s failed, no host was changed: %s"
                                % (ds["name"], self.req["path"], err.msg), host=err.host, source=err.source,
                                **{k: v for k, v in err.details.items() if k != "partial"})
            self._publish()

    def _check_folder(self, ds, host, repo):
        """Without src: the content is left alone; warn when the repository folder does not exist."""
        try:
            self.files.listdir(ds["name"], self.req["path"], host=host)
            repo["exists"] = True
        except NotFoundError:
            repo["exists"] = False
            self._warn("the repository folder [%s] %s does not exist (yet): guests will find no content there"
                       % (ds["name"], self.req["path"]))

    def _remote_tree(self, ds, host):
        """``({rel: size}, {folders})`` under the repository folder, or None when the folder does not exist."""
        files, dirs = {}, set()
        stack = [""]
        base = self.req["path"]
        while stack:
            rel = stack.pop()
            try:
                entries = self.files.listdir(ds["name"], posixpath.join(base, rel) if rel else base, host=host)
            except NotFoundError:
                if not rel:
                    return None
                continue
            for e in entries:
                r = posixpath.join(rel, e["name"]) if rel else e["name"]
                if e.get("folder"):
                    dirs.add(r)
                    stack.append(r)
                else:
                    files[r] = e.get("size")
        return files, dirs

    def _read_manifest(self, ds, host):
        try:
            data = self.files.read(ds["name"], posixpath.join(self.req["path"], MANIFEST_NAME), host=host,
                                   max_bytes=64 * 1024 * 1024)
        except NotFoundError:
            return {}, None
        return load_manifest(data)

    def _write_manifest(self, ds, host, files):
        self.files.upload(ds["name"], posixpath.join(self.req["path"], MANIFEST_NAME), io.BytesIO(
            dump_manifest(files)), host=host, make_parents=False)
        return True

    def _sync(self, ds, host, repo):
        base = self.req["path"]
        tree = self._remote_tree(ds, host)
        remote_files, remote_dirs = tree if tree is not None else ({}, set())
        manifest_size = remote_files.pop(MANIFEST_NAME, None)
        manifest, problem = self._read_manifest(ds, host) if manifest_size is not None else ({}, None)
        if problem:
            self._warn("[%s] %s: %s" % (ds["name"], base, problem))
            repo["manifest_problem"] = problem
        plan = plan_sync(self.local, manifest, remote_files, remote_dirs, self.req["delete_extra"])
        repo.update({"manifest": "[%s] %s" % (ds["name"], posixpath.join(base, MANIFEST_NAME)),
                     "uploaded": plan["upload"], "deleted": plan["delete"], "unchanged": plan["unchanged"],
                     "kept": plan["keep"], "files": [
                         {"path": rel, "guest_path": guest_path(rel),
                          "datastore_path": "[%s] %s/%s" % (ds["name"], base, rel),
                          "size": self.local[rel]["size"], "sha256": self.local[rel]["sha256"],
                          "status": "uploaded" if rel in plan["upload"] else "unchanged"}
                         for rel in sorted(self.local)]})
        manifest_changed = dump_manifest(plan["manifest"]) != dump_manifest(manifest) or manifest_size is None
        repo["changed"] = bool(plan["upload"] or plan["delete"] or manifest_changed)
        if self.diff:
            before = {rel: {"size": size, "sha256": (manifest.get(rel) or {}).get("sha256")}
                      for rel, size in remote_files.items()}
            after = {rel: dict(rec) for rel, rec in plan["manifest"].items()}
            for rel in plan["keep"]:
                after.setdefault(rel, {"size": remote_files[rel], "sha256": None})
            repo["_diff"] = (before, after)
        if self.check_mode or not repo["changed"]:
            return
        repo["changed"] = False          # from here on: what was actually done

        def done(result=True):
            repo["changed"] = repo["changed"] or bool(result)

        # files about to be replaced lose their manifest entries first: an interrupted upload is never trusted
        replaced = [rel for rel in plan["upload"] if rel in manifest]
        if replaced:
            done(self._write_manifest(ds, host, {r: v for r, v in manifest.items() if r not in replaced}))
        # entries in the way of an upload (a folder where a file goes, or a file where a folder goes) go first
        local_dirs = set()
        for rel in self.local:
            local_dirs.update(_parents(rel))
        first = [rel for rel in plan["delete"] if rel in self.local or rel in local_dirs]
        for rel in first:
            done(self.files.delete(ds["name"], posixpath.join(base, rel), host=host))
        made = set(remote_dirs) - set(first)
        done(self.files.mkdir(ds["name"], base, host=host))
        for rel in plan["upload"]:
            parent = posixpath.dirname(rel)
            if parent and parent not in made:
                done(self.files.mkdir(ds["name"], posixpath.join(base, parent), host=host))
                made.update([parent] + _parents(parent))
            info = self.files.upload(ds["name"], posixpath.join(base, rel), self.local[rel]["local"], host=host,
                                     make_parents=False)
            done()
            if info.get("sha256") and info["sha256"] != self.local[rel]["sha256"]:
                raise InputError("%s changed while it was uploaded; run the task again" % self.local[rel]["local"],
                                 source=self.req["src"])
        for rel in plan["delete"]:
            if rel not in first:
                done(self.files.delete(ds["name"], posixpath.join(base, rel), host=host))
        done(self._write_manifest(ds, host, plan["manifest"]))

    # ---- URLs ------------------------------------------------------------------------------------
    def _apply_host(self, host, rec):
        want = rec.get("_want", "")
        before = rec.get("url_before") or ""
        if normalize_url(before) == normalize_url(want):
            rec["url_after"] = before
            return
        if self.check_mode:
            rec["changed"] = True
            rec["url_after"] = want
            return
        esx = self.client.esxcli
        raw = esx.gueststore_set(host, want) if want else esx.gueststore_clear(host)
        rec["changed"] = True
        after = reported_url(raw)
        rec["url_after"] = after
        if normalize_url(after) != normalize_url(want):
            raise VSphereError("the host reports the repository URL %r after setting %r" % (raw, want),
                               host=host.name)

    # ---- result ----------------------------------------------------------------------------------
    def _result(self):
        out = {"changed": self._changed(), "hosts": [self._public(rec) for _h, rec in self.hosts],
               "repositories": [self._public(r) for r in self.repos]}
        if self.diff:
            before = {"hosts": {rec["name"]: rec.get("url_before") or "" for _h, rec in self.hosts}}
            after = {"hosts": {rec["name"]: rec.get("url_after") or "" for _h, rec in self.hosts}}
            for r in self.repos:
                if "_diff" in r:
                    label = "[%s] %s" % (r["datastore"], r["path"])
                    before.setdefault("content", {})[label] = r["_diff"][0]
                    after.setdefault("content", {})[label] = r["_diff"][1]
            out["diff"] = {"before": before, "after": after}
        return out
