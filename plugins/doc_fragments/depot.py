# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Depot options, from plugins/module_utils/_ansible/depot_argspec.py depot_argument_spec().
    DOCUMENTATION = r"""
options:
  depot:
    description:
      - One or more depot sources, merged in the order given (a later source wins when two define the same id).
      - "A local path to: an offline bundle zip (VMware layout with C(index.xml), C(vendor-index.xml),
        C(metadata.zip) and C(vib20/), or the V-Front layout with the VIB at the root); a zip that only wraps
        a bundle zip (unwrapped one level); a bare C(metadata.zip); a folder laid out like a metadata.zip
        (C(bulletins/), C(vibs/), C(profiles/)), including an ESXi host image database such as
        C(/var/db/esximg); a folder holding an unzipped offline bundle; a folder of bundle zips; or a
        standalone C(.vib)."
      - An C(http://) or C(https://) URL of an online depot index (C(index.xml), for example
        C(https://hostupdate.vmware.com/software/VUM/PRODUCTION/main/vmw-depot-index.xml)), of a
        C(vendor-index.xml), of a C(metadata.zip), of an offline bundle zip or of a C(.vib).
      - Download tokens and passwords inside URLs are never shown in results, messages or logs.
    type: list
    elements: str
    required: true
  product_line:
    description:
      - Only read the metadata that a C(vendor-index.xml) lists for this product line (for example V(embeddedEsx)).
      - By default every product line is read.
    type: str
  version:
    description:
      - Only read the metadata that a C(vendor-index.xml) lists for a platform version matching this ESXi
        version (for example V(8.0.3) matches entries for V(8.0), V(8.*) and V(8.0.3), not V(8.0.0)).
      - By default every version is read.
    type: str
  validate_certs:
    description:
      - Whether to verify the TLS certificate of an HTTPS depot.
      - Set to V(false) only for a trusted lab depot with a self-signed certificate.
    type: bool
    default: true
    aliases: [depot_validate_certs]
  proxy:
    description:
      - URL of an HTTP(S) proxy for depot downloads, for example V(http://proxy.example.com:3128).
      - By default the usual environment variables (C(https_proxy), C(no_proxy), ...) apply.
    type: str
  cache_dir:
    description:
      - Folder for the depot cache on the controller. Downloads are revalidated with ETag/Last-Modified
        (HTTP 304 reuses the cached copy) and parsed metadata is kept as JSON keyed by the sha256 of its
        content, so many hosts scanning one depot parse it once.
      - The folder is created with mode 0700 when missing. By default nothing is written to disk.
    type: path
  timeout:
    description:
      - Seconds to wait for an HTTP(S) depot to connect or to send data (each attempt; two retries are made
        on connection errors and server errors).
    type: int
    default: 30
"""

    # For modules that also take the connection options (fleetpatch.esxi.connection has validate_certs):
    # use depot_argument_spec(with_connection=True) and this fragment instead of the default one.
    CONNECTED = r"""
options:
  depot:
    description:
      - One or more depot sources, merged in the order given (a later source wins when two define the same id).
      - A local path to an offline bundle zip, a zip wrapping one, a C(metadata.zip), a metadata folder
        (including an ESXi host image database such as C(/var/db/esximg)), an unzipped bundle folder or a
        C(.vib); or an C(http://)/C(https://) URL of a depot index, C(vendor-index.xml), C(metadata.zip),
        bundle zip or C(.vib). See M(fleetpatch.esxi.esxi_depot_info) for details.
      - Download tokens and passwords inside URLs are never shown in results, messages or logs.
    type: list
    elements: str
    required: true
  product_line:
    description:
      - Only read the metadata that a C(vendor-index.xml) lists for this product line (for example V(embeddedEsx)).
    type: str
  version:
    description:
      - Only read the metadata that a C(vendor-index.xml) lists for a platform version matching this ESXi version.
    type: str
  depot_validate_certs:
    description:
      - Whether to verify the TLS certificate of an HTTPS depot.
    type: bool
    default: true
  proxy:
    description:
      - URL of an HTTP(S) proxy for depot downloads.
    type: str
  cache_dir:
    description:
      - Folder for the depot download and parse cache on the controller. By default nothing is written to disk.
    type: path
  timeout:
    description:
      - Seconds to wait for an HTTP(S) depot to connect or to send data (each attempt).
    type: int
    default: 30
"""
