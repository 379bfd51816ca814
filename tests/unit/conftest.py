# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests import their helper modules by plain name (``from validate_helpers import ...``). Plain pytest finds
them because it puts each test file's folder on ``sys.path`` (rootdir-relative "prepend" import mode);
``ansible-test units`` loads test files through Ansible's collection loader instead, which does not. Putting the
folders of the unit tests on ``sys.path`` here makes both runners import the same helpers the same way."""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
for _name in sorted(os.listdir(_HERE)):
    _path = os.path.join(_HERE, _name)
    if os.path.isdir(_path) and not _name.startswith((".", "_")) and _path not in sys.path:
        sys.path.append(_path)
