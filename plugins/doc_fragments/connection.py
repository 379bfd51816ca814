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
  proxy_host:
    description:
      - Address of an HTTP proxy that relays all HTTPS requests to the vCenter Server or ESXi host (an HTTP
        C(CONNECT) tunnel; TLS still ends at vCenter or ESXi, so O(validate_certs) and O(ca_path) apply as usual).
      - The format is a host name or an IP address.
      - If not set, the value of the E(VMWARE_PROXY_HOST) environment variable is used. By default no proxy is
        used for vCenter Server or ESXi (the C(https_proxy) environment variable is not read for them).
      - Depot downloads have their own proxy option where the module reads a depot.
    type: str
  proxy_port:
    description:
      - Port of the HTTP proxy given in O(proxy_host).
      - If not set, the value of the E(VMWARE_PROXY_PORT) environment variable is used, then V(80).
    type: int
notes:
  - The connection options are named as in C(vmware.vmware), with the same environment variables. They can be
    set once for every module of this collection that connects with C(module_defaults) and the action group
    C(group/fleetpatch.esxi.vmware) (or C(group/fleetpatch.esxi.esxi), the same modules); one YAML anchor can
    feed C(group/vmware.vmware.vmware) as well.
"""
