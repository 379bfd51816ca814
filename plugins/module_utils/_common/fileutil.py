# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: small file helpers shared by the caches, records, reports and depot builder. Breaking changes at any
time."""

from __future__ import annotations

import os
import tempfile
from typing import Optional, Union


def write_atomic(path: str, data: Union[bytes, str], mode: int = 0o600, prefix: Optional[str] = None) -> None:
    """Write ``data`` (bytes or str, UTF-8) to ``path`` through a temporary file in the same folder and an atomic
    rename, so that a reader never sees a half-written file. The folder must exist. ``mode`` is applied before
    the rename. OSError propagates (the temporary file is removed)."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix or ".%s." % os.path.basename(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
