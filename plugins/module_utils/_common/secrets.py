# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: keep secrets out of results and logs. Breaking changes at any time."""

from __future__ import annotations

import re

try:  # Python 3
    from urllib.parse import urlsplit, urlunsplit, parse_qsl, urlencode
except ImportError:  # pragma: no cover
    raise

REDACTED = "********"
_SECRET_QUERY_KEYS = re.compile(r"(token|key|secret|password|passwd|pwd|sig|signature|auth|credential)", re.I)
# Broadcom download tokens live in the first path segment: https://dl.broadcom.com/<token>/PROD/COMP/...
_TOKEN_HOSTS = ("dl.broadcom.com",)
_LONG_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{24,}$")


def redact_url(url):
    """Return ``url`` with user info, secret query values and download tokens replaced by ``********``.

    Never raises: anything that cannot be parsed as a URL is returned with only obvious
    ``user:password@`` parts removed.
    """
    if url is None:
        return None
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return re.sub(r"//[^/@\s]*@", "//%s@" % REDACTED, text)
    if not parts.scheme or not parts.netloc:
        return text
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hostport = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = "%s:%s@%s" % (user, REDACTED, hostport) if ":" in userinfo else "%s@%s" % (REDACTED, hostport)
    path = parts.path
    host = (parts.hostname or "").lower()
    segments = path.split("/")
    for i, seg in enumerate(segments):
        if not seg:
            continue
        if host in _TOKEN_HOSTS and i == 1:
            segments[i] = REDACTED
        elif _LONG_TOKEN.match(seg) and any(c.isdigit() for c in seg) and any(c.isalpha() for c in seg) \
                and "." not in seg and len(seg) >= 32:
            # a long opaque path segment (token-like): keep it out of logs
            segments[i] = REDACTED
    path = "/".join(segments)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, REDACTED if _SECRET_QUERY_KEYS.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def redact_text(text, secrets):
    """Replace each non-empty secret string in ``text`` by ``********``."""
    if text is None:
        return None
    out = str(text)
    for s in secrets or ():
        if s and len(str(s)) >= 3:
            out = out.replace(str(s), REDACTED)
    return out
