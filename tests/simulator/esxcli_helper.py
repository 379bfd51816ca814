"""Test-only esxcli-over-SOAP helper (recipe from shared/prototypes/esxi-sim/esxcli_pyvmomi.py).

Public pyVmomi wheels lack the vmodl.reflect types; they are declared by the production client layer
(``_clients.vsphere.esxcli.declare_reflect_types``), imported here. The request/response handling below is
test-only, written independently of the client to check the simulator's esxcli surface.
"""
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from pyVmomi import VmomiSupport
from pyVmomi.VmomiSupport import F_OPTIONAL

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.esxcli import declare_reflect_types

# The client layer's own declaration of the vmodl.reflect types (never a copy: a test that declared them first
# would shadow the code it should prove).
_MME, _ARG = declare_reflect_types()


class EsxcliFault(Exception):
    def __init__(self, msg, detail):
        super().__init__("%s %s" % (msg, detail or ""))
        self.msg, self.detail = msg, detail or ""


def retrieve_mme(host):
    info = VmomiSupport.Object(
        name="RetrieveManagedMethodExecuter", typeName="vim.HostSystem", wsdlName="RetrieveManagedMethodExecuter",
        version=host._stub.version, params=(), isTask=False, resultFlags=F_OPTIONAL,
        result=_MME, methodResult=_MME, type=VmomiSupport.GetVmodlType("vim.HostSystem"), privId="System.Read",
        faults=[])
    return host._stub.InvokeMethod(host, info, ())


def parse(xml_text):
    root = ET.fromstring(xml_text)
    xsi_type = root.get("{http://www.w3.org/2001/XMLSchema-instance}type", "")
    if xsi_type.startswith("xsd:"):
        return root.text or ""

    def obj(el):
        d = {}
        for c in el:
            d.setdefault(c.tag.split("}")[-1], []).append(c.text or "")
        return {k: (v[0] if len(v) == 1 else v) for k, v in d.items()}
    if xsi_type == "ArrayOfDataObject":
        return [obj(c) for c in root]
    return obj(root)


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def esxcli(host, command, mme=None, **kwargs):
    """esxcli(host, "software vib list") / esxcli(host, "software vib install", depot=[url], dryrun=True)"""
    words = command.split()
    ns, moid = ".".join(words), "ha-cli-handler-" + "-".join(words[:-1])
    args = []
    for k, v in sorted(kwargs.items()):
        if v is None:
            continue
        vals = v if isinstance(v, (list, tuple)) else [v]
        vals = [str(x).lower() if isinstance(x, bool) else str(x) for x in vals]
        args.append(_ARG(name=k, val="".join("<%s>%s</%s>" % (k, escape(x), k) for x in vals)))
    mme = mme or retrieve_mme(host)
    r = mme.ExecuteSoap(moid=moid, version="urn:vim25/5.0", method="vim.EsxCLI." + ns, argument=args)
    if r is None:
        return None
    if r.fault is not None:
        raise EsxcliFault(r.fault.faultMsg, r.fault.faultDetail)
    return parse(r.response) if r.response else None
