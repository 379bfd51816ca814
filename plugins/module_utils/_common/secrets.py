# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the one redactor of the collection: keep secrets out of results and logs. Breaking changes at any time.

Pure (stdlib only). Every URL that leaves the code (results, messages, warnings, cache metadata, records,
reports) goes through ``redact_url``; every free text that may quote a URL or a known secret goes through
``redact``. ``url_secrets`` returns exactly the strings ``redact_url`` hides, so the Ansible glue can register
them with ``no_log_values`` *before* Ansible logs the module invocation.

What a URL's secret parts are (by the URL's structure, independent of the value's length):

- the password of ``user:password@`` (and the user name when it stands alone: ``token@host``);
- every query value (``?token=``, ``?t=``, ``?sig=`` ...: a depot URL carries no public query data, so any query
  value is treated as a credential);
- the first path segment on hosts known to put download tokens there (``dl.broadcom.com``);
- a path segment that looks like an opaque token: no ``.`` (file names and versions keep theirs) and made of
  token characters, with letters and digits mixed (8 characters or more), or 20 characters or more; and the
  segment that follows a segment named ``token``, ``tokens``, ``key``, ``auth`` or ``secret``.

The last rule is a shape rule: a token made only of letters and shorter than 20 characters is not recognised in
a path. Give such a token through ``download_token`` and the ``{token}`` placeholder instead (a ``no_log``
option), or as a query value.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional, Set, Union
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

REDACTED = "********"

# Broadcom download tokens live in the first path segment: https://dl.broadcom.com/<token>/PROD/COMP/...
_TOKEN_HOSTS = ("dl.broadcom.com",)
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_~\-]+$")
_SECRET_MARKER_SEGMENTS = ("token", "tokens", "key", "auth", "secret")
# Anything that looks like the start of a URL in free text (any scheme: http, https, ftp, s3, vmware ...).
URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_MIN_FREE_TEXT_SECRET = 3


def is_token_segment(segment: str) -> bool:
    """True when a URL path segment looks like an opaque download token (see the module docstring)."""
    if not segment or "." in segment or not _TOKEN_CHARS.match(segment):
        return False
    if len(segment) >= 20:
        return True
    has_digit = any(c.isdigit() for c in segment)
    has_alpha = any(c.isalpha() for c in segment)
    return len(segment) >= 8 and has_digit and has_alpha


def _secret_segment_indexes(host: str, segments: list) -> Set[int]:
    found = set()
    for i, seg in enumerate(segments):
        if not seg:
            continue
        if host in _TOKEN_HOSTS and i == 1:
            found.add(i)
        elif is_token_segment(seg):
            found.add(i)
        elif i > 0 and segments[i - 1].lower() in _SECRET_MARKER_SEGMENTS and "." not in seg:
            found.add(i)
    return found


def _split(text: str):
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return parts


def redact_url(url: Optional[object]) -> Optional[str]:
    """Return ``url`` with its secret parts (module docstring) replaced by ``********``.

    Never raises: anything that cannot be parsed as a URL is returned with only ``user:password@`` parts removed.
    """
    if url is None:
        return None
    text = str(url)
    parts = _split(text)
    if parts is None:
        return re.sub(r"//[^/@\s]*@", "//%s@" % REDACTED, text) if "://" in text else text
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hostport = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = "%s:%s@%s" % (user, REDACTED, hostport) if ":" in userinfo else "%s@%s" % (REDACTED, hostport)
    host = (parts.hostname or "").lower() if "[" not in netloc or "]" in netloc else ""
    segments = parts.path.split("/")
    for i in _secret_segment_indexes(host, segments):
        segments[i] = REDACTED
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join("%s=%s" % (quote(k, safe=""), REDACTED if v else "") for k, v in pairs) if pairs \
            else REDACTED
    fragment = REDACTED if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, "/".join(segments), query, fragment))


def url_secrets(url: Optional[object]) -> Set[str]:
    """The secret parts of ``url``: exactly the strings ``redact_url`` hides (any length), raw and decoded."""
    found: Set[str] = set()
    if not url:
        return found
    text = str(url)
    parts = _split(text)
    if parts is None:
        m = re.search(r"//([^/@\s]*)@", text)
        if m and m.group(1):
            found.add(m.group(1).split(":", 1)[-1])
        return found
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        found.add(userinfo.split(":", 1)[1] if ":" in userinfo else userinfo)
        if parts.password:
            found.add(parts.password)
    host = (parts.hostname or "").lower()
    segments = parts.path.split("/")
    for i in _secret_segment_indexes(host, segments):
        found.add(segments[i])
    if parts.query:
        raw_values = [p.split("=", 1)[1] for p in parts.query.split("&") if "=" in p]
        found.update(raw_values)
        found.update(v for _k, v in parse_qsl(parts.query, keep_blank_values=True))
        if not raw_values:
            found.add(parts.query)
    if parts.fragment:
        found.add(parts.fragment)
    return {s for s in found if s}


# Secrets learnt at run time (vSphere session ids, see ``_clients/session_cache.py``): every later ``redact`` and
# ``redact_text`` of the process masks them, whatever secrets its caller passes (masked by construction).
_RUNTIME_SECRETS: Set[str] = set()


def register_secret(value: Optional[object]) -> None:
    """Remember a secret learnt at run time (a session id): every ``redact``/``redact_text`` of this process
    masks it from now on. Values shorter than 3 characters are ignored (as in ``redact_text``)."""
    if value and len(str(value)) >= _MIN_FREE_TEXT_SECRET:
        _RUNTIME_SECRETS.add(str(value))


def runtime_secrets() -> Set[str]:
    """A copy of the secrets registered with ``register_secret`` (for Ansible's ``no_log_values``)."""
    return set(_RUNTIME_SECRETS)


def redact_text(text: Optional[object], secrets: Iterable[object]) -> Optional[str]:
    """Replace each known secret string in ``text`` by ``********`` (longest first), the given ``secrets`` and
    the ones registered with ``register_secret``.

    Secrets shorter than 3 characters are not replaced in free text (a one-letter secret would mask every word);
    URLs are redacted by structure (``redact``), whatever the length of their secret parts.
    """
    if text is None:
        return None
    out = str(text)
    known = {str(s) for s in secrets or () if s} | _RUNTIME_SECRETS
    for s in sorted(known, key=len, reverse=True):
        if len(s) >= _MIN_FREE_TEXT_SECRET:
            out = out.replace(s, REDACTED)
    return out


def redact(text: Optional[object], secrets: Iterable[object] = ()) -> Optional[str]:
    """Free text (messages, tracebacks, task errors) with every URL passed through ``redact_url`` and every known
    secret string replaced: the one redactor of free text (the client layer and the Ansible glue both use it)."""
    if text is None:
        return None
    out = URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)) or "", str(text))
    return redact_text(out, secrets)


def redact_value(value: Union[dict, list, tuple, str, object], secrets: Iterable[object] = ()) -> object:
    """``redact`` applied to every string inside a JSON-like value (dicts, lists); other values unchanged."""
    secrets = list(secrets or ())
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v, secrets) for v in value]
    return value
