# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options, from plugins/module_utils/_ansible/argspec.py connection_argument_spec().
    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - The host name or IP address of the vCenter Server or standalone ESXi host to connect to.
      - If not set, the value of the E(VMWARE_HOST) environment variable is used.
    type: str
  username:
    description:
      - The user name for the vCenter Server or ESXi host.
      - If not set, the value of the E(VMWARE_USER) environment variable is used.
    type: str
    aliases: [admin, user]
  password:
    description:
      - The password of O(username).
      - If not set, the value of the E(VMWARE_PASSWORD) environment variable is used.
      - Never shown in results or logs.
    type: str
    aliases: [pass, pwd]
  port:
    description:
      - The HTTPS port of the vCenter Server or ESXi host.
      - If not set, the value of the E(VMWARE_PORT) environment variable is used, then V(443).
    type: int
    default: 443
  validate_certs:
    description:
      - Whether to verify the TLS certificate of the vCenter Server or ESXi host.
      - Set to V(false) only for lab hosts with self-signed certificates.
      - If not set, the value of the E(VMWARE_VALIDATE_CERTS) environment variable is used, then V(true).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file or directory of CA certificates to validate the vCenter Server or ESXi certificate with,
        for private certificate authorities.
      - If not set, the value of the E(VMWARE_CA_PATH) environment variable is used, then E(REQUESTS_CA_BUNDLE),
        E(SSL_CERT_FILE) and the system trust store.
      - Ignored when O(validate_certs=false).
    type: path
notes:
  - The connection options can be set once for all modules of this collection with
    C(module_defaults) and the group C(group/fleetpatch.esxi.esxi).
"""

    # For modules that do not connect (depot, validation, report modules): the options exist only so that
    # module_defaults for group/fleetpatch.esxi.esxi, which usually sets them, apply to every module.
    UNUSED = r"""
options:
  hostname:
    description:
      - Not used by this module, which does not connect to vCenter Server or ESXi.
      - Accepted so that C(module_defaults) for C(group/fleetpatch.esxi.esxi) can set the connection options once
        for every module of the collection.
      - Where this module has a O(validate_certs) option of its own, it is about the depot's HTTPS certificate, and
        a group default for C(validate_certs) applies to it as well.
    type: str
  username:
    description:
      - Not used by this module; see O(hostname).
    type: str
    aliases: [user, admin]
  password:
    description:
      - Not used by this module; see O(hostname).
    type: str
    aliases: [pass, pwd]
  port:
    description:
      - Not used by this module; see O(hostname).
    type: int
  ca_path:
    description:
      - Not used by this module; see O(hostname).
    type: path
"""

    UNUSED_VALIDATE_CERTS = r"""
options:
  validate_certs:
    description:
      - Not used by this module, which does not connect to vCenter Server or ESXi; see O(hostname).
    type: bool
"""
