# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the compliance report's public entry points, in one import. Breaking changes at any time.

The code lives in ``model.py`` (scan results -> report), ``render.py`` (JSON, JUnit XML, HTML) and ``write.py``
(files, locking, the module entry point); this module only names what callers use.
"""

from __future__ import annotations

__all__ = ["EXTENSIONS", "FORMATS", "RENDERERS", "STATUSES", "build_report", "compliance_report", "existing_digest",
           "minimum_build_for", "render_html", "render_json", "render_junit", "report_digest", "report_paths",
           "result_view", "summary_lines", "write_reports"]

from ansible_collections.fleetpatch.esxi.plugins.module_utils._report.model import (  # noqa: F401
    EXTENSIONS, FORMATS, STATUSES, build_report, minimum_build_for, report_digest, result_view, summary_lines)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._report.render import (  # noqa: F401
    RENDERERS, render_html, render_json, render_junit)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._report.write import (  # noqa: F401
    compliance_report, existing_digest, report_paths, write_reports)
