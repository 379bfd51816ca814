# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the old single-file home of patch scan and deploy, kept as a re-export for code that still imports it
(bench/bench_scan.py). New code imports the split modules:

- ``options``: argument-spec dicts and constants;
- ``scan``: ``RunContext`` and ``run_scan``;
- ``deploy`` (+ ``deploy_end``): ``HostDeploy`` and ``run_deploy``;
- ``statemachine``: the phases and the pure decisions; ``precheck``: the pure pre-checks;
- ``methods``: patch_manager vs esxcli step methods; ``hostlock``: the per-host lock and marker;
  ``cancel``: cancel and lost-controller handling; ``hostclient``: the client protocol.
Breaking changes at any time.
"""

from __future__ import annotations

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.deploy import run_deploy  # noqa: F401
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.options import (  # noqa: F401
    ENGINES, EVENT_PREFIX, MAINTENANCE_MODES, METHODS, REBOOT_MODES, RULESET, SCAN_MODES, VSAN_MODES, deploy_options,
    scan_options, selection_options)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.scan import run_scan  # noqa: F401

__all__ = ["ENGINES", "EVENT_PREFIX", "MAINTENANCE_MODES", "METHODS", "REBOOT_MODES", "RULESET", "SCAN_MODES",
           "VSAN_MODES", "deploy_options", "run_deploy", "run_scan", "scan_options", "selection_options"]
