# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the collection's exception hierarchy. Breaking changes at any time.

Library code (module_utils) raises these; only a module's ``main()`` turns one into ``fail_json`` (once).
Every error names what it is about (``source`` for depot files and URLs, ``host`` for ESXi hosts) and the
problem, in ``str(error)``. ``details`` carries JSON-safe extra facts that end up in the failed result.
No exception message may contain a secret: URLs go through ``_secrets.redact_url`` before they get here.

Behaviour flags are typed attributes (``False`` unless the raiser knows better), read by callers as attributes:

* ``connection_lost``: the connection dropped mid-call (the host may be rebooting);
* ``session_lost``: the server no longer knows our session (log in again);
* ``outcome_unknown``: the call may or may not have taken effect (do not blindly retry a change);
* ``certificate_error``: TLS verification failed (``validate_certs``/``ca_path`` are the fix).

A flag that is set also appears in ``to_result()`` (and, for readers not yet moved to the attributes, in
``details``). Errors are never changed after being raised: ``with_context()`` returns a new error of the same
class (raise it ``from`` the original).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

FLAGS = ("connection_lost", "session_lost", "outcome_unknown", "certificate_error")


class FleetpatchError(Exception):
    """Base class. ``msg`` is the human sentence; ``source``/``host`` say what it is about."""

    kind = "error"

    def __init__(self, msg: str, source: Optional[str] = None, host: Optional[str] = None, *,
                 connection_lost: bool = False, session_lost: bool = False, outcome_unknown: bool = False,
                 certificate_error: bool = False, **details: Any) -> None:
        self.msg = msg
        self.source = source
        self.host = host
        self.connection_lost = bool(connection_lost)
        self.session_lost = bool(session_lost)
        self.outcome_unknown = bool(outcome_unknown)
        self.certificate_error = bool(certificate_error)
        self.details: Dict[str, Any] = dict(details)
        for flag in FLAGS:
            if getattr(self, flag):
                self.details[flag] = True
        super().__init__(self.__str__())

    @property
    def flags(self) -> Dict[str, bool]:
        """The behaviour flags that are set, as keyword arguments for a new error."""
        return {f: True for f in FLAGS if getattr(self, f)}

    def with_context(self, msg: Optional[str] = None, source: Optional[str] = None, host: Optional[str] = None,
                     **details: Any) -> "FleetpatchError":
        """A new error of the same class and flags with ``msg``/``source``/``host`` replaced and ``details``
        added (the original is left as it was raised). Subclasses with their own constructor keep working as
        long as they accept the base keywords."""
        kwargs: Dict[str, Any] = dict(self.flags)
        kwargs.update((k, v) for k, v in self.details.items() if k not in FLAGS)
        kwargs.update(details)
        new = type(self).__new__(type(self))
        FleetpatchError.__init__(new, self.msg if msg is None else msg,
                                 self.source if source is None else source, self.host if host is None else host,
                                 **kwargs)
        for k, v in vars(self).items():  # subclass state (e.g. partial results) rides along
            if k not in vars(new):
                setattr(new, k, v)
        return new

    def __str__(self) -> str:
        where = []
        if self.host:
            where.append("host %s" % self.host)
        if self.source:
            where.append(str(self.source))
        prefix = ": ".join(where)
        return "%s: %s" % (prefix, self.msg) if prefix else self.msg

    def to_result(self) -> Dict[str, Any]:
        """JSON-safe facts for the module's failed result (besides ``msg``)."""
        out = {"error_kind": self.kind}
        if self.source:
            out["source"] = str(self.source)
        if self.host:
            out["host"] = self.host
        out.update(self.details)
        return out


# ---- depot / metadata --------------------------------------------------------------------------
class DepotError(FleetpatchError):
    """A depot source could not be read or understood."""

    kind = "depot"


class DepotFormatError(DepotError):
    """Malformed XML, wrong root element, truncated archive, missing required member."""

    kind = "depot_format"


class DepotSecurityError(DepotError):
    """Hostile input refused: entities/DTD, zip bomb, path traversal, oversize member."""

    kind = "depot_security"


class DepotFetchError(DepotError):
    """HTTP(S) failure: unreachable, timeout, TLS/certificate error, bad status, wrong content."""

    kind = "depot_fetch"


class ChecksumError(DepotError):
    """A file's digest differs from the one its metadata declares."""

    kind = "checksum"


# ---- user input / selection --------------------------------------------------------------------
class InputError(FleetpatchError):
    """The module options name something that does not exist or cannot be combined."""

    kind = "input"


# ---- vSphere / hosts ---------------------------------------------------------------------------
class VSphereError(FleetpatchError):
    """Any failure talking to vCenter or ESXi."""

    kind = "vsphere"


class ConnectionFailedError(VSphereError):
    kind = "connection"


class AuthenticationError(VSphereError):
    kind = "authentication"


class NotFoundError(VSphereError):
    kind = "not_found"


class HostNotConnectedError(VSphereError):
    kind = "host_not_connected"


class TaskFailedError(VSphereError):
    kind = "task_failed"


class TaskTimeoutError(VSphereError):
    kind = "task_timeout"


class RebootTimeoutError(VSphereError):
    kind = "reboot_timeout"


class EsxcliError(VSphereError):
    """An esxcli command answered with a CLI fault (``[NoMatchError] ...`` etc.)."""

    kind = "esxcli"


class VerificationError(FleetpatchError):
    """After a deploy the host does not run what was planned."""

    kind = "verification"


class PrecheckError(FleetpatchError):
    """A deploy pre-check failed before anything on the host was changed."""

    kind = "precheck"


class ProfileInvalidError(FleetpatchError):
    """An image profile (or VIB set) has findings at the ``fail_on`` severity; carries the whole validation
    result as the partial result (``details["partial"]``)."""

    kind = "validation"


class ServeError(FleetpatchError):
    """The depot server could not be started or stopped."""

    kind = "depot_serve"
