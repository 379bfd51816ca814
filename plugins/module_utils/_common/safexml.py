# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: safe XML parsing, the only XML parser of the collection. Breaking changes at any time.

``parse_xml`` reads depot metadata (errors are depot errors); ``parse_untrusted`` reads any other remote XML
(esxcli responses, ``vimServiceVersions.xml``) with the same refusals and reports failures as the caller's
error class (``VSphereError`` in the client).

VMware metadata (VIB descriptors, bulletins, image profiles, index files) never carries a DTD, so any document
with a ``<!DOCTYPE`` or ``<!ENTITY`` declaration is refused outright (``DepotSecurityError``): that stops
billion-laughs, external entities and external DTDs before the parser sees them. The parser itself is also
configured never to resolve entities, load a DTD or touch the network, and keeps libxml2's size limits
(``huge_tree=False``). Comments and processing instructions are dropped, so callers iterate elements only.
Malformed XML raises ``DepotFormatError`` naming the source and the line.
"""

from __future__ import annotations

import threading
from typing import Optional, Any, Type, Union, Iterable, Iterator, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    DepotFormatError, DepotSecurityError, FleetpatchError)

try:
    from lxml import etree as _etree
    LXML_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the controller
    import traceback as _tb
    _etree = None
    LXML_IMPORT_ERROR = _tb.format_exc()

MAX_XML_BYTES = 64 * 1024 * 1024
_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY")
_local = threading.local()


def require_lxml(source: Optional[str] = None) -> None:
    """Raise ``DepotError`` with install advice if lxml cannot be imported."""
    if _etree is None:
        from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotError
        raise DepotError("the Python library lxml is required to read depot metadata (pip install lxml)",
                         source=source, import_error=LXML_IMPORT_ERROR)


def _parser() -> Any:
    p = getattr(_local, "parser", None)
    if p is None:
        p = _etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             dtd_validation=False, remove_comments=True, remove_pis=True, collect_ids=False)
        _local.parser = p
    return p


def _declares_dtd(data: bytes) -> bool:
    """True if ``data`` holds a DOCTYPE/ENTITY declaration (also in UTF-16/32 encodings)."""
    for marker in _FORBIDDEN:
        if marker in data:
            return True
    head = data[:4]
    if b"\x00" in head or head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        for enc in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            try:
                text = data.decode(enc)
            except (UnicodeDecodeError, LookupError):
                continue
            if "<!DOCTYPE" in text or "<!ENTITY" in text:
                return True
    return False


_HTML_MSG = "an HTML page where XML was expected (a login page, proxy or error page?)"
_DTD_MSG = "XML with a DOCTYPE or ENTITY declaration refused (VMware metadata never has one; possible entity " \
           "expansion or external entity attack)"


def parse_xml(data: Union[bytes, str], source: Optional[str], max_bytes: Optional[int] = MAX_XML_BYTES,
              expect: Optional[str] = None) -> Any:
    """Parse ``data`` (bytes) into an lxml root element.

    ``source`` names the document in errors (file path, ``zip#member`` or redacted URL). ``expect`` is an
    optional root tag or tuple of tags; another root raises ``DepotFormatError``.
    """
    if _etree is None:
        require_lxml(source)
    if data.__class__ is not bytes:
        if data is None:
            raise DepotFormatError("empty XML document", source=source)
        data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if max_bytes is not None and len(data) > max_bytes:
        raise DepotSecurityError("XML document of %d bytes exceeds the limit of %d bytes" % (len(data), max_bytes),
                                 source=source)
    # "!" is rare in metadata and found with memchr; the 2-byte search is the slow one
    may_declare = b"!" in data and b"<!" in data
    if may_declare or data[:1] != b"<":
        if not data.strip():
            raise DepotFormatError("empty XML document", source=source)
        head = data[:256].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html")):
            raise DepotFormatError(_HTML_MSG, source=source)
        may_declare = True
    elif data[:5].lower() == b"<html":
        raise DepotFormatError(_HTML_MSG, source=source)
    if (may_declare or data.find(b"\x00", 0, 4) >= 0) and _declares_dtd(data):
        raise DepotSecurityError(_DTD_MSG, source=source)
    try:
        parser = _local.parser
    except AttributeError:
        parser = _parser()
    try:
        root = _etree.fromstring(data, parser)
    except _etree.XMLSyntaxError as e:
        line = getattr(e, "lineno", None)
        msg = getattr(e, "msg", None) or str(e)
        where = " at line %s" % line if line else ""
        raise DepotFormatError("malformed XML%s: %s" % (where, msg), source=source, line=line)
    except (ValueError, TypeError) as e:
        raise DepotFormatError("unreadable XML: %s" % e, source=source)
    if root is None:
        raise DepotFormatError("empty XML document", source=source)
    if may_declare:
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
            raise DepotSecurityError("XML with a DOCTYPE declaration refused", source=source)
    if expect is not None:
        tag = root.tag
        if tag != expect and (expect.__class__ is str or tag not in expect):
            tags = (expect,) if isinstance(expect, str) else tuple(expect)
            raise DepotFormatError("unexpected root element <%s> (expected %s)"
                                   % (tag, " or ".join("<%s>" % t for t in tags)), source=source)
    return root


def parse_untrusted(data: Optional[Union[str, bytes]], what: str, error: Type[FleetpatchError],
                    max_bytes: int = MAX_XML_BYTES) -> Any:
    """``parse_xml`` for remote XML that is not depot metadata: ``what`` names the document in messages and a
    refusal or a malformed document raises ``error`` (``"<what> refused: ..."``, ``"<what> is not well-formed XML
    (...)"``), chained to the depot error that ``parse_xml`` raised."""
    if data is None:
        raise error("empty %s" % what)
    try:
        return parse_xml(data, what, max_bytes)
    except DepotSecurityError as e:
        raise error("%s refused: %s" % (what, e.msg)) from e
    except DepotFormatError as e:
        raise error("%s is not well-formed XML (%s)" % (what, e.msg)) from e


def parse_many(docs: Iterable[Tuple[str, bytes]], expect: Any = None,
               max_bytes: Optional[int] = MAX_XML_BYTES) -> Iterator[Tuple[str, Any]]:
    """``(source, root)`` for each ``(source, bytes)`` of ``docs`` (``parse_xml`` one by one)."""
    for source, data in docs:
        yield source, parse_xml(data, source, max_bytes, expect)


def root_tag(data: bytes, source: str) -> str:
    """The root element's tag of ``data`` (safe parse)."""
    return parse_xml(data, source).tag


def element_to_dict(el: Any) -> Any:
    """Generic JSON-safe view of an element (for formats we have no real sample of, e.g. base images).

    Attributes become ``@name`` keys, text becomes ``#text`` (or the value itself for a leaf without
    attributes), repeated children become lists.
    """
    children = list(el)
    if not children and not el.attrib:
        return (el.text or "").strip()
    out = {}
    for k, v in el.attrib.items():
        out["@" + k] = v
    text = (el.text or "").strip()
    if text:
        out["#text"] = text
    for c in children:
        if not isinstance(c.tag, str):
            continue
        v = element_to_dict(c)
        if c.tag in out:
            if not isinstance(out[c.tag], list):
                out[c.tag] = [out[c.tag]]
            out[c.tag].append(v)
        else:
            out[c.tag] = v
    return out
