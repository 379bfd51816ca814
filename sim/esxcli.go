package main

// esxcli over the vSphere API: HostSystem.RetrieveManagedMethodExecuter ->
// ReflectManagedMethodExecuter.ExecuteSoap(moid "ha-cli-handler-<ns>", method "vim.EsxCLI.<ns>.<cmd>").
//
// OBSERVED: wire format (govc / govmomi cli/esx, docs/reference 1c); response documents
// <obj ... versionId="5.0" xsi:type="ArrayOfDataObject"><DataObject xsi:type="VimEsxCLI<cmd><Kind>">
// (govmomi cli/esx fixtures captured from real ESXi); kinds SummaryExt / VIBExt for software vib
// list/get (govmomi v0.47 simulator, from "govc host.esxcli -dump" on 8.0.1); field names and
// structures of the software namespace (ESXi 6.7 esxcli-software.xml, spaces removed);
// "Build: Releasebuild-21930508", "Patch: 95" (system version get sample, 7.0U3n).
// ASSUMED: fault detail layout, GuestStore get field "URL" and clear semantics, messages marked below.

import (
	"fmt"
	"html"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type SoapArgument struct {
	Name string `xml:"name"`
	Val  string `xml:"val"`
}
type ExecuteSoapRequest struct {
	This     types.ManagedObjectReference `xml:"_this"`
	Moid     string                       `xml:"moid"`
	Version  string                       `xml:"version"`
	Method   string                       `xml:"method"`
	Argument []SoapArgument               `xml:"argument,omitempty"`
}
type SoapFault struct {
	FaultMsg    string `xml:"faultMsg"`
	FaultDetail string `xml:"faultDetail,omitempty"`
}
type SoapResult struct {
	Response string     `xml:"response,omitempty"`
	Fault    *SoapFault `xml:"fault,omitempty"`
}
type ExecuteSoapResponse struct {
	Returnval *SoapResult `xml:"urn:vim25 returnval,omitempty"`
}
type ExecuteSoapBody struct {
	Req    *ExecuteSoapRequest  `xml:"urn:vim25 ExecuteSoap,omitempty"`
	Res    *ExecuteSoapResponse `xml:"urn:vim25 ExecuteSoapResponse,omitempty"`
	Fault_ *soap.Fault          `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *ExecuteSoapBody) Fault() *soap.Fault { return b.Fault_ }

func init() {
	types.Add("ExecuteSoap", reflect.TypeOf((*ExecuteSoapRequest)(nil)).Elem())
}

type MethodExecuter struct {
	Self types.ManagedObjectReference
	host *Host
}

func (m *MethodExecuter) Reference() types.ManagedObjectReference { return m.Self }

// ---------------------------------------------------------------- response documents

type kv struct{ k, v string }

const objHead = `<obj xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:vim25" versionId="5.0" xsi:type="`

func writeFields(b *strings.Builder, fields []kv) {
	for _, f := range fields {
		fmt.Fprintf(b, "<%s>%s</%s>", f.k, html.EscapeString(f.v), f.k)
	}
}

func objDoc(xsiType string, fields []kv) string {
	var b strings.Builder
	b.WriteString(objHead + xsiType + `">`)
	writeFields(&b, fields)
	b.WriteString("</obj>")
	return b.String()
}

func arrayDoc(xsiType string, objs [][]kv) string {
	var b strings.Builder
	b.WriteString(objHead + `ArrayOfDataObject">`)
	for _, o := range objs {
		fmt.Fprintf(&b, `<DataObject xsi:type="%s">`, xsiType)
		writeFields(&b, o)
		b.WriteString("</DataObject>")
	}
	b.WriteString("</obj>")
	return b.String()
}

func scalarDoc(xsdType, val string) string {
	return objHead + "xsd:" + xsdType + `">` + html.EscapeString(val) + `</obj>`
}

// cliFault: ASSUMED layout: faultMsg "EsxCLI.CLIFault.summary" (govmomi simulator), detail a
// VimEsxCLICLIFault whose errMsg lines start with the "[Class]" line esxcli prints.
func cliFault(class, msg string) *SoapFault {
	var b strings.Builder
	b.WriteString(`<obj xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:vim25" versionId="5.0" xsi:type="VimEsxCLICLIFault">`)
	lines := []string{}
	if class != "" {
		lines = append(lines, "["+class+"]")
	}
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	for _, l := range lines {
		b.WriteString("<errMsg>" + html.EscapeString(l) + "</errMsg>")
	}
	b.WriteString("</obj>")
	return &SoapFault{FaultMsg: "EsxCLI.CLIFault.summary", FaultDetail: b.String()}
}

func engineFault(e *EngineError) *SoapFault { return cliFault(e.Class, e.Msg) }

var argRe = regexp.MustCompile(`<([A-Za-z0-9_.-]+)\s*/>|<([A-Za-z0-9_.-]+)>([^<]*)</[A-Za-z0-9_.-]+>`)

type cliArgs map[string][]string

func parseArgs(args []SoapArgument) cliArgs {
	out := cliArgs{}
	for _, a := range args {
		name := strings.ToLower(strings.ReplaceAll(a.Name, "-", ""))
		ms := argRe.FindAllStringSubmatch(a.Val, -1)
		if len(ms) == 0 {
			out[name] = append(out[name], html.UnescapeString(a.Val))
		}
		for _, m := range ms {
			out[name] = append(out[name], html.UnescapeString(m[3]))
		}
	}
	return out
}

func (a cliArgs) has(k string) bool { _, ok := a[k]; return ok }

func (a cliArgs) one(k string) string {
	if v := a[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (a cliArgs) flag(k string) bool { return strings.EqualFold(a.one(k), "true") }

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func titleBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func dateOnly(s string) string {
	if t := parseDate(s); t != nil && s != "" {
		return t.Format("2006-01-02")
	}
	return ""
}

func vibSummaryFields(v *Vib, installDate string) []kv {
	return []kv{{"AcceptanceLevel", acceptanceCLIName(v.Acceptance)}, {"CreationDate", dateOnly(v.ReleaseDate)},
		{"ID", v.ID}, {"InstallDate", installDate}, {"Name", v.Name}, {"Platforms", "host"}, {"Status", ""},
		{"Vendor", v.Vendor}, {"Version", v.Version}}
}

func vibGetFields(v *Vib, installDate string) []kv {
	f := []kv{{"AcceptanceLevel", acceptanceCLIName(v.Acceptance)}, {"CreationDate", dateOnly(v.ReleaseDate)}}
	for _, c := range v.Conflicts {
		f = append(f, kv{"Conflicts", c.String()})
	}
	for _, c := range v.Depends {
		f = append(f, kv{"Depends", c.String()})
	}
	f = append(f, kv{"Description", v.Description})
	for _, p := range v.HwPlatforms {
		f = append(f, kv{"HardwarePlatformsRequired", p})
	}
	f = append(f, kv{"ID", v.ID}, kv{"InstallDate", installDate}, kv{"LiveInstallAllowed", titleBool(v.LiveInstallAllowed)},
		kv{"LiveRemoveAllowed", titleBool(v.LiveRemoveAllowed)}, kv{"MaintenanceModeRequired", titleBool(v.MaintenanceModeRequired)},
		kv{"Name", v.Name}, kv{"Overlay", titleBool(v.Overlay)})
	for _, p := range v.Payloads {
		f = append(f, kv{"Payloads", p})
	}
	f = append(f, kv{"Platforms", "host"})
	for _, p := range v.Provides {
		if p.Version != "" {
			f = append(f, kv{"Provides", p.Name + " = " + p.Version})
		} else {
			f = append(f, kv{"Provides", p.Name})
		}
	}
	for _, c := range v.Replaces {
		f = append(f, kv{"Replaces", c.String()})
	}
	f = append(f, kv{"StatelessReady", titleBool(v.StatelessReady)}, kv{"Status", ""}, kv{"Summary", v.Summary})
	for _, t := range v.Tags {
		f = append(f, kv{"Tags", t})
	}
	f = append(f, kv{"Type", v.Type}, kv{"Vendor", v.Vendor}, kv{"Version", v.Version})
	return f
}

func installResultDoc(typ string, p *Plan, msg string) string {
	f := []kv{{"Message", msg}, {"RebootRequired", boolStr(p.NeedReboot)}}
	for _, id := range ids(p.Installed) {
		f = append(f, kv{"VIBsInstalled", id})
	}
	for _, id := range ids(p.Removed) {
		f = append(f, kv{"VIBsRemoved", id})
	}
	for _, id := range ids(p.Skipped) {
		f = append(f, kv{"VIBsSkipped", id})
	}
	return objDoc(typ+"InstallationResult", f)
}

// installMessage: OBSERVED reboot text (7.0U3n sample); OBSERVED (facts, "Flows"): "Host is not changed." and
// the dry-run text listing every installer with work by class name (a live install lists the live AND the boot
// installer; locker VIBs go to LockerInstaller). ASSUMED: "Operation finished successfully."; the list order.
func installMessage(p *Plan, dry bool) string {
	switch {
	case dry && p.Changed():
		set := map[string]bool{}
		for _, v := range append(append([]*Vib{}, p.Installed...), p.Removed...) {
			if v.Type == "locker" {
				set["LockerInstaller"] = true
				continue
			}
			set["BootBankInstaller"] = true
			if p.Live {
				set["LiveImageInstaller"] = true
			}
		}
		var inst []string
		for k := range set {
			inst = append(inst, k)
		}
		sort.Strings(inst)
		return "Dryrun only, host not changed. The following installers will be applied: [" + strings.Join(inst, ", ") + "]"
	case !p.Changed():
		return "Host is not changed."
	case p.NeedReboot:
		return "The update completed successfully, but the system needs to be rebooted for the changes to be effective."
	}
	return "Operation finished successfully."
}

// ---------------------------------------------------------------- dispatcher

func (m *MethodExecuter) ExecuteSoap(req *ExecuteSoapRequest) soap.HasFault {
	h := m.host
	if !h.connected() {
		return &ExecuteSoapBody{Fault_: notConnected()}
	}
	res := &SoapResult{}
	body := &ExecuteSoapBody{Res: &ExecuteSoapResponse{Returnval: res}}
	if req.Method == "vim.CLIInfo.FetchCLIInfo" {
		res.Fault = &SoapFault{FaultMsg: "The object or item referred to could not be found."} // not modelled
		return body
	}
	ns := strings.TrimPrefix(req.Method, "vim.EsxCLI.")
	parts := strings.Split(ns, ".")
	if len(parts) < 2 || req.Moid != "ha-cli-handler-"+strings.Join(parts[:len(parts)-1], "-") {
		res.Fault = &SoapFault{FaultMsg: "The object or item referred to could not be found."}
		return body
	}
	typ := "VimEsxCLI" + strings.Join(parts, "")
	args := parseArgs(req.Argument)
	doc, fault := m.dispatch(ns, typ, args)
	if fault != nil {
		res.Fault = fault
	} else {
		res.Response = doc
	}
	return body
}

func unknownCmd(ns string) *SoapFault {
	return &SoapFault{FaultMsg: "The object or item referred to could not be found.", FaultDetail: "vim.EsxCLI." + ns + " is not simulated"}
}

func (m *MethodExecuter) dispatch(ns, typ string, a cliArgs) (string, *SoapFault) {
	h := m.host
	switch ns {
	case "system.version.get":
		h.mu.Lock()
		img := h.Current
		h.mu.Unlock()
		return objDoc(typ+"Version", []kv{{"Build", "Releasebuild-" + img.Build}, {"Patch", img.Patch},
			{"Product", "VMware ESXi"}, {"Update", img.Update}, {"Version", img.Version}}), nil

	case "software.vib.list", "software.vib.get":
		h.mu.Lock()
		defer h.mu.Unlock()
		img := h.Current
		if a.flag("rebootingimage") {
			if h.Pending == nil {
				return arrayDoc(typ+"SummaryExt", nil), nil // OBSERVED (facts, "Flows"): nothing pending -> empty list
			}
			img = h.Pending
		}
		var objs [][]kv
		names := a["vibname"]
		matched := map[string]bool{}
		for _, v := range img.Vibs {
			if len(names) > 0 {
				ok := false
				for _, n := range names {
					if vibMatches(v, n) {
						ok, matched[n] = true, true
					}
				}
				if !ok {
					continue
				}
			}
			inst := v.InstallDate
			if inst == "" {
				inst = h.InstallDate.Format("2006-01-02")
			}
			if ns == "software.vib.list" {
				objs = append(objs, vibSummaryFields(v, inst))
			} else {
				objs = append(objs, vibGetFields(v, inst))
			}
		}
		for _, n := range names {
			if !matched[n] {
				// OBSERVED class ("[NoMatchError]" in govmomi's simulator and real output); text ASSUMED
				return "", cliFault("NoMatchError", "No VIB matching VIB search specification '"+n+"'.\nPlease refer to the log file for more details.")
			}
		}
		kind := "SummaryExt"
		if ns == "software.vib.get" {
			kind = "VIBExt"
		}
		return arrayDoc(typ+kind, objs), nil

	case "software.vib.install", "software.vib.update":
		return m.vibInstall(ns, typ, a)

	case "software.vib.remove":
		if len(a["vibname"]) == 0 {
			return "", cliFault("", "Missing required parameter -n|--vibname")
		}
		inMM := h.inMaintenance()
		h.mu.Lock()
		defer h.mu.Unlock()
		plan, err := PlanRemove(h.base(), a["vibname"], InstallOpts{MaintenanceOK: inMM || a.flag("maintenancemode"),
			NoLiveInstall: a.flag("noliveinstall"), Force: a.flag("force")})
		if err != nil {
			return "", engineFault(err)
		}
		if !a.flag("dryrun") {
			h.applyPlan(plan, nil)
		}
		return installResultDoc(typ, plan, installMessage(plan, a.flag("dryrun"))), nil

	case "software.profile.get":
		h.mu.Lock()
		defer h.mu.Unlock()
		img := h.Current
		if a.flag("rebootingimage") {
			if h.Pending == nil {
				// OBSERVED (facts, "Flows"): --rebooting-image maps to --pending; with nothing pending the VIB
				// list is empty and the profile is named "No pending image profile available." (vendor N/A).
				// ASSUMED: the other fields stay empty.
				return objDoc(typ+"ImageProfile", []kv{{"AcceptanceLevel", acceptanceCLIName(h.Acceptance)},
					{"CreationTime", ""}, {"Description", ""}, {"ModificationTime", ""},
					{"Name", "No pending image profile available."}, {"StatelessReady", "False"}, {"Vendor", "N/A"}}), nil
			}
			img = h.Pending
		}
		f := []kv{{"AcceptanceLevel", acceptanceCLIName(h.Acceptance)}, {"CreationTime", img.Profile.Created},
			{"Description", img.Profile.Description}, {"ModificationTime", img.Profile.Modified},
			{"Name", img.ProfileName()}, {"StatelessReady", "True"}}
		// OBSERVED (facts, "esxcli output"): VIBs = sorted "<name> <version>" strings, not ids
		var nv []string
		for _, v := range img.Vibs {
			nv = append(nv, v.Name+" "+v.Version)
		}
		sort.Strings(nv)
		for _, s := range nv {
			f = append(f, kv{"VIBs", s})
		}
		f = append(f, kv{"Vendor", img.Profile.Vendor})
		return objDoc(typ+"ImageProfile", f), nil

	case "software.profile.update", "software.profile.install":
		return m.profileUpdate(ns, typ, a)

	case "software.sources.profile.list":
		d, fault := m.loadDepot(a)
		if fault != nil {
			return "", fault
		}
		var objs [][]kv
		for _, p := range d.Profiles {
			objs = append(objs, []kv{{"AcceptanceLevel", acceptanceCLIName(p.Acceptance)}, {"CreationTime", p.Created},
				{"ModificationTime", p.Modified}, {"Name", p.Name}, {"Vendor", p.Vendor}})
		}
		return arrayDoc(typ+"ImageProfileSummary", objs), nil

	case "software.sources.vib.list":
		d, fault := m.loadDepot(a)
		if fault != nil {
			return "", fault
		}
		var vs []*Vib
		for _, v := range d.Vibs {
			vs = append(vs, v)
		}
		sort.Slice(vs, func(i, j int) bool { return vs[i].ID < vs[j].ID })
		var objs [][]kv
		for _, v := range vs {
			objs = append(objs, vibSummaryFields(v, ""))
		}
		return arrayDoc(typ+"SummaryExt", objs), nil

	case "software.acceptance.get":
		h.mu.Lock()
		defer h.mu.Unlock()
		return scalarDoc("string", acceptanceCLIName(h.Acceptance)), nil

	case "software.acceptance.set":
		lvl := ""
		switch a.one("level") { // OBSERVED enum (esxcli-software.xml)
		case "VMwareCertified", "VMwareAccepted", "PartnerSupported", "CommunitySupported":
			lvl = normAcceptance(a.one("level"))
		}
		if lvl == "" {
			return "", cliFault("", "Invalid data constraint for parameter 'level'. Expected one of [VMwareCertified, VMwareAccepted, PartnerSupported, CommunitySupported]")
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := h.setAcceptance(lvl); err != nil {
			return "", engineFault(err)
		}
		// ASSUMED text
		return scalarDoc("string", "Host acceptance level changed to '"+acceptanceCLIName(lvl)+"'."), nil

	case "system.settings.gueststore.repository.get":
		h.mu.Lock()
		defer h.mu.Unlock()
		return objDoc(typ+"GuestStoreRepository", []kv{{"URL", h.GuestStore}}), nil // ASSUMED field name

	case "system.settings.gueststore.repository.set":
		if !a.has("url") {
			return "", cliFault("", "Missing required parameter -u|--url")
		}
		u := a.one("url")
		// OBSERVED (VMware docs): URL form ds:///vmfs/volumes/<datastore-uuid>/<folder>; ASSUMED: ""
		// clears the setting and other schemes are rejected
		if u != "" && !strings.HasPrefix(u, "ds:///vmfs/volumes/") {
			return "", cliFault("", "Invalid URL "+u+": only ds:///vmfs/volumes/<datastore>/<path> URLs are supported")
		}
		h.mu.Lock()
		h.GuestStore = u
		h.mu.Unlock()
		return scalarDoc("boolean", "true"), nil // OBSERVED: PowerCLI scripts test $result -eq $true

	case "network.firewall.ruleset.list":
		var objs [][]kv
		h.withHS(func(hs *simulator.HostSystem) {
			if fw, ok := simulator.Map.Get(*hs.ConfigManager.FirewallSystem).(*simulator.HostFirewallSystem); ok {
				for _, r := range fw.FirewallInfo.Ruleset {
					if id := a.one("rulesetid"); id != "" && id != r.Key {
						continue
					}
					objs = append(objs, []kv{{"Enabled", boolStr(r.Enabled)}, {"Name", r.Key}})
				}
			}
		})
		return arrayDoc(typ+"Ruleset", objs), nil

	case "network.firewall.ruleset.set":
		id := a.one("rulesetid")
		if id == "" || !a.has("enabled") {
			return "", cliFault("", "Missing required parameter -r|--ruleset-id or -e|--enabled")
		}
		found := false
		h.withHS(func(hs *simulator.HostSystem) {
			fw := simulator.Map.Get(*hs.ConfigManager.FirewallSystem).(*simulator.HostFirewallSystem)
			simulator.Map.WithLock(fw, func() {
				for i := range fw.FirewallInfo.Ruleset {
					if fw.FirewallInfo.Ruleset[i].Key == id {
						fw.FirewallInfo.Ruleset[i].Enabled = a.flag("enabled")
						found = true
					}
				}
			})
		})
		if !found {
			return "", cliFault("", "Invalid Ruleset Id: "+id)
		}
		return scalarDoc("boolean", "true"), nil

	case "system.maintenanceMode.get":
		if h.inMaintenance() {
			return scalarDoc("string", "Enabled"), nil
		}
		return scalarDoc("string", "Disabled"), nil
	}
	return "", unknownCmd(ns)
}

func (m *MethodExecuter) loadDepot(a cliArgs) (*Depot, *SoapFault) {
	if len(a["depot"]) == 0 {
		return nil, cliFault("", "Missing required parameter -d|--depot")
	}
	d, errs := m.host.fetcher().LoadDepots(a["depot"])
	if len(errs) > 0 {
		return nil, cliFault(errs[0].Class, errs[0].Msg)
	}
	return d, nil
}

func (m *MethodExecuter) disconnectFault() *SoapFault {
	h := m.host
	if f := h.takeFault("disconnect_during_install"); f != nil {
		go h.outage(time.Duration(f.num("seconds", cfg.RebootDown.Seconds())*float64(time.Second)), false)
		time.Sleep(50 * time.Millisecond)
		return &SoapFault{FaultMsg: "Host is not connected (disconnect_during_install)"}
	}
	return nil
}

func (m *MethodExecuter) vibInstall(ns, typ string, a cliArgs) (string, *SoapFault) {
	h := m.host
	if len(a["depot"]) == 0 && len(a["viburl"]) == 0 {
		return "", cliFault("", "At least one of --depot or --viburl must be specified")
	}
	fetch := h.fetcher()
	var d *Depot
	var cands []*Vib
	if len(a["depot"]) > 0 {
		var errs []*DepotError
		d, errs = fetch.LoadDepots(a["depot"])
		if len(errs) > 0 {
			return "", cliFault(errs[0].Class, errs[0].Msg)
		}
		for _, v := range d.Vibs {
			cands = append(cands, v)
		}
		if names := a["vibname"]; len(names) > 0 {
			var sel []*Vib
			for _, n := range names {
				found := false
				for _, v := range cands {
					if vibMatches(v, n) {
						sel = append(sel, v)
						found = true
					}
				}
				if !found {
					return "", cliFault("NoMatchError", "No VIB matching VIB search specification '"+n+"'.\nPlease refer to the log file for more details.")
				}
			}
			cands = sel
		}
	} else {
		d = newDepot()
	}
	for _, u := range a["viburl"] {
		v, err := fetch.FetchVibURL(u)
		if err != nil {
			return "", cliFault(err.Class, err.Msg)
		}
		d.Vibs[v.ID] = v
		cands = append(cands, v)
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].ID < cands[j].ID })
	inMM := h.inMaintenance()
	mode := "install"
	if ns == "software.vib.update" {
		mode = "update"
	}
	h.mu.Lock()
	plan, err := PlanInstall(h.base(), h.Acceptance, cands, InstallOpts{Mode: mode, Force: a.flag("force"),
		NoLiveInstall: a.flag("noliveinstall"), MaintenanceOK: inMM || a.flag("maintenancemode"), NoSigCheck: a.flag("nosigcheck")})
	h.mu.Unlock()
	if err != nil {
		return "", engineFault(err)
	}
	dry := a.flag("dryrun")
	if plan.Changed() && !dry {
		for _, v := range plan.Installed {
			if e := fetch.FetchVib(d, v.ID); e != nil {
				return "", cliFault(e.Class, e.Msg)
			}
		}
		if f := m.disconnectFault(); f != nil {
			return "", f
		}
		h.mu.Lock()
		h.applyPlan(plan, d)
		h.mu.Unlock()
	}
	return installResultDoc(typ, plan, installMessage(plan, dry)), nil
}

// profileUpdate: OBSERVED (esxcli help): "Installed VIBs may be upgraded (or downgraded if
// --allow-downgrades is specified), but they will not be removed. Any VIBs in the image profile which
// are not related to any installed VIBs will be added to the host." profile install (replace the
// whole image) is modelled as update plus removal of VIBs not in the profile (needs --ok-to-remove).
// majorMinor: "8.0.3" -> "8.0".
func majorMinor(v string) string {
	f := strings.Split(v, ".")
	if len(f) < 2 {
		return ""
	}
	return f[0] + "." + f[1]
}

func (m *MethodExecuter) profileUpdate(ns, typ string, a cliArgs) (string, *SoapFault) {
	h := m.host
	if a.one("profile") == "" {
		return "", cliFault("", "Missing required parameter -p|--profile")
	}
	d, fault := m.loadDepot(a)
	if fault != nil {
		return "", fault
	}
	prof := d.profile(a.one("profile"))
	if prof == nil {
		// ASSUMED text
		return "", cliFault("NoMatchError", "No image profile found with name '"+a.one("profile")+"'\n id = "+a.one("profile")+"\nPlease refer to the log file for more details.")
	}
	var cands []*Vib
	for _, id := range prof.VibIDs {
		v := d.Vibs[id]
		if v == nil {
			return "", cliFault("ProfileFormatError", "Image profile "+prof.Name+" references VIB "+id+", which is not in the depot")
		}
		cands = append(cands, v)
	}
	inMM := h.inMaintenance()
	h.mu.Lock()
	base := h.base()
	// OBSERVED (facts, "Validation"): profile install/update refuse a major.minor downgrade (DowngradeError,
	// no errno), whatever the options
	for _, v := range cands {
		if v.Name == "esx-base" && base.Version != "" {
			newVer, _, _ := splitVR(v.Version)
			if majorMinor(newVer) != "" && CompareVersions(majorMinor(newVer), majorMinor(base.Version)) < 0 {
				h.mu.Unlock()
				return "", engineFault(engErr("DowngradeError", "Downgrade ESXi from version %s to %s is not supported.\nPlease refer to the log file for more details.", majorMinor(base.Version), majorMinor(newVer)))
			}
		}
	}
	plan, err := PlanInstall(base, h.Acceptance, cands, InstallOpts{Mode: "profile", Force: a.flag("force"),
		NoLiveInstall: a.flag("noliveinstall"), MaintenanceOK: inMM || a.flag("maintenancemode"),
		AllowDowngrade: a.flag("allowdowngrades") || ns == "software.profile.install", NoSigCheck: a.flag("nosigcheck")})
	if err == nil && ns == "software.profile.install" {
		inProf := map[string]bool{}
		for _, v := range cands {
			inProf[v.Name] = true
		}
		var extra []string
		for _, v := range plan.Result.Vibs {
			if !inProf[v.Name] {
				extra = append(extra, v.ID)
			}
		}
		if len(extra) > 0 && !a.flag("oktoremove") {
			err = engErr("ProfileVibRemoval", "You attempted to install an image profile which would have resulted in the removal of VIBs %s. If this is not what you intended, you may use the esxcli software profile update command to preserve the VIBs above. If this is what you intended, please use the --ok-to-remove option to explicitly allow the removal.\nPlease refer to the log file for more details.", strings.Join(extra, ", "))
		} else if len(extra) > 0 {
			var rm *Plan
			rm, err = PlanRemove(plan.Result, extra, InstallOpts{Force: true, MaintenanceOK: true})
			if err == nil {
				plan.Removed = append(plan.Removed, rm.Removed...)
				plan.Result = rm.Result
				finishPlan(plan, base, InstallOpts{NoLiveInstall: a.flag("noliveinstall")})
			}
		}
	}
	h.mu.Unlock()
	if err != nil {
		return "", engineFault(err)
	}
	// the host's profile becomes the depot profile; "(Updated) " when the image differs from it
	res := plan.Result
	res.Profile = *prof
	res.Profile.Acceptance = prof.Acceptance
	same := len(res.Vibs) == len(prof.VibIDs)
	for _, id := range prof.VibIDs {
		if res.byID(id) == nil {
			same = false
		}
	}
	res.Modified = !same
	dry := a.flag("dryrun")
	if !dry && (plan.Changed() || base.Profile.Name != prof.Name) {
		for _, v := range plan.Installed {
			if e := m.host.fetcher().FetchVib(d, v.ID); e != nil {
				return "", cliFault(e.Class, e.Msg)
			}
		}
		if f := m.disconnectFault(); f != nil {
			return "", f
		}
		h.mu.Lock()
		if !plan.Changed() {
			h.Current.Profile, h.Current.Modified = res.Profile, res.Modified
		} else {
			h.applyPlan(plan, d)
		}
		h.mu.Unlock()
	}
	return installResultDoc(typ, plan, installMessage(plan, dry)), nil
}
