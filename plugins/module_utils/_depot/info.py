# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the result of ``esxi_depot_info`` (moved out of the module). Breaking changes at any time."""

from __future__ import annotations

from typing import Any, Dict

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact_url


def depot_info(load_params: Dict[str, Any]) -> Dict[str, Any]:
    """The module result for the ``load_depot`` keyword arguments ``load_params``; raises ``DepotError``.

    Every URL in the result (metadata, VIB files, sources) is redacted.
    """
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot

    depot = load_depot(**load_params)
    vibs = [depot.vibs[k].to_dict() for k in sorted(depot.vibs)]
    for v in vibs:
        v.pop("source", None)
    components = []
    for b in depot.bulletins.values():
        if b.component:
            c = b.component.to_dict()
            c.update(bulletin_id=b.id, vendor=b.vendor, summary=b.summary, release_date=b.release_date,
                     vib_ids=list(b.vib_ids))
            components.append(c)
    components.sort(key=lambda c: (c["name"], c["version"]))
    return {
        "changed": False,
        "bulletins": [depot.bulletins[k].to_dict() for k in sorted(depot.bulletins)],
        "vibs": vibs,
        "profiles": [depot.profiles[k].to_dict() for k in sorted(depot.profiles)],
        "components": components,
        "base_images": depot.base_images,
        "addons": depot.addons,
        "counts": depot.counts(),
        "metadata": [dict(m.to_dict(), url=redact_url(m.url)) for m in depot.metadata],
        "vib_files": {k: redact_url(v) for k, v in sorted(depot.vib_files.items())},
        "depot_digest": depot.digest,
        "sources": [redact_url(s) for s in depot.sources],
        "depot_warnings": list(depot.warnings),
    }
