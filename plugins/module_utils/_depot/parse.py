# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the depot metadata readers, pure (bytes -> models). Breaking changes at any time.

One import point for the readers in ``_depot/parsing/``: ``core`` (bulletins, VIBs, image profiles, components),
``filelist`` (the fast file-list path) and ``legacy`` (vmware.xml, index.xml, vendor-index.xml, generic XML)."""

from __future__ import annotations

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.parsing.core import (  # noqa: F401 pylint: disable=unused-import
    normalize_date, platform, relation, provide, parse_vib_bytes, parse_vib, parse_bulletin, parse_profile)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.parsing.filelist import (  # noqa: F401 pylint: disable=unused-import
    FAST_FILE_LIST_MIN, split_file_list, file_list)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.parsing.legacy import (  # noqa: F401 pylint: disable=unused-import
    parse_vmware_xml, parse_index, parse_vendor_index, parse_generic, generic_name)
