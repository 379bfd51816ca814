# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: esxcli over the vSphere API (``ReflectManagedMethodExecuter.ExecuteSoap``). Breaking changes at any time.

The mechanism is the one ``govc host.esxcli`` and PowerCLI ``Get-EsxCli -V2`` use; it works on ESXi directly
and through vCenter:

1. ``HostSystem.RetrieveManagedMethodExecuter`` returns the host's executer (public pyVmomi wheels lack this
   method and the ``vmodl.reflect`` types, so ``declare_reflect_types()`` declares them at run time, once per
   process, and the method is invoked with a hand-built method info);
2. ``ExecuteSoap(moid="ha-cli-handler-<ns-with-dashes>", version="urn:vim25/5.0",
   method="vim.EsxCLI.<ns>.<cmd>", argument=[{name, val="<name>value</name>"...}])``; values are XML-escaped;
3. the answer is an XML document (``<obj xsi:type=...>``) parsed *generically* by ``parse_document()`` into
   str/int/bool, dicts and lists, or a CLI fault turned into ``EsxcliError`` with the CLI message
   (``[NoMatchError] ...``).

The documents are remote input: ``safe_fromstring()`` (``_common.safexml``) refuses DTDs/entities.
The pure helpers (``parse_document``, ``parse_cli_fault``, ``build_arguments``, ``esxcli_vib_to_vib`` ...) need
no pyVmomi and are unit-tested with real esxcli documents.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple, Any, Union
from xml.sax.saxutils import escape as _xml_escape

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    EsxcliError, InputError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.safexml import parse_untrusted
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vibversion import normalize_relation
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import (
    ACCEPTANCE_ESXCLI_NAMES, Payload, Provide, Relation, Vib, normalize_acceptance)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import (
    HAS_PYVMOMI, require_pyvmomi, translate)

if TYPE_CHECKING:
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host import Host

if HAS_PYVMOMI:
    from pyVmomi import VmomiSupport
    from pyVmomi.VmomiSupport import F_OPTIONAL
else:  # pragma: no cover
    VmomiSupport = None  # type: ignore[assignment]
    F_OPTIONAL = 1

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
ESXCLI_VERSION = "urn:vim25/5.0"
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
_REFLECT_VERSION = "vim.version.version7"   # keeps the declared types in urn:vim25, as govmomi sends them

# Long-running commands: the HTTP request stays open until esxcli finishes.
LONG_COMMANDS = ("software vib install", "software vib update", "software vib remove", "software profile update",
                 "software profile install", "software component apply", "software component remove")


# ---- safe XML -----------------------------------------------------------------------------------

def safe_fromstring(text: Optional[Union[str, bytes]], what: str = "esxcli response") -> Any:
    """Parse a remote esxcli document with the collection's one safe XML parser (``_common.safexml``): DTDs,
    entities and oversize input refused, malformed XML a ``VSphereError`` naming ``what``."""
    return parse_untrusted(text, what, VSphereError, MAX_DOCUMENT_BYTES)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


# ---- generic document parsing -------------------------------------------------------------------

_INT_TYPES = ("long", "int", "integer", "short", "byte", "unsignedLong", "unsignedInt", "unsignedShort",
              "unsignedByte", "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger")
_FLOAT_TYPES = ("double", "float", "decimal")


def _scalar(text: Optional[str], xsd_type: str) -> Any:
    text = text if text is not None else ""
    if xsd_type == "boolean":
        low = text.strip().lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        return text
    if xsd_type in _INT_TYPES:
        try:
            return int(text.strip())
        except ValueError:
            return text
    if xsd_type in _FLOAT_TYPES:
        try:
            return float(text.strip())
        except ValueError:
            return text
    return text


def _value(el: Any, root: bool = False) -> Any:
    xtype = el.get(XSI_TYPE, "")
    local_type = xtype.split(":", 1)[-1]
    children = list(el)
    if xtype.startswith("xsd:"):
        return _scalar(el.text, local_type)
    if local_type.startswith("ArrayOf"):
        return [_value(c) for c in children]
    if children or root or (xtype and not xtype.startswith("xsd:")):
        return _struct(el)
    return el.text if el.text is not None else ""


def _struct(el: Any) -> Dict[str, Any]:
    out: Dict[Any, Any] = {}
    repeated = set()
    for child in el:
        key = _local(child.tag)
        val = _value(child)
        if key in out:
            if key not in repeated:
                out[key] = [out[key]]
                repeated.add(key)
            out[key].append(val)
        else:
            out[key] = val
    return out


def parse_document(text: Optional[str]) -> Any:
    """Parse an esxcli response document into plain Python data.

    ``xsi:type="xsd:*"`` -> str/int/float/bool; ``ArrayOf*`` -> list; any other type (a data object) -> dict
    whose keys are the element names; an element that repeats becomes a list; nested data objects become
    nested dicts. ``xsi:type`` names of data objects are ignored (they differ between ESXi versions).
    Empty or missing documents give ``None``.
    """
    if text is None or not str(text).strip():
        return None
    return _value(safe_fromstring(text), root=True)


def as_list(value: Any) -> List[Any]:
    """``None`` -> [], a list stays, anything else -> [value] (esxcli repeats elements for list fields)."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


_ERR_CLASS = re.compile(r"\[([A-Za-z][A-Za-z0-9_]*)\]")


def parse_cli_fault(fault_msg: Optional[str], fault_detail: Optional[str]) -> Tuple[str, Optional[str]]:
    """(message, error_class) of an ExecuteSoap fault.

    The message is the CLI's own text: the ``errMsg`` elements of the fault detail joined by spaces
    (``[NoMatchError] id = foo``); the generic ``faultMsg`` (``EsxCLI.CLIFault.summary``) only when the detail
    has none. ``error_class`` is the bracketed class name (``NoMatchError``) or ``None``."""
    msgs = []
    if fault_detail and str(fault_detail).strip():
        try:
            root = safe_fromstring(fault_detail, "esxcli fault detail")
            for el in root.iter():
                if _local(el.tag) in ("errMsg", "errorMsg") and el.text and el.text.strip():
                    msgs.append(el.text.strip())
            if not msgs:
                texts = [t.strip() for t in root.itertext() if t and t.strip()]
                msgs = texts[:5]
        except VSphereError:
            stripped = re.sub(r"<[^>]*>", " ", str(fault_detail))
            msgs = [" ".join(stripped.split())] if stripped.strip() else []
    message = " ".join(msgs) or (fault_msg or "esxcli command failed")
    m = _ERR_CLASS.search(message)
    return message, (m.group(1) if m else None)


# ---- request building ---------------------------------------------------------------------------

def command_parts(command: Union[List[str], str]) -> Tuple[str, str]:
    """``"software vib list"`` -> (moid, method): ``ha-cli-handler-software-vib``, ``vim.EsxCLI.software.vib.list``."""
    words = command.split() if isinstance(command, str) else list(command)
    if len(words) < 2 or not all(re.match(r"^[A-Za-z][A-Za-z0-9]*$", w) for w in words):
        raise InputError("invalid esxcli command %r (expected words such as 'software vib list')" % (command,))
    return "ha-cli-handler-" + "-".join(words[:-1]), "vim.EsxCLI." + ".".join(words)


def param_name(name: str) -> str:
    """Python keyword -> esxcli parameter name: ``rebooting_image`` / ``rebooting-image`` -> ``rebootingimage``."""
    return name.replace("_", "").replace("-", "")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_arguments(args: Dict[str, Any]) -> List[Any]:
    """[(name, val)] for ExecuteSoap: one argument per parameter, ``val`` = ``<name>v</name>`` per value.

    Values are XML-escaped; booleans become ``true``/``false``; lists/tuples repeat the element; ``None``
    (and ``False`` for flags the caller leaves unset) are left out only when ``None``."""
    out = []
    for key in sorted(args):
        value = args[key]
        if value is None:
            continue
        name = param_name(key)
        if not re.match(r"^[A-Za-z][A-Za-z0-9]*$", name):
            raise InputError("invalid esxcli parameter name %r" % (key,))
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        out.append((name, "".join("<%s>%s</%s>" % (name, _xml_escape(_text(v)), name) for v in values)))
    return out


# ---- record normalisation ----------------------------------------------------------------------

_REL = re.compile(r"^\s*(\S+?)\s*(<<|<=|>=|>>|=|<|>)\s*(\S+)\s*$")


def parse_relation(text: str) -> Relation:
    """``"esx-version >= 5.0.0"`` -> Relation(esx-version, >=, 5.0.0); ``"vmkapi_2_11_0_0"`` -> Relation(name)."""
    text = (text or "").strip()
    m = _REL.match(text)
    if m:
        return Relation(m.group(1), normalize_relation(m.group(2)), m.group(3))
    return Relation(text)


def parse_provide(text: str) -> Provide:
    text = (text or "").strip()
    m = _REL.match(text)
    if m and m.group(2) == "=":
        return Provide(m.group(1), m.group(3))
    return Provide(text)


def parse_bool(value: Optional[str], default: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return default
    return str(value).strip().lower() in ("true", "1", "yes")


def _norm_acceptance(value: Optional[str]) -> Optional[str]:
    try:
        return normalize_acceptance(value) if value else None
    except ValueError:
        return str(value)


def _vib_type_from_id(vib_id: Optional[str], vendor: str, name: str, version: str) -> Optional[str]:
    if vib_id and vendor and name and version:
        head, tail = vendor + "_", "_%s_%s" % (name, version)
        if vib_id.startswith(head) and vib_id.endswith(tail) and len(vib_id) > len(head) + len(tail):
            return vib_id[len(head):-len(tail)]
    return None


def esxcli_vib_to_vib(rec: Dict[str, Any]) -> Vib:
    """A ``software vib list|get`` record (field names as esxcli prints them) -> ``_models.Vib``."""
    name = rec.get("Name") or ""
    version = rec.get("Version") or ""
    vendor = rec.get("Vendor") or ""
    vib_type = rec.get("Type") or _vib_type_from_id(rec.get("ID"), vendor, name, version) or "bootbank"
    vib_id = rec.get("ID") or Vib.make_id(vendor, vib_type, name, version)
    return Vib(
        id=vib_id, name=name, version=version, vendor=vendor, type=vib_type,
        acceptance_level=_norm_acceptance(rec.get("AcceptanceLevel")) or "community",
        summary=rec.get("Summary") or "", description=rec.get("Description") or "",
        release_date=rec.get("ReleaseDate") or rec.get("CreationDate") or None,
        depends=tuple(parse_relation(x) for x in as_list(rec.get("Depends")) if x),
        conflicts=tuple(parse_relation(x) for x in as_list(rec.get("Conflicts")) if x),
        replaces=tuple(parse_relation(x) for x in as_list(rec.get("Replaces")) if x),
        provides=tuple(parse_provide(x) for x in as_list(rec.get("Provides")) if x),
        maintenance_mode_required=parse_bool(rec.get("MaintenanceModeRequired"), True),
        live_install_allowed=parse_bool(rec.get("LiveInstallAllowed")),
        live_remove_allowed=parse_bool(rec.get("LiveRemoveAllowed")),
        stateless_ready=parse_bool(rec.get("StatelessReady")),
        overlay=parse_bool(rec.get("Overlay")),
        hw_platforms=tuple({"vendor": x} for x in as_list(rec.get("HardwarePlatformsRequired")) if x),
        payloads=tuple(Payload(name=x, type="") for x in as_list(rec.get("Payloads")) if x),
        tags=tuple(x for x in as_list(rec.get("Tags")) if x),
        install_date=rec.get("InstallDate") or None,
    )


def esxcli_vib_dict(rec: Dict[str, Any]) -> Dict[str, Any]:
    """A ``software vib list|get`` record -> ``Vib.to_dict()`` shape plus ``creation_date``/``status``/``platforms``."""
    d = esxcli_vib_to_vib(rec).to_dict()
    d["creation_date"] = rec.get("CreationDate") or None
    d["status"] = rec.get("Status") or None
    d["esxcli_platforms"] = as_list(rec.get("Platforms"))
    return d


def acceptance_for_esxcli(level: str) -> str:
    """Our normalized name (or any alias) -> what ``esxcli software acceptance set --level`` expects."""
    try:
        return ACCEPTANCE_ESXCLI_NAMES[normalize_acceptance(level)]
    except ValueError as exc:
        raise InputError(str(exc))


# ---- pyVmomi plumbing ---------------------------------------------------------------------------

def declare_reflect_types() -> Tuple[Any, Any]:
    """Declare the 4 ``vmodl.reflect`` types public pyVmomi lacks. Idempotent; returns (executer, argument)."""
    require_pyvmomi()
    try:
        mme = VmomiSupport.GetVmodlType("vmodl.reflect.ManagedMethodExecuter")
        arg = VmomiSupport.GetVmodlType("vmodl.reflect.ManagedMethodExecuter.SoapArgument")
        return mme, arg
    except (AttributeError, KeyError, NameError, TypeError):
        pass
    v = _REFLECT_VERSION
    VmomiSupport.CreateDataType(
        "vmodl.reflect.ManagedMethodExecuter.SoapArgument", "ReflectManagedMethodExecuterSoapArgument",
        "vmodl.DynamicData", v, [("name", "string", v, 0), ("val", "string", v, 0)])
    VmomiSupport.CreateDataType(
        "vmodl.reflect.ManagedMethodExecuter.SoapFault", "ReflectManagedMethodExecuterSoapFault",
        "vmodl.DynamicData", v, [("faultMsg", "string", v, 0), ("faultDetail", "string", v, F_OPTIONAL)])
    VmomiSupport.CreateDataType(
        "vmodl.reflect.ManagedMethodExecuter.SoapResult", "ReflectManagedMethodExecuterSoapResult",
        "vmodl.DynamicData", v, [("response", "string", v, F_OPTIONAL),
                                 ("fault", "vmodl.reflect.ManagedMethodExecuter.SoapFault", v, F_OPTIONAL)])
    VmomiSupport.CreateManagedType(
        "vmodl.reflect.ManagedMethodExecuter", "ReflectManagedMethodExecuter", "vmodl.ManagedObject", v, None,
        [("executeSoap", "ExecuteSoap", v,
          (("moid", "string", v, 0, None), ("version", "string", v, 0, None), ("method", "string", v, 0, None),
           ("argument", "vmodl.reflect.ManagedMethodExecuter.SoapArgument[]", v, F_OPTIONAL, None)),
          (F_OPTIONAL, "vmodl.reflect.ManagedMethodExecuter.SoapResult",
           "vmodl.reflect.ManagedMethodExecuter.SoapResult"), None, None)])
    return (VmomiSupport.GetVmodlType("vmodl.reflect.ManagedMethodExecuter"),
            VmomiSupport.GetVmodlType("vmodl.reflect.ManagedMethodExecuter.SoapArgument"))


def retrieve_method_executer(host_mo) -> Any:
    """``HostSystem.RetrieveManagedMethodExecuter`` through a hand-built method info (pyVmomi object)."""
    mme_type, _arg = declare_reflect_types()
    stub = host_mo._stub
    info = VmomiSupport.Object(
        name="RetrieveManagedMethodExecuter", typeName="vim.HostSystem", wsdlName="RetrieveManagedMethodExecuter",
        version=stub.version, params=(), isTask=False, resultFlags=F_OPTIONAL, result=mme_type,
        methodResult=mme_type, type=VmomiSupport.GetVmodlType("vim.HostSystem"), privId="System.Read", faults=[])
    return stub.InvokeMethod(host_mo, info, ())


class Esxcli(object):
    """esxcli for the hosts of one ``VSphereClient``.

    ``run(host, "software vib list", rebooting_image=True)`` returns parsed data; the wrappers below return
    normalized dicts. ``host`` is a ``_vsphere.Host`` handle (or a host name the client can find).
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._executers: Dict[Any, Any] = {}

    def _executer(self, host: Host) -> Any:
        key = (self.client.generation, host.moid)
        mme = self._executers.get(key)
        if mme is None:
            try:
                mme = retrieve_method_executer(host._mo)
            except Exception as exc:
                raise translate(exc, host=host.label, action="esxcli (RetrieveManagedMethodExecuter)",
                                endpoint=self.client.endpoint)
            if mme is None:
                raise VSphereError("esxcli is not available: RetrieveManagedMethodExecuter returned nothing",
                                   host=host.label)
            self._executers[key] = mme
        return mme

    def run(self, host: Host, command: str, timeout: Optional[Any] = None, **args) -> Any:
        """Run ``esxcli <command> --arg=value ...`` on ``host``; return the parsed document (see ``parse_document``).

        Raises ``EsxcliError`` for CLI faults (``error_class`` in details), ``VSphereError`` subclasses for
        transport/SOAP faults. ``timeout`` (seconds) bounds the HTTP request; long commands default to the
        client's ``long_timeout``."""
        host = self.client.host(host)
        moid, method = command_parts(command)
        cmd_text = " ".join(command.split()) if isinstance(command, str) else " ".join(command)
        _mme_type, arg_type = declare_reflect_types()
        arguments = [arg_type(name=n, val=v) for n, v in build_arguments(args)]
        if timeout is None and cmd_text in LONG_COMMANDS:
            timeout = self.client.long_timeout
        mme = self._executer(host)
        try:
            with self.client.request_timeout(timeout):
                result = mme.ExecuteSoap(moid=moid, version=ESXCLI_VERSION, method=method, argument=arguments)
        except Exception as exc:
            raise translate(exc, host=host.label, action="esxcli %s" % cmd_text, endpoint=self.client.endpoint,
                            secrets=self.client.secrets)
        if result is None:
            return None
        fault = getattr(result, "fault", None)
        if fault is not None:
            message, error_class = parse_cli_fault(getattr(fault, "faultMsg", None),
                                                   getattr(fault, "faultDetail", None))
            raise EsxcliError("esxcli %s: %s" % (cmd_text, message), host=host.label, command=cmd_text,
                              error_class=error_class, fault_msg=getattr(fault, "faultMsg", None))
        try:
            return parse_document(getattr(result, "response", None))
        except VSphereError as exc:
            raise EsxcliError("esxcli %s: %s" % (cmd_text, exc.msg), host=host.label, command=cmd_text)

    # ---- software vib ----------------------------------------------------------------------------
    def vib_list(self, host: Host, rebooting_image: bool = False) -> List[Any]:
        """Installed VIBs (or those of the image after the pending reboot) as ``Vib.to_dict()``-shaped dicts."""
        data = self.run(host, "software vib list", rebootingimage=True if rebooting_image else None)
        return [esxcli_vib_dict(r) for r in as_list(data) if isinstance(r, dict)]

    def vib_get(self, host: Host, vibname: Optional[str] = None, rebooting_image: bool = False) -> List[Dict[str, Any]]:
        """Full records of one VIB (``vibname``: name or id, list allowed) or of all VIBs."""
        data = self.run(host, "software vib get", vibname=vibname,
                        rebootingimage=True if rebooting_image else None)
        return [esxcli_vib_dict(r) for r in as_list(data) if isinstance(r, dict)]

    def _install_like(self, host: Host, command: str, depot: Optional[List[str]] = None,
                      viburl: Optional[List[str]] = None, vibname: Optional[Any] = None, dryrun: bool = False,
                      maintenancemode: bool = False, noliveinstall: bool = False, nosigcheck: bool = False,
                      force: bool = False, proxy: Optional[Any] = None,
                      timeout: Optional[Any] = None) -> Dict[str, Any]:
        if not (depot or viburl):
            raise InputError("esxcli %s needs depot or viburl" % command)
        data = self.run(host, command, timeout=timeout, depot=depot, viburl=viburl, vibname=vibname,
                        proxy=proxy, dryrun=True if dryrun else None,
                        maintenancemode=True if maintenancemode else None,
                        noliveinstall=True if noliveinstall else None, nosigcheck=True if nosigcheck else None,
                        force=True if force else None)
        return install_result(data)

    def vib_install(self, host: Host, depot: Optional[List[str]] = None, viburl: Optional[List[str]] = None,
                    vibname: Optional[Any] = None, dryrun: bool = False, maintenancemode: bool = False,
                    noliveinstall: bool = False, nosigcheck: bool = False, force: bool = False, proxy: Optional[Any] = None,
                    timeout: Optional[Any] = None) -> Dict[str, Any]:
        """``esxcli software vib install``; returns ``install_result()``."""
        return self._install_like(host, "software vib install", depot, viburl, vibname, dryrun, maintenancemode,
                                  noliveinstall, nosigcheck, force, proxy, timeout)

    def vib_update(self, host: Host, depot: Optional[List[str]] = None, viburl: Optional[Any] = None, vibname: Optional[Any] = None,
                   dryrun: bool = False, maintenancemode: bool = False,
                   noliveinstall: bool = False, nosigcheck: bool = False, force: bool = False, proxy: Optional[Any] = None,
                   timeout: Optional[Any] = None) -> Dict[str, Any]:
        """``esxcli software vib update``; returns ``install_result()``."""
        return self._install_like(host, "software vib update", depot, viburl, vibname, dryrun, maintenancemode,
                                  noliveinstall, nosigcheck, force, proxy, timeout)

    def vib_remove(self, host: Host, vibname: str, dryrun: bool = False, maintenancemode: bool = False,
                   noliveinstall: bool = False, force: bool = False,
                   timeout: Optional[Any] = None) -> Dict[str, Any]:
        """``esxcli software vib remove --vibname ...``; returns ``install_result()``."""
        if not vibname:
            raise InputError("esxcli software vib remove needs vibname")
        data = self.run(host, "software vib remove", timeout=timeout, vibname=vibname,
                        dryrun=True if dryrun else None, maintenancemode=True if maintenancemode else None,
                        noliveinstall=True if noliveinstall else None, force=True if force else None)
        return install_result(data)

    def sources_vib_list(self, host: Host, depot: List[str], proxy: Optional[Any] = None) -> List[Dict[str, Any]]:
        """VIBs of a depot as the HOST sees it (``esxcli software sources vib list --depot``)."""
        data = self.run(host, "software sources vib list", depot=depot, proxy=proxy)
        return [esxcli_vib_dict(r) for r in as_list(data) if isinstance(r, dict)]

    def sources_profile_list(self, host: Host, depot: List[str], proxy: Optional[Any] = None) -> List[Dict[str, Any]]:
        """Image profiles of a depot (``esxcli software sources profile list --depot``)."""
        data = self.run(host, "software sources profile list", depot=depot, proxy=proxy)
        return [{"name": r.get("Name"), "vendor": r.get("Vendor"),
                 "acceptance_level": _norm_acceptance(r.get("AcceptanceLevel")),
                 "creation_time": r.get("CreationTime"), "modification_time": r.get("ModificationTime")}
                for r in as_list(data) if isinstance(r, dict)]

    # ---- software profile / acceptance ----------------------------------------------------------
    def profile_get(self, host: Host, rebooting_image: bool = False) -> Dict[str, Any]:
        """The host's image profile: {name, vendor, acceptance_level, vib_ids, ...raw fields}."""
        data = self.run(host, "software profile get", rebootingimage=True if rebooting_image else None)
        data = data if isinstance(data, dict) else {}
        return {
            "name": data.get("Name"), "vendor": data.get("Vendor"),
            "acceptance_level": _norm_acceptance(data.get("AcceptanceLevel")),
            "creation_time": data.get("CreationTime"), "modification_time": data.get("ModificationTime"),
            "stateless_ready": parse_bool(data.get("StatelessReady")) if "StatelessReady" in data else None,
            "description": data.get("Description"),
            "vib_ids": [x for x in as_list(data.get("VIBs")) if x],
        }

    def profile_update(self, host: Host, depot: List[str], profile: str, dryrun: bool = False,
                       maintenancemode: bool = False, noliveinstall: bool = False,
                       nosigcheck: bool = False, allowdowngrades: bool = False, nohardwarewarning: bool = False,
                       force: bool = False, proxy: Optional[Any] = None,
                       timeout: Optional[Any] = None) -> Dict[str, Any]:
        """``esxcli software profile update --depot --profile``; returns ``install_result()``."""
        if not depot or not profile:
            raise InputError("esxcli software profile update needs depot and profile")
        data = self.run(host, "software profile update", timeout=timeout, depot=depot, profile=profile, proxy=proxy,
                        dryrun=True if dryrun else None, maintenancemode=True if maintenancemode else None,
                        noliveinstall=True if noliveinstall else None, nosigcheck=True if nosigcheck else None,
                        allowdowngrades=True if allowdowngrades else None,
                        nohardwarewarning=True if nohardwarewarning else None, force=True if force else None)
        return install_result(data)

    def acceptance_get(self, host: Host) -> Optional[str]:
        """The host acceptance level, normalized (certified/accepted/partner/community)."""
        data = self.run(host, "software acceptance get")
        if isinstance(data, dict):
            data = data.get("Level") or data.get("AcceptanceLevel") or next(iter(data.values()), None)
        return _norm_acceptance(data)

    def acceptance_set(self, host: Host, level: str) -> Optional[str]:
        """Set the acceptance level (any alias accepted); returns the normalized level now in effect."""
        self.run(host, "software acceptance set", level=acceptance_for_esxcli(level))
        return self.acceptance_get(host)

    # ---- system ---------------------------------------------------------------------------------
    def system_version_get(self, host: Host) -> Dict[str, Any]:
        """{product, version, build, update, patch, raw} from ``esxcli system version get``."""
        data = self.run(host, "system version get")
        data = data if isinstance(data, dict) else {}
        build = data.get("Build") or ""
        m = re.search(r"(\d+)\s*$", str(build))
        return {"product": data.get("Product"), "version": data.get("Version"),
                "build": m.group(1) if m else (build or None), "build_string": build or None,
                "update": data.get("Update"), "patch": data.get("Patch"), "raw": data}

    # ---- GuestStore -----------------------------------------------------------------------------
    def gueststore_get(self, host: Host) -> str:
        """The GuestStore repository URL ('' when unset). The field name ``URL`` is UNVERIFIED: any single
        field of the returned structure is accepted."""
        data = self.run(host, "system settings gueststore repository get")
        if isinstance(data, dict):
            for key in ("URL", "Url", "url", "RepositoryURL"):
                if key in data:
                    return data[key] or ""
            vals = [v for v in data.values() if isinstance(v, str)]
            return vals[0] if vals else ""
        if isinstance(data, list):
            return (data[0] if data and isinstance(data[0], str) else "") or ""
        return data or ""

    def gueststore_set(self, host: Host, url: Optional[str]) -> str:
        """Set the repository URL (``ds:///vmfs/volumes/<uuid>/<folder>``); ``""`` clears it (UNVERIFIED
        semantics). Returns the URL now configured."""
        if url is None:
            raise InputError("gueststore_set needs a url ('' clears the repository)")
        self.run(host, "system settings gueststore repository set", url=url)
        return self.gueststore_get(host)

    def gueststore_clear(self, host: Host) -> str:
        return self.gueststore_set(host, "")


def install_result(data: Optional[Union[Dict[str, Any], Dict[str, str]]]) -> Dict[str, Any]:
    """Normalize an ``InstallationResult`` structure: {message, reboot_required, vibs_installed, vibs_removed,
    vibs_skipped, dryrun, changed}."""
    data = data if isinstance(data, dict) else {}
    installed = [x for x in as_list(data.get("VIBsInstalled")) if x]
    removed = [x for x in as_list(data.get("VIBsRemoved")) if x]
    skipped = [x for x in as_list(data.get("VIBsSkipped")) if x]
    message = data.get("Message") or ""
    dry = "dryrun" in message.lower().replace(" ", "").replace("-", "")
    return {"message": message, "reboot_required": parse_bool(data.get("RebootRequired")),
            "vibs_installed": installed, "vibs_removed": removed, "vibs_skipped": skipped, "dryrun": dry,
            "changed": bool(installed or removed) and not dry, "raw": data}
