# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FakeHostClient: an in-memory vCenter/ESXi for the deploy unit tests, satisfying ``_patch.hostclient.HostClient``.

Each FakeHost has maintenance mode, firewall rulesets, the active VIBs and the rebooting (pending) image, staged
VIBs, a boot time, user events, custom attributes, VMs that block evacuation, and scripted faults:

- ``fake.fail(method, exc, count=1)``: the next ``count`` calls of ``method`` raise ``exc`` (any exception, also
  non-fleetpatch ones);
- ``fake.before(method, fn)``: ``fn(fake, host, kwargs)`` runs before every call of ``method`` (to send a signal,
  change the host, ... in the middle of a run).

The install semantics follow /work/shared/docs/reference/esxi-software-stack-facts.md (Flows, Results): an install
skips VIBs already installed, a VIB replaces the installed one of the same name, a VIB without live install goes to
the rebooting image (reboot required), and installing nothing new is ``HostNotChanged``; a reboot needs maintenance
mode (``InvalidState`` otherwise, as hostd's RebootHost_Task without force) and activates the pending image.
``calls`` lists every call as ``(method, host name)``.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Any, Callable, Dict, List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    HostNotConnectedError, NotFoundError, RebootTimeoutError, TaskFailedError, TaskTimeoutError, VSphereError)

T0 = datetime.datetime(2026, 12, 1, 8, 0, 0, tzinfo=datetime.timezone.utc)


class FakeHostRef(object):
    def __init__(self, name: str, moid: str) -> None:
        self.name = name
        self.moid = moid

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FakeHostRef) and other.moid == self.moid

    def __hash__(self) -> int:
        return hash(self.moid)

    def __repr__(self) -> str:
        return "FakeHostRef(%r)" % self.name


class FakeHost(object):
    def __init__(self, name: str, vibs: List[Any], moid: str, version: str = "8.0.2", build: str = "22380479",
                 acceptance: str = "partner", in_maintenance_mode: bool = False, http_client: bool = False,
                 blocking_vms: Optional[List[str]] = None) -> None:
        self.name = name
        self.moid = moid
        self.version = version
        self.build = build
        self.acceptance = acceptance
        self.in_mm = in_maintenance_mode
        self.firewall = {"httpClient": http_client, "sshServer": True}
        self.active = {v.id: v for v in vibs}
        self.pending: Optional[Dict[str, Any]] = None          # the rebooting image when it differs
        self.staged: Dict[str, Any] = {}
        self.boot_time = T0
        self.connection_state = "connected"
        self.events: List[str] = []
        self.fields: Dict[str, str] = {}
        self.blocking_vms = list(blocking_vms or [])
        self.profile = "ESXi-8.0U2-22380479-standard"
        self.reboot_never_returns = False

    def state(self) -> Dict[str, Any]:
        """What the tests assert at the end (as the simulator's /_sim/state)."""
        return {"maintenance": self.in_mm, "http_client_enabled": self.firewall["httpClient"],
                "current_vibs": sorted(self.active), "pending_vibs": sorted(self.pending or ()),
                "connection_state": self.connection_state, "boot_time": self.boot_time.isoformat()}


class FakeEsxcli(object):
    def __init__(self, fake: "FakeHostClient") -> None:
        self.fake = fake

    def vib_list(self, host: Any, rebooting_image: bool = False) -> List[Dict[str, Any]]:
        h = self.fake._call("esxcli.vib_list", host, rebooting_image=rebooting_image)
        image = h.pending if (rebooting_image and h.pending is not None) else h.active
        return [{"id": v.id, "name": v.name, "version": v.version} for v in image.values()]

    def _by_spec(self, specs: List[str]) -> List[Any]:
        out = []
        for spec in specs:
            name, _, version = spec.partition(":")
            out.extend(v for v in self.fake.catalog.values() if v.name == name and (not version or v.version == version))
        return out

    def vib_install(self, host: Any, depot: Any = None, viburl: Any = None, vibname: Any = None,
                    dryrun: bool = False, maintenancemode: bool = False) -> Dict[str, Any]:
        h = self.fake._call("esxcli.vib_install", host, dryrun=dryrun)
        return self.fake._install(h, self._by_spec(list(vibname or [])), dryrun=dryrun, esxcli=True)

    def vib_remove(self, host: Any, vibname: Any, dryrun: bool = False,
                   maintenancemode: bool = False) -> Dict[str, Any]:
        h = self.fake._call("esxcli.vib_remove", host, dryrun=dryrun)
        gone = [v.id for v in h.active.values() if v.name in set(vibname)]
        if not dryrun:
            image = dict(h.pending if h.pending is not None else h.active)
            for i in gone:
                image.pop(i, None)
            h.pending = image
        return {"changed": bool(gone), "vibs_installed": [], "vibs_removed": gone, "vibs_skipped": [],
                "reboot_required": bool(gone), "message": "Dryrun only" if dryrun else "done"}

    def profile_update(self, host: Any, depot: Any, profile: str, dryrun: bool = False,
                       maintenancemode: bool = False) -> Dict[str, Any]:
        h = self.fake._call("esxcli.profile_update", host, dryrun=dryrun)
        return self.fake._install(h, list(self.fake.catalog.values()), dryrun=dryrun, esxcli=True)


class FakeHostClient(object):
    """In-memory client over ``hosts`` (FakeHost). ``catalog``: {vib url or id: Vib} the hosts can download."""

    def __init__(self, hosts: List[FakeHost], catalog: Dict[str, Any], is_vcenter: bool = True,
                 bulletins: Optional[Dict[str, List[str]]] = None) -> None:
        self.hosts = {h.name: h for h in hosts}
        self.catalog = catalog
        self.bulletins = bulletins or {}          # bulletin id -> VIB ids (for patch_check)
        self.is_vcenter = is_vcenter
        self.lock_settle = 0.0
        self.endpoint = "vcenter.fake:443" if is_vcenter else hosts[0].name + ":443"
        self.calls: List[tuple] = []
        self._faults: Dict[str, List[BaseException]] = {}
        self._hooks: Dict[str, List[Callable[..., None]]] = {}
        self.closed = False
        self.clock = 0
        self._esxcli = FakeEsxcli(self)

    # ---- scripting ------------------------------------------------------------------------------------
    def fail(self, method: str, exc: BaseException, count: int = 1) -> None:
        self._faults.setdefault(method, []).extend([exc] * count)

    def before(self, method: str, fn: Callable[..., None]) -> None:
        self._hooks.setdefault(method, []).append(fn)

    def _call(self, method: str, host: Any, **kwargs: Any) -> FakeHost:
        h = self.hosts[host.name] if host is not None else None
        self.calls.append((method, h.name if h else None))
        for fn in self._hooks.get(method, ()):
            fn(self, h, kwargs)
        queue = self._faults.get(method)
        if queue:
            raise queue.pop(0)
        # vCenter answers these itself, also while the host is down
        vc_side = ("host_facts", "wait_connected", "host_field_get", "host_field_set", "log_user_event",
                   "in_maintenance_mode")
        if h is not None and h.connection_state != "connected" and not (self.is_vcenter and method in vc_side) \
                and method not in ("host_facts", "wait_connected"):
            raise HostNotConnectedError("the host is %s" % h.connection_state, host=h.name)
        return h  # type: ignore[return-value]

    def names(self) -> List[str]:
        return [c[0] for c in self.calls]

    # ---- inventory --------------------------------------------------------------------------------------
    @property
    def esxcli(self) -> FakeEsxcli:
        return self._esxcli

    def find_targets(self, names: Any = None, cluster: Any = None, datacenter: Any = None) -> List[FakeHostRef]:
        self._call("find_targets", None)
        wanted = list(names) if names else list(self.hosts)
        missing = [n for n in wanted if n not in self.hosts]
        if missing:
            raise NotFoundError("host(s) not found: %s" % ", ".join(missing))
        return [FakeHostRef(n, self.hosts[n].moid) for n in wanted]

    def host_facts(self, host: Any) -> Dict[str, Any]:
        h = self._call("host_facts", host)
        return {"name": h.name, "moid": h.moid, "version": h.version, "build": h.build,
                "product_line": "embeddedEsx", "boot_time": h.boot_time.isoformat(),
                "connection_state": h.connection_state, "in_maintenance_mode": h.in_mm, "cluster": "C1",
                "datacenter": "DC1", "endpoint": self.endpoint, "power_state": "poweredOn"}

    def wait_connected(self, host: Any, timeout: float = 600, poll_max: float = 5.0) -> Dict[str, Any]:
        h = self._call("wait_connected", host, timeout=timeout)
        if h.connection_state != "connected":
            raise HostNotConnectedError("the host did not come back within %ss; last known state: %s"
                                        % (timeout, h.connection_state), host=h.name,
                                        last_state=h.connection_state)
        return self.host_facts(host)

    def acceptance_get(self, host: Any) -> str:
        return self._call("acceptance_get", host).acceptance

    def acceptance_set(self, host: Any, level: str) -> Dict[str, Any]:
        h = self._call("acceptance_set", host)
        changed = h.acceptance != level
        h.acceptance = level
        return {"changed": changed, "before": h.acceptance, "after": level}

    def image_profile(self, host: Any) -> Dict[str, Any]:
        h = self._call("image_profile", host)
        return {"name": h.profile, "vendor": "VMware, Inc."}

    def software_vibs(self, host: Any) -> List[Any]:
        return list(self._call("software_vibs", host).active.values())

    # ---- patch manager ------------------------------------------------------------------------------------
    def _status(self, h: FakeHost) -> List[Dict[str, Any]]:
        image = h.pending if h.pending is not None else h.active
        out = []
        for bid, vids in sorted(self.bulletins.items()):
            installed = all(v in image for v in vids)
            out.append({"id": bid, "installed": installed, "applicable": not installed, "reason": []})
        return out

    def patch_scan(self, host: Any, meta_urls: Any = None, bundle_urls: Any = None) -> Dict[str, Any]:
        h = self._call("patch_scan", host)
        return {"status": self._status(h), "errors": [], "xml_result": None}

    def patch_check(self, host: Any, meta_urls: Any = None, bundle_urls: Any = None) -> Dict[str, Any]:
        h = self._call("patch_check", host)
        return {"status": self._status(h), "errors": [], "xml_result": None}

    def _vibs_of(self, urls: Any) -> List[Any]:
        out = []
        for u in urls or ():
            if u not in self.catalog:
                raise TaskFailedError("install patches failed: VibDownloadError: %s" % u)
            out.append(self.catalog[u])
        return out

    def _install(self, h: FakeHost, vibs: List[Any], dryrun: bool = False, esxcli: bool = False,
                 stage: bool = False) -> Dict[str, Any]:
        image = dict(h.pending if h.pending is not None else h.active)
        added, removed, skipped = [], [], []
        for v in vibs:
            if v.id in image:
                skipped.append(v.id)
                continue
            for old in [o for o in image.values() if o.name == v.name]:
                removed.append(old.id)
                del image[old.id]
            image[v.id] = v
            added.append(v.id)
        changed = bool(added or removed)
        reboot = changed
        if changed and not dryrun and not stage:
            h.pending = image
        if stage and not dryrun:
            h.staged.update({v.id: v for v in vibs})
        message = ("Dryrun only, host not changed." if dryrun else
                   "The update completed successfully, but the system needs to be rebooted for the changes to be "
                   "effective." if changed else "Host is not changed.")
        if esxcli:
            return {"changed": changed and not dryrun, "vibs_installed": added, "vibs_removed": removed,
                    "vibs_skipped": skipped, "reboot_required": reboot, "message": message}
        xml = ("<esxupdate-response>\n<version>1.50</version>\n<error errorClass=\"%s\"><errorCode>%d</errorCode>"
               "<errorDesc>%s</errorDesc></error></esxupdate-response>"
               % (("NeedsRebootResult", 80, message) if changed else ("HostNotChanged", 82, message)))
        return {"version": "1.50", "xml_result": xml, "status": [], "errors": [], "messages": [message],
                "vibs": [], "added_vibs": added, "removed_vibs": removed, "skipped_vibs": skipped,
                "reboot_required": reboot, "xml_parse_error": None}

    def patch_stage(self, host: Any, vib_urls: Any = None, **kw: Any) -> Dict[str, Any]:
        h = self._call("patch_stage", host)
        return self._install(h, self._vibs_of(vib_urls), stage=True)

    def patch_install(self, host: Any, vib_urls: Any = None, **kw: Any) -> Dict[str, Any]:
        h = self._call("patch_install", host, vib_urls=vib_urls)
        return self._install(h, self._vibs_of(vib_urls))

    def patch_query(self, host: Any) -> Dict[str, Any]:
        h = self._call("patch_query", host)
        staged = "".join("<vibID>%s</vibID>" % i for i in sorted(h.staged))
        return {"xml_result": "<esxupdate-response><vibStaged>%s</vibStaged></esxupdate-response>" % staged}

    # ---- maintenance mode, reboot --------------------------------------------------------------------
    def in_maintenance_mode(self, host: Any) -> bool:
        return self._call("in_maintenance_mode", host).in_mm

    def enter_maintenance_mode(self, host: Any, timeout: int = 0, evacuate_powered_off_vms: bool = False,
                               vsan_mode: Optional[str] = None, wait_timeout: Optional[float] = None) -> bool:
        h = self._call("enter_maintenance_mode", host, timeout=timeout)
        if h.in_mm:
            return False
        if h.blocking_vms:
            raise TaskTimeoutError("enter maintenance mode did not finish within %ss (task still running)"
                                   % timeout, host=h.name)
        h.in_mm = True
        return True

    def exit_maintenance_mode(self, host: Any, timeout: int = 0, wait_timeout: Optional[float] = None) -> bool:
        h = self._call("exit_maintenance_mode", host)
        if not h.in_mm:
            return False
        h.in_mm = False
        return True

    def reboot(self, host: Any, force: bool = False, timeout: float = 1800) -> Any:
        h = self._call("reboot", host, timeout=timeout)
        if not h.in_mm and not force:
            raise VSphereError("reboot failed: InvalidState (the host must be in maintenance mode, or use force)",
                               host=h.name)
        before = h.boot_time.isoformat()
        if h.pending is not None:
            h.active = h.pending
            h.pending = None
        h.staged = {}
        h.boot_time = h.boot_time + datetime.timedelta(minutes=10)
        if h.reboot_never_returns:
            h.connection_state = "notResponding"
            raise RebootTimeoutError("the host did not come back from the reboot in time; last known state: "
                                     "notResponding", host=h.name, last_state="notResponding")
        return FakeHostRef(h.name, h.moid), {"rebooted": True, "boot_time_before": before,
                                             "boot_time_after": h.boot_time.isoformat(), "seconds": 1.0}

    def host_vms(self, host: Any) -> List[Dict[str, Any]]:
        h = self._call("host_vms", host)
        return [{"name": n, "power_state": "poweredOn"} for n in h.blocking_vms]

    # ---- firewall -----------------------------------------------------------------------------------------
    def firewall_ruleset_enabled(self, host: Any, ruleset: str) -> bool:
        return self._call("firewall_ruleset_enabled", host).firewall[ruleset]

    def set_firewall_ruleset(self, host: Any, ruleset: str, enabled: bool) -> bool:
        h = self._call("set_firewall_ruleset", host, ruleset=ruleset, enabled=enabled)
        was = h.firewall[ruleset]
        h.firewall[ruleset] = bool(enabled)
        return was

    @contextlib.contextmanager
    def ruleset_open(self, host: Any, ruleset: str = "httpClient") -> Any:
        was = self.set_firewall_ruleset(host, ruleset, True)
        try:
            yield was
        finally:
            if not was:
                self.set_firewall_ruleset(host, ruleset, False)

    # ---- events, custom attributes ------------------------------------------------------------------------
    def log_user_event(self, host: Any, message: str) -> None:
        self._call("log_user_event", host).events.append(message)

    def host_field_get(self, host: Any, name: str) -> Optional[str]:
        return self._call("host_field_get", host).fields.get(name)

    def host_field_set(self, host: Any, name: str, value: str) -> None:
        h = self._call("host_field_set", host)
        if value:
            h.fields[name] = value
        else:
            h.fields.pop(name, None)

    def close(self) -> None:
        self.closed = True
