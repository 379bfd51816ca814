# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the fast path for big VIB file lists, and the compact shared ``FileList``. Pure; no I/O.

esx-base lists about 4,900 files. Its ``<file-list>`` is cut out of the record as bytes (when provably plain
markup) and kept as ONE string; the rest of the record goes through the safe XML parser.
"""

from __future__ import annotations

import re
import weakref

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import FileList

# text of a file list -> its shared FileList (releases repeat most lists unchanged); weak, so a list lives only
# as long as a VIB that holds it
_FILE_LISTS: "weakref.WeakValueDictionary[str, FileList]" = weakref.WeakValueDictionary()
_MAX_FILE_LISTS = 20000
_NUL = "\x00"             # cannot occur in XML text: the separator of FileList texts built here


_FL_OPEN = b"<file-list>"
_FL_CLOSE = b"</file-list>"
_FL_ANY = b"<file-list"
_FL_SEP = "</file><file>"
FAST_FILE_LIST_MIN = 8192
_XML_BAD_BYTES = bytes(range(0, 9)) + b"\x0b\x0c" + bytes(range(14, 32))
_FL_PLAIN = bytes(c for c in range(256) if c != 0x3c and c not in _XML_BAD_BYTES)   # all but "<" and those
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9A-Fa-f]+|amp|lt|gt|quot|apos);")
_ENTITY_CHARS = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _unescape(text):
    if "&" not in text:
        return text
    if text.count("&") != len(_ENTITY.findall(text)):
        return None

    def repl(m):
        e = m.group(1)
        if e[0] == "#":
            return chr(int(e[2:], 16) if e[1] == "x" else int(e[1:]))
        return _ENTITY_CHARS[e]
    try:
        return _ENTITY.sub(repl, text)
    except (ValueError, OverflowError):
        return None


def split_file_list(data):
    """Fast path for big records (esx-base lists ~4,900 files): ``(data_with_empty_file_list, files)`` or None.

    Used only when the ``<file-list>`` segment is provably plain ``<file>text</file>`` markup (no comments,
    CDATA, nested markup, control characters or unknown entities) and occurs once; the rest of the document,
    with ``<file-list/>`` in its place, still goes through the safe parser, and ``parse_vib`` checks that the
    placeholder is a direct child of ``<vib>``. Anything else returns None and the normal path is used.
    """
    a = data.find(_FL_OPEN)
    if a < 0:
        return None
    # The close tag is looked for from the end (the list is most of the record, a forward search would scan
    # it once more). The segment is only accepted when the close tag is the one right after the list: any
    # earlier "</file-list>" lies inside the segment, and its "<" fails the separator count. Then the first
    # close tag is tried, as a forward search would have found it.
    b = data.rfind(_FL_CLOSE)
    out = _split_at(data, a, b)
    if out is None and b > a:
        first = data.find(_FL_CLOSE, a, b)
        if first >= 0:
            out = _split_at(data, a, first)
    return out


def _split_at(data, a, b):
    """``split_file_list`` for the ``<file-list>`` at ``a`` closed at ``b``."""
    if b < 0 or b - a < FAST_FILE_LIST_MIN or data.find(_FL_ANY, 0, a + len(_FL_ANY)) != a or data.find(_FL_ANY, b) >= 0:
        return None
    if b"!" in data and b"<!" in data:      # comments, CDATA, declarations: normal path
        return None
    start = a + len(_FL_OPEN)
    if not (data.startswith(b"<file>", start) and data.endswith(b"</file>", start, b)):
        return None
    if not _utf8_document(data):
        return None
    body = data[start + 6:b - 7]
    # only "<" and the bytes XML forbids survive: none of the latter, and every "<" in a separator
    marks = body.translate(None, _FL_PLAIN)
    if marks.count(b"<") != len(marks):
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # every "<" of the body must belong to a separator: then no part holds markup
    if len(marks) != 2 * text.count(_FL_SEP) or (b"]" in body and b"]]>" in body):
        return None
    if "&" in text:
        parts = [_unescape(x) for x in text.split(_FL_SEP)]
        if any(x is None for x in parts):
            return None
        files = file_list(parts)
    else:
        # kept as the one string it is, separators included (no split into thousands of small strings)
        files = _FILE_LISTS.get(text)
        if files is None:
            files = FileList(text, _FL_SEP)
            if len(_FILE_LISTS) < _MAX_FILE_LISTS:
                _FILE_LISTS[text] = files
    return data[:a] + b"<file-list/>" + data[b + len(_FL_CLOSE):], files


def file_list(paths):
    """A shared compact ``FileList`` of ``paths`` (``()`` when empty; empty paths dropped)."""
    paths = [x for x in paths if x]
    if not paths:
        return ()
    text = _NUL.join(paths)
    files = _FILE_LISTS.get(text)
    if files is None:
        files = FileList(text, _NUL)
        if len(_FILE_LISTS) < _MAX_FILE_LISTS:
            _FILE_LISTS[text] = files
    return files


_XML_DECL_ENCODING = re.compile(br"<\?xml[^>]*?\sencoding\s*=\s*[\"']([^\"']*)[\"']")


def _utf8_document(data):
    """True unless an XML declaration names an encoding other than UTF-8 (the fast path decodes UTF-8)."""
    head = data[3:] if data[:3] == b"\xef\xbb\xbf" else data
    if not head.startswith(b"<?xml"):
        return True
    end = head.find(b"?>")
    m = _XML_DECL_ENCODING.match(head, 0, end + 2 if end >= 0 else 0)
    return m is None or m.group(1).lower() in (b"utf-8", b"utf8")
