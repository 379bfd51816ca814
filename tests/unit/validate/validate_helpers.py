# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the validation tests: paths of the real fixtures, model builders. Imported by the tests and conftest."""

from __future__ import annotations

import glob
import os
import zipfile

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import (
    Payload, Platform, Provide, Relation, Vib)

HERE = os.path.dirname(os.path.abspath(__file__))
REAL = os.path.normpath(os.path.join(HERE, "..", "..", "fixtures", "real"))
ESXIMG = os.path.join(REAL, "ljvblfz__ESXi", "var", "db", "esximg")
SCHEMAS = os.path.join(REAL, "ljvblfz__ESXi", "usr", "share", "esximage", "schemas")
EXT_RNG = os.path.join(SCHEMAS, "vib20-extensibility.rng")
TRUST = [os.path.join(REAL, "trust", "vmware.cert"), os.path.join(REAL, "trust", "vmpartner.cert")]
CRL = os.path.join(REAL, "trust", "vmpartner.crl")
WATCHDOG_VIB = os.path.join(REAL, "fangli__esxi-hardware-watchdog-driver", "hardware-watchdog.vib")
PROFILE = "ESXi-6.7.0-8169922-standard"
ESX_BASE_ID = "VMware_bootbank_esx-base_6.7.0-0.0.8169922"


def real_bundles():
    return sorted(glob.glob(os.path.join(REAL, "**", "*.zip"), recursive=True))


def real_vib_files():
    return sorted(glob.glob(os.path.join(REAL, "**", "*.vib"), recursive=True))


def extract_vib(zip_path, tmp_path, contains=".vib"):
    """Copy the (first) .vib member of a real bundle zip to ``tmp_path``; returns the new path."""
    with zipfile.ZipFile(zip_path) as zf:
        name = [n for n in zf.namelist() if n.endswith(".vib") and contains in n][0]
        out = os.path.join(str(tmp_path), os.path.basename(name))
        with open(out, "wb") as fh:
            fh.write(zf.read(name))
    return out


def signed_bundle(pattern):
    hits = [z for z in real_bundles() if pattern in z]
    assert hits, pattern
    return hits[0]


def mkvib(name, version="1.0-1", vendor="VMW", acceptance="certified", depends=(), conflicts=(), replaces=(),
          provides=(), platforms=(), files=(), maintenance=True, live_install=False, live_remove=False,
          overlay=False, payloads=(), vtype="bootbank"):
    """A Vib model; relations as ``"name"``, ``("name", rel, version)``; provides as ``"name"`` or ``(name, ver)``;
    platforms as ``(product_line, version)``."""
    def rel(r):
        return Relation(r) if isinstance(r, str) else Relation(*r)

    def prov(p):
        return Provide(p) if isinstance(p, str) else Provide(*p)

    return Vib(id=Vib.make_id(vendor, vtype, name, version), name=name, version=version, vendor=vendor, type=vtype,
               acceptance_level=acceptance, depends=tuple(rel(r) for r in depends),
               conflicts=tuple(rel(r) for r in conflicts), replaces=tuple(rel(r) for r in replaces),
               provides=tuple(prov(p) for p in provides), platforms=tuple(Platform(*p) for p in platforms),
               files=tuple(files), maintenance_mode_required=maintenance, live_install_allowed=live_install,
               live_remove_allowed=live_remove, overlay=overlay, payloads=tuple(payloads))


def esx_base(version="6.7.0-0.0.8169922", provides=("vmkapi_2_3_0_0",), **kw):
    base_ver = version.split("-")[0]
    return mkvib("esx-base", version, vendor="VMware",
                 provides=tuple(provides) + (("esx-version", version),), **kw), base_ver


__all__ = ["Payload", "Vib", "mkvib", "esx_base", "extract_vib", "signed_bundle", "real_bundles", "real_vib_files"]
