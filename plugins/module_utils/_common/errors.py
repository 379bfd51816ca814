# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the collection's exception hierarchy. Breaking changes at any time.

Library code (module_utils) raises these; only a module's ``main()`` turns one into ``fail_json`` (once).
Every error names what it is about (``source`` for depot files and URLs, ``host`` for ESXi hosts) and the
problem, in ``str(error)``. ``details`` carries JSON-safe extra facts that end up in the failed result.
No exception message may contain a secret: URLs go through ``_secrets.redact_url`` before they get here.
"""

from __future__ import annotations


class FleetpatchError(Exception):
    """Base class. ``msg`` is the human sentence; ``source``/``host`` say what it is about."""

    kind = "error"

    def __init__(self, msg, source=None, host=None, **details):
        self.msg = msg
        self.source = source
        self.host = host
        self.details = details
        super().__init__(self.__str__())

    def __str__(self):
        where = []
        if self.host:
            where.append("host %s" % self.host)
        if self.source:
            where.append(str(self.source))
        prefix = ": ".join(where)
        return "%s: %s" % (prefix, self.msg) if prefix else self.msg

    def to_result(self):
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
