# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VSphereClient: user events and event history of a host. Breaking changes at any time."""

from __future__ import annotations

import datetime


from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    InputError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.base import ClientBase
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import (
    redact, vim)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.convert import (
    EVENTS_MAX, EVENTS_MAX_DEFAULT, EVENTS_PAGE, _as_utc, iso)
from typing import TYPE_CHECKING, Any, List, Optional, Union

if TYPE_CHECKING:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host import Host


class EventsMixin(ClientBase):
    """VSphereClient: user events and event history of a host."""

    # ---- events ------------------------------------------------------------------------------------
    def log_user_event(self, host: Host, message: str) -> bool:
        """Record ``message`` as a user event on the host (EventManager.LogUserEvent). Returns True."""
        host = self.host(host)
        self._ensure()
        em = self._content.eventManager
        self._call(host, "log an event", em.LogUserEvent, entity=host._mo, msg=redact(message, self.secrets))
        return True

    def host_events(self, host: Host, since: Optional[Union[datetime.datetime, str]] = None,
                    event_types: Optional[List[str]] = None, max_count: Any = EVENTS_MAX_DEFAULT) -> List[Any]:
        """The newest ``max_count`` (1..1000) events of the host (filter: entity = the host, recursion self), oldest
        first: [{key, type, message, full_message, created_time (ISO), user}]. ``message`` is the text a user event
        was logged with (``GeneralEvent.message``), else the full formatted message. ``since``: datetime (naive =
        UTC) or ISO 8601 string, inclusive; ``event_types``: event type names (``GeneralUserEvent``; base types
        such as ``HostEvent`` too).

        Reads through an EventHistoryCollector (QueryEvents is not implemented on a standalone ESXi host), which is
        destroyed afterwards. ``since`` is also applied here, so servers that ignore the time filter give the same
        answer."""
        host = self.host(host)
        self._ensure()
        if isinstance(max_count, bool) or not isinstance(max_count, int) or not 1 <= max_count <= EVENTS_MAX:
            raise InputError("max_count must be an integer from 1 to %d, got %r" % (EVENTS_MAX, max_count))
        begin = _as_utc(since)
        if since is not None and begin is None:
            raise InputError("since must be a datetime or an ISO 8601 date and time, got %r" % (since,))
        if isinstance(event_types, str):
            event_types = [event_types]
        spec = vim.event.EventFilterSpec(
            entity=vim.event.EventFilterSpec.ByEntity(entity=host._mo, recursion="self"),
            disableFullMessage=False, eventTypeId=list(event_types or []))
        if begin is not None:
            spec.time = vim.event.EventFilterSpec.ByTime(beginTime=begin)
        em = self._content.eventManager
        collector = self._call(host, "read the host's events", em.CreateCollectorForEvents, filter=spec)
        events = []
        try:
            self._call(host, "read the host's events", collector.RewindCollector)
            while True:
                page = self._call(host, "read the host's events", collector.ReadNextEvents, maxCount=EVENTS_PAGE)
                if not page:
                    break
                events.extend(page)
                del events[:-max_count]          # keep only the newest max_count (pages come oldest first)
        finally:
            try:
                collector.DestroyCollector()
            except Exception:                    # the session may be gone; the server drops it with the session
                pass
        out = []
        for ev in sorted(events, key=lambda e: e.key):      # keys grow with time on a server
            created = _as_utc(ev.createdTime)
            if begin is not None and created is not None and created < begin:
                continue
            msg = getattr(ev, "message", None)
            full = getattr(ev, "fullFormattedMessage", None)
            out.append({"key": ev.key, "type": getattr(ev, "_wsdlName", None) or type(ev).__name__.split(".")[-1],
                        "message": msg if isinstance(msg, str) else full, "full_message": full,
                        "created_time": iso(created), "user": ev.userName or None})
        return out[-max_count:]
