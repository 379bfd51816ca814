# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VSphereClient: ImageConfigManager (acceptance level, image profile, software packages) and esxcli. Breaking changes at any time."""

from __future__ import annotations

import concurrent.futures
import re
import threading

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.base import ClientBase
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import (
    vim)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import VSphereError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import fastsoap as _fast
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import soapmux as _mux
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.convert import (
    _API_ACCEPTANCE, api_acceptance_name, iso, normalize_api_acceptance, package_record_dict, package_record_to_vib)
from typing import Optional, TYPE_CHECKING, Any, Dict, List, Tuple

if TYPE_CHECKING:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host import Host
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Vib


# Concurrent SOAP calls of one scan (esxi_patch_scan's scan_workers). vCenter serves up to 640 concurrent SOAP
# requests (2,000 sessions): VMware performance blog "Endpoint Limits for Concurrent REST Requests from vCenter
# APIs" (2022-07, still valid for 8.0 U3 and later); 64 is a tenth of that, so four AWX slices of one fleet stay
# at 256 with room for vSphere Client, backup and other API users. Each worker reads one host at a time, and real
# vCenter forwards a host's ImageConfigManager calls to that host. With 50 ms per call the pool of 64 needs about
# 3.1 s for 1,000 hosts x 4 calls (12.5 s with 16). MAX keeps a typo from flooding vCenter.
DEFAULT_SCAN_WORKERS = 64
MAX_SCAN_WORKERS = 256


_SMALL = (("QueryHostImageProfile", _fast.read_profile), ("InstallDate", _fast.read_date),
          ("QueryHostAcceptanceLevel", _fast.read_string))


_READERS = dict(_SMALL)
_PLAIN_MOID = re.compile(r"^[A-Za-z0-9._:-]+$")
_SENTINEL = "fleetpatchMoidSentinel-0"


def _serialize(stub: Any, icm: Any, method: str) -> bytes:
    """The request body of ``method`` (no arguments) on ``icm`` as pyVmomi sends it (with the stub's modifiers)."""
    body = stub.SerializeRequest(icm, icm._GetMethodInfo(method), [])
    for modifier in getattr(stub, "requestModifierList", ()):
        body = modifier(body)
    return body.encode("utf-8") if isinstance(body, str) else body


def _template(stub: Any, method: str) -> Optional[Tuple[bytes, bytes]]:
    """``(before, after)`` the moid in the body of ``method`` serialised once by pyVmomi, so that the body of
    every other ImageConfigManager is ``before + moid + after``; None (serialise each) when the moid does not
    appear exactly once as the text of ``_this`` (a stub that rewrites requests)."""
    body = _serialize(stub, vim.host.ImageConfigManager(_SENTINEL, stub), method)
    mark = _SENTINEL.encode("ascii")
    if body.count(mark) != 1 or b">" + mark + b"</_this>" not in body:
        return None
    before, after = body.split(mark)
    return before, after


class _MuxScan(object):
    """The hosts of one ``_iter_mux``: their jobs on the mux, their three small answers, the wait for their facts,
    and their records (``slots``, ``done``)."""

    def __init__(self, client, hosts, facts, connections, reuse, answers, more_facts, icms):
        self.stub = client._stub
        self.hosts, self.facts, self.reuse, self.answers = hosts, facts, reuse, answers
        self.icms = icms or {}
        self.mux = _mux.Mux(self.stub, connections, float(getattr(client, "timeout", None) or 60))
        self.lock = self.mux.lock
        self.slots: List[Any] = [None] * len(hosts)
        self.done = [threading.Event() for _h in hosts]
        self.jobs: Dict[int, Tuple[int, str]] = {}
        self.small: List[Dict[str, Any]] = [{} for _h in hosts]
        self.facts_read = more_facts is None      # whether ``facts`` holds all it will
        self.parked: List[int] = []               # hosts answered before their facts were read
        self.templates: Dict[str, Optional[Tuple[bytes, bytes]]] = {}
        self.readings: Dict[Tuple[str, bytes], Any] = {}    # read-only values (the profile dict is never changed)

    def icm_of(self, i):
        moid = self.hosts[i].moid
        return (self.facts.get(moid) or {}).get("image_config_manager") or self.icms.get(moid)

    def request(self, i, method, first=False):
        moid, stub = self.icm_of(i), self.stub
        tpl = self.templates.get(method) if method in self.templates else \
            self.templates.setdefault(method, _template(stub, method))
        if tpl is not None and _PLAIN_MOID.match(moid):
            body = tpl[0] + moid.encode("ascii") + tpl[1]   # the bytes pyVmomi would serialise, without its cost
        else:
            body = _serialize(stub, vim.host.ImageConfigManager(moid, stub), method)
        with self.lock:      # the job is known before the mux thread can answer it
            self.jobs[self.mux.add(body, first=first)] = (i, method)

    def request_small(self, i):
        for method, _read in _SMALL:
            self.request(i, method)

    def finish(self, i, rec):
        self.slots[i] = rec
        self.done[i].set()

    def decide(self, i):
        """Host ``i``'s three answers and its facts are in: its kept inventory, or ``FetchSoftwarePackages``."""
        if self.done[i].is_set():
            return
        small = self.small[i]
        try:
            host_facts = self.facts.get(self.hosts[i].moid)
            if host_facts is None:
                self.finish(i, None)
                return
            prof, installed = small["QueryHostImageProfile"], small["InstallDate"]
            fingerprint = [prof["name"], host_facts.get("boot_time"), installed]
            rec = {"acceptance_level": normalize_api_acceptance(small["QueryHostAcceptanceLevel"]),
                   "image_profile": prof["name"], "image_profile_vendor": prof["vendor"], "install_date": installed,
                   "fingerprint": fingerprint}
            packages = self.reuse(self.hosts[i], fingerprint) if self.reuse is not None else None
            if packages is not None:
                self.finish(i, dict(rec, packages=packages, reused=True))
            else:
                small["rec"] = rec
                self.request(i, "FetchSoftwarePackages", first=True)   # this host completes next: the scan goes on
        except Exception:  # anything unusual: the ordinary path asks this host again and reports it exactly
            self.finish(i, None)

    def facts_in(self, got):
        """The facts read (``more_facts``): into ``facts``, then the hosts that waited for them go on."""
        with self.lock:      # no host parks after this
            self.facts.update(got)
            self.facts_read = True
            ready, self.parked = self.parked, []
        for i in ready:
            self.decide(i)

    def answered(self, job, status, body, error):
        with self.lock:
            i, method = self.jobs.pop(job)
        if self.done[i].is_set():
            return
        try:
            if error is not None or status != 200:
                raise _fast.Unreadable("no plain answer")
            if method == "FetchSoftwarePackages":
                key = _fast.digest(body)
                recs = self.answers.get(key)
                if recs is None:
                    recs = self.answers[key] = _fast.read_packages(body)
                self.finish(i, dict(self.small[i]["rec"], packages=recs, reused=False))
                return
            memo = (method, body)       # hosts of one image answer with the same bytes: one reading each
            value = self.readings[memo] if memo in self.readings else \
                self.readings.setdefault(memo, _READERS[method](body))
            self.small[i][method] = value
            if len(self.small[i]) < 3:
                return
        except Exception:  # anything unusual: the ordinary path asks this host again and reports it exactly
            self.finish(i, None)
            return
        with self.lock:
            wait = not self.facts_read
            if wait:
                self.parked.append(i)
        if not wait:
            self.decide(i)

    def add_later(self, more_facts, later):
        """The facts of the hosts (``more_facts()``), then the calls of the hosts ``later`` (whose
        ImageConfigManager only the facts name); a host whose facts are still missing is asked the ordinary
        way (``finish(i, None)``), which reports it."""
        if more_facts is not None:
            got = {}
            try:
                got = more_facts() or {}
            except Exception:  # pylint: disable=broad-except  # those hosts are asked the ordinary way
                pass
            self.facts_in(got)
        for i in later:
            if more_facts is not None and self.icm_of(i):
                self.request_small(i)
            else:
                self.finish(i, None)

    def loop(self):
        try:
            self.mux.run(self.answered)
        except Exception:  # every host left is asked the ordinary way (``_iter_mux``)
            pass
        finally:
            for i in range(len(self.hosts)):
                if not self.done[i].is_set():
                    self.finish(i, None)


def _iter_mux(client, hosts, facts, connections, reuse, answers, ordinary, more_facts=None, icms=None):
    """``iter_inventories`` over ``soapmux.Mux`` (one thread, ``connections`` connections): every host's three small
    calls, then ``FetchSoftwarePackages`` for the hosts whose fingerprint has no kept inventory. Yields ``(moid,
    record)`` in host order. A host whose calls did not all answer plainly there (a fault, a lost connection, an
    unusual answer) is asked the ordinary way, ``ordinary(host)`` (pyVmomi, which reports it exactly), on a pool of
    ``connections`` threads for all such hosts known at the time.

    ``more_facts``: ``facts`` does not hold the hosts' facts yet; the calls of every host whose ImageConfigManager
    is known (from ``facts`` or ``icms``, the inventory's) start at once, while this thread reads the facts with
    ``more_facts()`` (into ``facts``, the caller's dict). A host whose three answers arrive first waits for its
    facts (its boot time is part of its fingerprint); a host whose facts are still missing then, or whose
    ImageConfigManager only they name and do not, is asked the ordinary way."""
    scan = _MuxScan(client, hosts, facts, connections, reuse, answers, more_facts, icms)
    mux = scan.mux
    later = []
    for i in range(len(hosts)):
        if scan.icm_of(i):
            scan.request_small(i)
        else:
            later.append(i)
    mux.more = more_facts is not None
    thread = threading.Thread(target=scan.loop, name="fleetpatch-soapmux", daemon=True)
    thread.start()
    pool = None
    retries = {}
    try:
        try:
            scan.add_later(more_facts, later)
        finally:
            mux.more = False
        for i, h in enumerate(hosts):
            scan.done[i].wait()
            if scan.slots[i] is not None:
                yield h.moid, scan.slots[i]
                continue
            if pool is None:
                pool = concurrent.futures.ThreadPoolExecutor(max_workers=connections,
                                                             thread_name_prefix="fleetpatch-scan")
            for j in range(i, len(hosts)):
                if j not in retries and scan.done[j].is_set() and scan.slots[j] is None:
                    retries[j] = pool.submit(ordinary, hosts[j])
            yield retries.pop(i).result()
    finally:
        mux.stop = True
        thread.join()
        if pool is not None:
            for f in retries.values():
                f.cancel()
            pool.shutdown(wait=True)


def _profile_dict(prof):
    return {"name": getattr(prof, "name", None), "vendor": getattr(prof, "vendor", None)}


def _same(value):
    return value


class ImageConfigMixin(ClientBase):
    """VSphereClient: ImageConfigManager (acceptance level, image profile, software packages) and esxcli."""

    # ---- ImageConfigManager --------------------------------------------------------------------------
    def _image_manager(self, host):
        return self._config_manager(host, "imageConfigManager", "image config manager")

    def acceptance_get(self, host: Host) -> Optional[str]:
        """Host acceptance level, normalized: certified | accepted | partner | community."""
        host = self.host(host)
        icm = self._image_manager(host)
        return normalize_api_acceptance(self._call(host, "read the acceptance level",
                                                   icm.HostImageConfigGetAcceptance))

    def acceptance_set(self, host: Host, level: str) -> Dict[str, Any]:
        """Set the acceptance level (our names or any alias); {changed, before, after} (normalized)."""
        host = self.host(host)
        target = api_acceptance_name(level)
        before = self.acceptance_get(host)
        if before == _API_ACCEPTANCE[target]:
            return {"changed": False, "before": before, "after": before}
        icm = self._image_manager(host)
        self._call(host, "set the acceptance level to %s" % target, icm.UpdateHostImageAcceptanceLevel,
                   newAcceptanceLevel=target)
        return {"changed": True, "before": before, "after": self.acceptance_get(host)}

    def image_profile(self, host: Host) -> Dict[str, Any]:
        """{name, vendor} of the host's image profile."""
        host = self.host(host)
        icm = self._image_manager(host)
        prof = self._call(host, "read the image profile", icm.HostImageConfigGetProfile)
        return {"name": getattr(prof, "name", None), "vendor": getattr(prof, "vendor", None)}

    def install_date(self, host: Host) -> Optional[str]:
        """When the host image was installed/last updated (ISO), from ``ImageConfigManager.InstallDate``."""
        host = self.host(host)
        icm = self._image_manager(host)
        return iso(self._call(host, "read the install date", icm.InstallDate))

    @staticmethod
    def package_record(pkg):
        """pyVmomi ``SoftwarePackage`` -> plain dict with the API field names."""
        def rel(items):
            return [{"constraint": getattr(r, "constraint", None), "name": getattr(r, "name", None),
                     "version": getattr(r, "version", None)} for r in items or ()]
        cap = getattr(pkg, "capability", None)
        return {
            "name": pkg.name, "version": pkg.version, "type": pkg.type, "vendor": pkg.vendor,
            "acceptanceLevel": pkg.acceptanceLevel, "summary": pkg.summary, "description": pkg.description,
            "referenceURL": list(pkg.referenceURL or ()), "creationDate": pkg.creationDate,
            "depends": rel(pkg.depends), "conflicts": rel(pkg.conflicts), "replaces": rel(pkg.replaces),
            "provides": list(pkg.provides or ()), "maintenanceModeRequired": pkg.maintenanceModeRequired,
            "hardwarePlatformsRequired": list(pkg.hardwarePlatformsRequired or ()),
            "capability": {k: getattr(cap, k, None) for k in
                           ("liveInstallAllowed", "liveRemoveAllowed", "statelessReady", "overlay")} if cap else {},
            "tag": list(pkg.tag or ()), "payload": list(pkg.payload or ()),
        }

    def _fetch_packages(self, host: Host) -> List[Dict[str, Any]]:
        host = self.host(host)
        icm = self._image_manager(host)
        pkgs = self._call(host, "list the installed software packages", icm.FetchSoftwarePackages)
        return [self.package_record(p) for p in pkgs or ()]

    def software_packages(self, host: Host) -> List[Dict[str, Any]]:
        """Installed VIBs (``FetchSoftwarePackages``) as ``Vib.to_dict()``-shaped dicts, sorted by name."""
        out = [package_record_dict(r) for r in self._fetch_packages(host)]
        return sorted(out, key=lambda d: (d["name"], d["version"]))

    def software_vibs(self, host: Host) -> List[Vib]:
        """Installed VIBs as ``_models.Vib`` objects (for the controller-side scan)."""
        return sorted((package_record_to_vib(r) for r in self._fetch_packages(host)), key=lambda v: v.name)

    # ---- fleet scale: many hosts concurrently over one session ----------------------------------------
    def scan_inventories(self, hosts, facts=None, workers=None, reuse=None):
        """For every host, concurrently over THIS session (a bounded pool of ``workers`` threads sharing the one
        pyVmomi stub, whose HTTP connection pool is thread-safe and grown to ``workers``): the acceptance level,
        the image profile, the image install date, and the installed package records. ``facts`` is
        ``hosts_facts()`` (boot time, ImageConfigManager moid); ``reuse(host, fingerprint)`` may return the
        package records cached under the same fingerprint ``[image profile name, boot time, install date]``,
        and then ``FetchSoftwarePackages`` (the expensive call) is skipped.

        Returns ``{moid: {"acceptance_level", "image_profile", "image_profile_vendor", "install_date",
        "fingerprint", "packages", "reused"}}``, or ``{moid: {"error": VSphereError}}`` for a host that failed
        (the others are unaffected). ``package_record`` dicts are JSON-safe (dates as ISO strings); hosts whose
        ``FetchSoftwarePackages`` answers are byte for byte the same share ONE list of records (read-only)."""
        return dict(self.iter_inventories(hosts, facts=facts, workers=workers, reuse=reuse))

    def iter_inventories(self, hosts, facts=None, workers=None, reuse=None, more_facts=None, icms=None):
        """``scan_inventories`` as a generator of ``(moid, record)`` in the order of ``hosts``, each as soon as it
        is read, so that the caller works on the first hosts while the pool reads the others. Closing the
        generator early cancels what has not started and waits for the calls under way. ``more_facts``: a
        callable returning the facts of the hosts ``facts`` does not hold yet (added to ``facts``), called while
        the calls of the hosts whose ImageConfigManager is known are under way; ``icms``: ``{host moid:
        ImageConfigManager moid}`` known before the facts (``image_config_managers()``, from the inventory)."""
        hosts = [self.host(h) for h in hosts]
        facts = facts if facts is not None else {}
        workers = max(1, min(int(workers or DEFAULT_SCAN_WORKERS), MAX_SCAN_WORKERS, len(hosts) or 1))
        self._ensure()
        stub = self._stub
        if getattr(stub, "poolSize", workers) < workers:
            stub.poolSize = workers      # keep one open connection per worker instead of reconnecting

        answers = {}     # shared by the workers: one reading per distinct answer (dict operations are atomic)

        def one(host):
            try:
                return host.moid, self._scan_one(host, facts.get(host.moid) or {}, reuse, answers)
            except VSphereError as exc:
                return host.moid, {"error": exc}
            except Exception as exc:  # pyVmomi/transport errors become the collection's
                return host.moid, {"error": self._err(exc, "read the software inventory", host=host.label)}

        mux_ok = _mux.usable(stub) and (workers > 1 and len(hosts) > 1)
        if more_facts is not None and not mux_ok:
            try:
                facts.update(more_facts() or {})
            except Exception:  # pylint: disable=broad-except  # those hosts are read (and reported) one by one
                pass
            more_facts = None
        if workers == 1 or len(hosts) <= 1:
            for h in hosts:
                yield one(h)
            return
        if mux_ok and (more_facts is not None
                       or all((facts.get(h.moid) or {}).get("image_config_manager") for h in hosts)):
            yield from _iter_mux(self, hosts, facts, workers, reuse, answers, one, more_facts, icms)
            return
        ex = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fleetpatch-scan")
        futures = []
        try:
            futures = [ex.submit(one, h) for h in hosts]
            for f in futures:
                yield f.result()
        finally:
            for f in futures:
                f.cancel()
            ex.shutdown(wait=True)

    def _scan_one(self, host, facts, reuse, answers=None):
        """One host of ``scan_inventories``. The four calls are read by ``fastsoap`` (pyVmomi reads what it does
        not know); ``answers`` keeps the package records of each distinct ``FetchSoftwarePackages`` answer of the
        scan (hosts built from one image answer with the same bytes, which are read once)."""
        moid = facts.get("image_config_manager")
        icm = vim.host.ImageConfigManager(moid, self._stub) if moid else self._image_manager(host)
        stub = self._stub
        prof = self._call(host, "read the image profile", _fast.call, stub, icm, "QueryHostImageProfile",
                          _fast.read_profile, _profile_dict)
        installed = self._call(host, "read the install date", _fast.call, stub, icm, "InstallDate",
                               _fast.read_date, iso)
        acceptance = normalize_api_acceptance(self._call(
            host, "read the acceptance level", _fast.call, stub, icm, "QueryHostAcceptanceLevel",
            _fast.read_string, _same))
        name = prof["name"]
        fingerprint = [name, facts.get("boot_time"), installed]
        packages = reuse(host, fingerprint) if reuse is not None else None
        reused = packages is not None
        if packages is None:
            memo = answers if answers is not None else {}

            def read(body):
                key = _fast.digest(body)
                recs = memo.get(key)
                if recs is None:
                    recs = memo[key] = _fast.read_packages(body)
                return recs
            packages = self._call(host, "list the installed software packages", _fast.call, stub, icm,
                                  "FetchSoftwarePackages", read, self._package_records)
        return {"acceptance_level": acceptance, "image_profile": name,
                "image_profile_vendor": prof["vendor"], "install_date": installed,
                "fingerprint": fingerprint, "packages": packages, "reused": reused}

    @classmethod
    def _package_records(cls, pkgs):
        """pyVmomi ``SoftwarePackage[]`` -> JSON-safe package records (creation dates as ISO strings)."""
        out = []
        for p in pkgs or ():
            rec = cls.package_record(p)
            rec["creationDate"] = iso(rec.get("creationDate"))
            out.append(rec)
        return out

    @staticmethod
    def vibs_of(packages):
        """``software_vibs``' answer from package records (fetched or cached)."""
        return sorted((package_record_to_vib(r) for r in packages), key=lambda v: v.name)

    # ---- esxcli ----------------------------------------------------------------------------------------
    @property
    def esxcli(self) -> Any:
        """The ``_esxcli.Esxcli`` bound to this client (``client.esxcli.vib_list(host)``)."""
        if self._esxcli is None:
            from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.esxcli import Esxcli
            self._esxcli = Esxcli(self)
        return self._esxcli
