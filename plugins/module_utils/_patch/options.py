# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: options and constants of patch scan and deploy (plain argument-spec dicts; the modules merge them with
the connection, target and depot specs). Breaking changes at any time."""

from __future__ import annotations

from typing import Any, Dict

ENGINES = ("auto", "controller", "host")
METHODS = ("patch_manager", "esxcli")
MAINTENANCE_MODES = ("auto", "require", "never")
REBOOT_MODES = ("auto", "always", "never")
SCAN_MODES = ("always", "record")
VSAN_MODES = ("ensureObjectAccessibility", "evacuateAllData", "noAction")
EVENT_PREFIX = "fleetpatch.esxi"
RULESET = "httpClient"

# finite defaults (seconds): entering maintenance mode (VMs must evacuate) and waiting for a reboot
MAINTENANCE_MODE_TIMEOUT = 1800
REBOOT_TIMEOUT = 1800
# how long a deploy waits for another run's lock on a host before it fails naming that run
LOCK_TIMEOUT = 600


def selection_options() -> Dict[str, Any]:
    return dict(
        bulletins=dict(type="list", elements="str"),
        severity=dict(type="list", elements="str"),
        category=dict(type="list", elements="str"),
        released_after=dict(type="str"),
        released_before=dict(type="str"),
        exclude=dict(type="list", elements="str", default=[]),
        profile=dict(type="str"),
    )


def scan_options() -> Dict[str, Any]:
    return dict(
        engine=dict(type="str", default="auto", choices=list(ENGINES)),
        depot_url=dict(type="list", elements="str"),
        manage_firewall=dict(type="bool", default=True),
        scan_record_dir=dict(type="path"),
        scan_workers=dict(type="int", default=64),
    )


def deploy_options() -> Dict[str, Any]:
    return dict(
        method=dict(type="str", default="patch_manager", choices=list(METHODS)),
        scan=dict(type="str", default="always", choices=list(SCAN_MODES)),
        stage_only=dict(type="bool", default=False),
        maintenance_mode=dict(type="str", default="auto", choices=list(MAINTENANCE_MODES)),
        keep_maintenance_mode=dict(type="bool", default=False),
        evacuate_powered_off_vms=dict(type="bool", default=False),
        maintenance_mode_timeout=dict(type="int", default=MAINTENANCE_MODE_TIMEOUT),
        vsan_mode=dict(type="str", choices=list(VSAN_MODES)),
        exit_maintenance_on_failure=dict(type="bool", default=False),
        reboot=dict(type="str", default="auto", choices=list(REBOOT_MODES)),
        reboot_timeout=dict(type="int", default=REBOOT_TIMEOUT),
        allow_acceptance_change=dict(type="bool", default=False),
        allow_removal=dict(type="bool", default=False),
        allow_image_drift=dict(type="bool", default=False),
        lock_timeout=dict(type="int", default=LOCK_TIMEOUT),
        run_id=dict(type="str"),
        state_dir=dict(type="path"),
    )
