package main

// The answers of esxupdate (esx5update, what hostd runs for HostPatchManager), rendered from the templates in
// sim/esxupdate/*.xml. Those templates are shared with the Python contract test
// (tests/unit/esxi/test_esxupdate_contract.py), so the simulator and the collection's reader cannot drift.
//
// OBSERVED (docs/reference/esxi-software-stack-facts.md, "xmlResult" and "Results", read from esx5update of ESXi
// 6.5/6.7): the document frame, the exit state written as an <error> element for EVERY errno != 0 (also the
// successful NeedsRebootResult 80 / HostdRestartResult 81 / HostNotChanged 82 / LiveInstallOnlyResult 83), nothing
// for a plain success, the errno of each class, <problemset> for dependency problems, the scan vocabulary.
// ASSUMED: see sim/esxupdate/README.md (descriptions, list element names) and the hostd translation below.

import (
	"bytes"
	"embed"
	"fmt"
	"sort"
	"strings"
	"text/template"
)

//go:embed esxupdate/*.xml
var esxupdateFiles embed.FS

var esxupdateTpl = template.Must(template.New("esxupdate").ParseFS(esxupdateFiles, "esxupdate/*.xml"))

// esxErrno: OBSERVED errno per class (facts, "xmlResult"; 6.7 values). Anything else is 99.
var esxErrno = map[string]int{
	"NotRootError": 1, "LockingError": 3, "MetadataDownloadError": 4, "MetadataFormatError": 5,
	"VibDownloadError": 7, "VibFormatError": 8, "VibValidationError": 8, "VibIOError": 9, "FileIOError": 10,
	"DatabaseFormatError": 11, "DatabaseIOError": 12, "NoMatchError": 13, "DependencyError": 14,
	"InstallationError": 15, "ConfigError": 16, "MaintenanceModeError": 18, "LiveInstallationError": 29,
	"StatelessError": 30, "HardwareError": 31, "AcceptanceConfigError": 33,
	"NeedsRebootResult": 80, "HostdRestartResult": 81, "HostNotChanged": 82, "LiveInstallOnlyResult": 83,
}

func errnoOf(class string) int {
	if n, ok := esxErrno[class]; ok {
		return n
	}
	return 99
}

func render(name string, data interface{}) string {
	var b bytes.Buffer
	if err := esxupdateTpl.ExecuteTemplate(&b, name, data); err != nil {
		panic(fmt.Sprintf("esxupdate template %s: %v", name, err)) // a broken embedded template is a build bug
	}
	return b.String()
}

func hasTemplate(name string) bool { return esxupdateTpl.Lookup(name) != nil }

// pyBool: esx5update writes Python booleans.
func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func escAll(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, esc(s))
	}
	return out
}

// esxResponse wraps a body in the document frame.
func esxResponse(body string) string { return render("response.xml", map[string]string{"Body": body}) }

// bodyLines splits an esxcli-style message ("line\n line\n url = x\nPlease refer...") into its message lines:
// without the attribute lines ("%10s = %s"), the acceptance hint and the closing "Please refer..." line, which
// esxcli adds and the XML answer does not carry (facts, "esxcli output").
func bodyLines(msg string) []string {
	var out []string
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "", strings.HasPrefix(l, "Please refer to the log file"),
			strings.HasPrefix(l, "To change the host acceptance level"), attrLine(l):
			continue
		}
		out = append(out, l)
	}
	return out
}

func attrLine(l string) bool {
	for _, a := range []string{"url = ", "id = ", "localfile = ", "filename = "} {
		if strings.HasPrefix(l, a) {
			return true
		}
	}
	return false
}

// problemClasses carry their lines as <problemset><problem> (validation problems, facts "Validation").
var problemClasses = map[string]bool{"DependencyError": true, "AcceptanceConfigError": true}

// exitState renders the <error> element of an exit state (class, esxcli-style message, optional url / id).
func exitState(class, msg, url, id string, vibs []string) string {
	lines := escAll(bodyLines(msg))
	data := map[string]interface{}{"Class": esc(class), "Desc": esc(strings.Join(bodyLines(msg), " ")),
		"URL": esc(url), "LocalFile": "", "Filename": "", "ID": esc(id), "Vibs": escAll(vibs),
		"Msgs": lines, "Problems": []string{}}
	if problemClasses[class] {
		data["Problems"], data["Msgs"] = lines, []string{}
	}
	name := "exit-" + class + ".xml"
	if !hasTemplate(name) {
		name = "exit-other.xml" // OBSERVED: non-esxupdate exceptions: errorCode 99, errorDesc = str(e)
	}
	return render(name, data)
}

func exitMsgs(class string, msgs ...string) string {
	return render("exit-"+class+".xml", map[string]interface{}{"Msgs": escAll(msgs)})
}

// engineExitDoc is the whole answer for an EngineError or DepotError.
func engineExitDoc(class, msg, url string) string {
	return esxResponse(exitState(class, msg, url, "", nil))
}

// ---- scan records

type scanCtx struct {
	h        *Host
	target   *Image          // what the host will run (pending image if any)
	depot    []*Vib          // VIBs of the scan
	staged   map[string]bool // staged VIB ids
	platform bool            // software-platform check applies (7.0+ switch)
}

func idsOf(vs []*Vib) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.ID)
	}
	sort.Strings(out)
	return out
}

func (c *scanCtx) state(v *Vib) string {
	h := c.h
	switch {
	case h.Current.byID(v.ID) != nil:
		return "installed"
	case h.Pending != nil && h.Pending.byID(v.ID) != nil:
		return "pending"
	case c.staged[v.ID]:
		return "staged"
	}
	return "uninstalled"
}

func providers(c Constraint, vs []*Vib, skip *Vib) []*Vib {
	var out []*Vib
	for _, o := range vs {
		if o != skip && conflictsWith(c, o) { // conflictsWith = "o provides something matching c"
			out = append(out, o)
		}
	}
	return out
}

// obsoletes: OBSERVED (facts, "Relations"): every VIB implicitly replaces "name << version", plus its replaces.
func obsoletes(newV, old *Vib) bool {
	if newV.ID == old.ID {
		return false
	}
	if newV.Name == old.Name && CompareVersions(newV.Version, old.Version) > 0 {
		return true
	}
	return replacesVib(newV, old)
}

// vibRecord renders one <vib-scan-data>.
func (c *scanCtx) vibRecord(v *Vib) string {
	host := c.target.Vibs
	var reqs strings.Builder
	depsMet := true
	for _, d := range v.Depends {
		byHost := providers(d, host, v)
		var pk []string
		for _, p := range byHost {
			for _, pr := range p.allProvides() {
				if pr.Name == d.Name {
					pk = append(pk, render("scan-package.xml", map[string]string{"Name": esc(pr.Name), "Version": esc(pr.Version)}))
				}
			}
		}
		hp := ""
		if len(pk) > 0 {
			hp = render("scan-hostprovides.xml", map[string]interface{}{"Packages": pk})
		}
		pb := ""
		if p := providers(d, c.depot, v); len(p) > 0 {
			pb = render("scan-idlist.xml", map[string]interface{}{"Tag": "providedBy", "IDs": escAll(idsOf(p))})
		}
		if len(byHost) == 0 {
			depsMet = false
		}
		reqs.WriteString(render("scan-requires.xml", map[string]string{"Requirement": esc(d.String()),
			"ProvidedBy": pb, "ProvidedByHost": pyBool(len(byHost) > 0), "HostProvides": hp}))
	}
	var conf, hostConf, obs, hostObs []*Vib
	for _, o := range c.depot {
		if o != v && vibsConflict(v, o) {
			conf = append(conf, o)
		}
		if obsoletes(v, o) {
			obs = append(obs, o)
		}
	}
	obsByHost := false
	for _, o := range host {
		if o.ID == v.ID {
			continue
		}
		if vibsConflict(v, o) {
			hostConf = append(hostConf, o)
		}
		if obsoletes(v, o) {
			hostObs = append(hostObs, o)
		}
		if obsoletes(o, v) {
			obsByHost = true
		}
	}
	list := func(tag string, vs []*Vib) string {
		if len(vs) == 0 {
			return ""
		}
		return render("scan-idlist.xml", map[string]interface{}{"Tag": tag, "IDs": escAll(idsOf(vs))})
	}
	meets, failure := true, ""
	if c.platform && !vibPlatformOK(v, c.h.Current) {
		meets = false
		failure = render("scan-sysreqfailure.xml", map[string]string{"Text": esc(fmt.Sprintf(
			"VIB %s requires software platform %s, but the host is %s %s.", v.ID, platformList(v.Platforms), c.h.Current.ProductLine, c.h.Current.Version))})
	}
	installDate := ""
	if st := c.state(v); st == "installed" || st == "pending" {
		if iv := c.target.byID(v.ID); iv != nil {
			installDate = iv.InstallDate
		}
		if installDate == "" {
			installDate = c.h.InstallDate.Format("2006-01-02T15:04:05")
		}
	}
	return render("scan-vib.xml", map[string]interface{}{
		"ID": esc(v.ID), "State": c.state(v), "Name": esc(v.Name), "Version": esc(v.Version), "Vendor": esc(v.Vendor),
		"InstallDate": esc(installDate), "MeetsSystemReq": pyBool(meets), "SystemReqFailure": failure,
		"DepsMet": pyBool(depsMet), "Requires": reqs.String(),
		"Conflicts": escAll(idsOf(conf)), "ConflictsWithHost": pyBool(len(hostConf) > 0), "HostConflicts": list("hostConflicts", hostConf),
		"Obsoletes": escAll(idsOf(obs)), "ObsoletesHost": pyBool(len(hostObs) > 0), "HostObsoleted": list("hostObsoleted", hostObs),
		"ObsoletedByHost": pyBool(obsByHost),
		"MaintenanceMode": pyBool(v.MaintenanceModeRequired), "MaintenanceModeUninstall": pyBool(v.MaintenanceModeRequired),
		"RebootRequired": pyBool(!v.LiveInstallAllowed), "RebootRequiredUninstall": pyBool(!v.LiveRemoveAllowed),
	})
}

// vibsConflict: OBSERVED (facts, "Relations"): conflicts are matched against provides and recorded on both sides.
func vibsConflict(a, b *Vib) bool {
	for _, c := range a.Conflicts {
		if conflictsWith(c, b) {
			return true
		}
	}
	for _, c := range b.Conflicts {
		if conflictsWith(c, a) {
			return true
		}
	}
	return false
}

func hostScanXML(h *Host) string {
	return render("scan-host.xml", map[string]string{"ImagePending": pyBool(h.Pending != nil), "VibStaged": pyBool(len(h.Staged) > 0)})
}

// operationXML renders installOperation/uninstallOperation of metadata-scan-data.
func operationXML(tag string, p *Plan, err *EngineError) string {
	if err != nil {
		return render("scan-operation-refused.xml", map[string]interface{}{"Tag": tag, "Errno": errnoOf(err.Class),
			"Errmsg": esc(strings.Join(bodyLines(err.Msg), " ")), "Related": []string{}})
	}
	return render("scan-operation-allowed.xml", map[string]interface{}{"Tag": tag, "Added": escAll(ids(p.Installed)),
		"Removed": escAll(ids(p.Removed)), "Skipped": escAll(ids(p.Skipped))})
}
