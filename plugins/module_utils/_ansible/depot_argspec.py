# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the depot options shared by every module that reads a depot. Breaking changes at any time.

Documented by the ``fleetpatch.esxi.depot`` doc fragment; keep both in step.
"""

from __future__ import annotations

DEPOT_OPTIONS = ("depot", "product_line", "version", "validate_certs", "proxy", "cache_dir", "timeout")


def depot_argument_spec(with_connection=False):
    """A new dict with the depot options, to merge into a module's ``argument_spec``.

    ``validate_certs`` (alias ``depot_validate_certs``) checks the depot's TLS certificate. A module that also
    uses the connection options (which have their own ``validate_certs``) passes ``with_connection=True``: the
    depot option is then named ``depot_validate_certs`` (documented by ``fleetpatch.esxi.depot.CONNECTED``).
    """
    spec = dict(
        depot=dict(type="list", elements="str", required=True),
        product_line=dict(type="str"),
        version=dict(type="str"),
        validate_certs=dict(type="bool", default=True, aliases=["depot_validate_certs"]),
        proxy=dict(type="str"),
        cache_dir=dict(type="path"),
        timeout=dict(type="int", default=30),
    )
    if with_connection:
        spec.pop("validate_certs")
        spec["depot_validate_certs"] = dict(type="bool", default=True)
    return spec


def depot_params(params):
    """The keyword arguments of ``load_depot`` from a module's ``params``."""
    vc = params.get("depot_validate_certs")
    if vc is None:
        vc = params.get("validate_certs", True)
    return dict(sources=params["depot"], product_line=params.get("product_line"), version=params.get("version"),
                validate_certs=vc, proxy=params.get("proxy"), cache_dir=params.get("cache_dir"),
                timeout=params.get("timeout") or 30)
