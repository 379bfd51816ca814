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
  session_cache:
    description:
      - Reuse the vCenter Server or ESXi session across module runs on the controller (an option of this
        collection, not of C(vmware.vmware)). Per-host tasks, such as the rolling remediation, then log in once
        per play instead of once per host and task.
      - The session is kept in a file of O(session_cache_dir), bound to the endpoint, the user and the password
        (another password never reuses it), encrypted, mode 0600, and never shown in results or logs. A cached
        session that vCenter or ESXi no longer knows is replaced by a new login.
      - With the cache a module run does not log out; log out at the end of the play with
        M(fleetpatch.esxi.vmware_session) and O(fleetpatch.esxi.vmware_session#module:state=absent).
      - If not set, the value of the E(FLEETPATCH_SESSION_CACHE) environment variable is used, then V(false)
        (every run logs in and out).
    type: bool
    default: false
  session_cache_dir:
    description:
      - The directory of the session cache (created with mode 0700; refused when it belongs to another user or is
        a symbolic link).
      - If not set, the value of the E(FLEETPATCH_SESSION_CACHE_DIR) environment variable is used, then
        C($XDG_RUNTIME_DIR/fleetpatch.esxi-sessions), then C(~/.cache/fleetpatch.esxi/sessions).
      - Ignored unless O(session_cache=true).
    type: path
  session_cache_ttl:
    description:
      - Seconds a cached session is used after its login; an older one is logged out and replaced.
      - If not set, the value of the E(FLEETPATCH_SESSION_CACHE_TTL) environment variable is used, then V(3600).
      - Ignored unless O(session_cache=true).
    type: int
    default: 3600
notes:
  - The connection options are named as in C(vmware.vmware), with the same environment variables. They can be
    set once for every module of this collection that connects with C(module_defaults) and the action group
    C(group/fleetpatch.esxi.vmware) (or C(group/fleetpatch.esxi.esxi), the same modules); one YAML anchor can
    feed C(group/vmware.vmware.vmware) as well.
"""
