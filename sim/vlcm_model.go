package main

// vLCM (vSphere Lifecycle Manager) image-managed clusters: the model behind vlcm.go's REST surface.
//
// OBSERVED (VMware's Swagger, tests/fixtures/vmware-api-specs/esx-8.0.2.json): a cluster's desired software is a
// base image version, an optional add-on, components (name -> version), hardware support packages and solutions
// (EsxSettingsSoftwareInfo); compliance has per-host status/impact and base image / component details
// (EsxSettingsClusterCompliance, EsxSettingsHostCompliance). ASSUMED (no real vLCM depot in the fixtures):
//   - a base image is the "ESXi" component of a depot (a bulletin with componentNameSpec name="ESXi"), its
//     version the component version, which equals the esx-base VIB version (true of the synthetic update depot
//     and of real 8.0 builds: ESXi 8.0.2-0.0.22380479 / esx-base 8.0.2-0.0.22380479);
//   - a host's current base image is its esx-base version; the base images the simulated hosts run count as
//     available (vCenter's system depot holds the released base images);
//   - a component is a bulletin with a component name; a host has a component version when all VIBs of that
//     bulletin are installed;
//   - add-ons and hardware support packages are never found in a depot (no add-on / HSM metadata is simulated),
//     so setting them fails validation, naming them.
// Image-managed clusters come from the topology file: a cluster with "vlcm": {"base_image": ..., "components":
// {...}} (both optional: the base image defaults to what the cluster's first host runs).

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

type vlcmAddOn struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// vlcmImage is a desired software document (committed or draft).
type vlcmImage struct {
	BaseImage  string
	AddOn      *vlcmAddOn
	Components map[string]string
	HSP        map[string]interface{} // hardware support: kept as sent (validation refuses it)
}

func (im *vlcmImage) clone() *vlcmImage {
	c := *im
	c.Components = map[string]string{}
	for k, v := range im.Components {
		c.Components[k] = v
	}
	if im.AddOn != nil {
		a := *im.AddOn
		c.AddOn = &a
	}
	return &c
}

type vlcmDraft struct {
	ID      string
	Owner   string
	Created time.Time
	Image   *vlcmImage
}

type vlcmCluster struct {
	ID, Name string
	Managed  bool
	Policy   map[string]interface{} // EsxSettingsClustersPoliciesApplyConfiguredPolicySpec as last PUT
	Desired  *vlcmImage
	Commit   int
	Drafts   map[string]*vlcmDraft
	Busy     bool // a check/apply task runs
}

type vlcmOnline struct {
	ID, Location, Description string
	Enabled, System           bool
	depot                     *Depot
}

type vlcmOffline struct {
	ID, Location, Description, SourceType string
	Created                               time.Time
	depot                                 *Depot
}

type vlcmState struct {
	mu       sync.Mutex
	loaded   bool
	clusters map[string]*vlcmCluster // by id (domain-cN)
	online   map[string]*vlcmOnline
	offline  map[string]*vlcmOffline
	tasks    map[string]*vlcmTask
	sessions map[string]string // session id -> user
	seq      int
}

var vlcm = &vlcmState{clusters: map[string]*vlcmCluster{}, online: map[string]*vlcmOnline{},
	offline: map[string]*vlcmOffline{}, tasks: map[string]*vlcmTask{}, sessions: map[string]string{}}

func init() {
	knownFaults["vlcm_check_fails"] = "vLCM ?action=check reports an error for this host (params: message)"
	knownFaults["vlcm_apply_fails"] = "vLCM ?action=apply fails on this host (params: message)"
	knownFaults["vlcm_task_hangs"] = "vLCM check/apply tasks of this host's cluster never finish"
	knownFaults["vlcm_depot_unreachable"] = "vCenter cannot download depots (set on any host, or *) (params: message)"
}

func (s *vlcmState) next() int { s.seq++; return s.seq }

type vlcmTopo struct {
	Datacenters []struct {
		Clusters []struct {
			Name string `json:"name"`
			Vlcm *struct {
				BaseImage  string            `json:"base_image"`
				Components map[string]string `json:"components"`
			} `json:"vlcm"`
		} `json:"clusters"`
	} `json:"datacenters"`
}

// load builds the cluster table from vcsim's inventory and the topology's "vlcm" declarations. Caller holds mu.
func (s *vlcmState) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	declared := map[string]*vlcmImage{}
	if f := flag.Lookup("topology"); f != nil && f.Value.String() != "" {
		var t vlcmTopo
		if data, err := ioutil.ReadFile(f.Value.String()); err == nil && json.Unmarshal(data, &t) == nil {
			for _, dc := range t.Datacenters {
				for _, c := range dc.Clusters {
					if c.Vlcm != nil {
						declared[c.Name] = &vlcmImage{BaseImage: c.Vlcm.BaseImage, Components: c.Vlcm.Components}
					}
				}
			}
		}
	}
	for _, e := range simulator.Map.All("ClusterComputeResource") {
		cr := e.(*simulator.ClusterComputeResource)
		c := &vlcmCluster{ID: cr.Self.Value, Name: cr.Name, Drafts: map[string]*vlcmDraft{}, Policy: defaultPolicy()}
		if im, ok := declared[cr.Name]; ok {
			c.Managed = true
			if im.Components == nil {
				im.Components = map[string]string{}
			}
			if im.BaseImage == "" {
				if hs := s.hosts(c); len(hs) > 0 {
					im.BaseImage = hostBaseImage(hs[0].Current)
				}
			}
			c.Desired = im
			c.Commit = s.next()
		}
		// OBSERVED (vSphere API 7.0, ComputeResource.lifecycleManaged): "whether or not vLCM is used to manage the
		// compute resource"; the SOAP side reads it there (set on every cluster, as a 7.0+ vCenter does).
		managed := c.Managed
		simulator.Map.WithLock(cr, func() { cr.LifecycleManaged = &managed })
		s.clusters[c.ID] = c
	}
	// OBSERVED (EsxSettingsDepotsOnlineSummary.system_defined): vCenter comes with system-defined online depots;
	// ASSUMED: one, VMware's public URL, never downloaded here (no network but loopback).
	s.online["system-1"] = &vlcmOnline{ID: "system-1", Location: "https://hostupdate.vmware.com/software/VUM/PRODUCTION/main/vmw-depot-index.xml",
		Description: "VMware default depot (not reachable from the simulator)", Enabled: false, System: true}
}

// defaultPolicy: ASSUMED defaults of a fresh vCenter 8 (fail on the first error, VMs' power state unchanged,
// quick boot off, DPM disabled during remediation, HA admission control kept, powered-off VMs not moved).
func defaultPolicy() map[string]interface{} {
	return map[string]interface{}{"failure_action": map[string]interface{}{"action": "FAIL"},
		"pre_remediation_power_action": "DO_NOT_CHANGE_VMS_POWER_STATE", "enable_quick_boot": false,
		"disable_dpm": true, "disable_hac": false, "evacuate_offline_vms": false, "enforce_hcl_validation": false,
		"parallel_remediation_action": map[string]interface{}{"enabled": false}}
}

func (c *vlcmCluster) policyBool(key string) bool {
	v, _ := c.Policy[key].(bool)
	return v
}

// retries: how many more attempts the failure action allows, and the delay between them.
func (c *vlcmCluster) retries() (int, time.Duration) {
	fa, _ := c.Policy["failure_action"].(map[string]interface{})
	if fa == nil || fa["action"] != "RETRY" {
		return 0, 0
	}
	n, _ := fa["retry_count"].(float64)
	d, _ := fa["retry_delay"].(float64)
	return int(n), time.Duration(d) * time.Second
}

func (s *vlcmState) hosts(c *vlcmCluster) []*Host {
	hostsMu.RLock()
	defer hostsMu.RUnlock()
	var out []*Host
	for _, h := range hostOrder {
		if h.Cluster == c.Name {
			out = append(out, h)
		}
	}
	return out
}

func hostBaseImage(img *Image) string {
	if v := img.byName("esx-base"); v != nil {
		return v.Version
	}
	return img.Version + "-0.0." + img.Build
}

// depotFault: the vlcm_depot_unreachable switch on any host.
func depotFault() *FaultSwitch {
	hostsMu.RLock()
	defer hostsMu.RUnlock()
	for _, h := range hostOrder {
		if f := h.fault("vlcm_depot_unreachable"); f != nil {
			return f
		}
	}
	return nil
}

// vcFetcher downloads depots the way vCenter does: real HTTP, the depot fault switch, no host firewall.
func vcFetcher() *Fetcher {
	return &Fetcher{Client: newHTTPClient(cfg.DownloadTimeout), Check: func(u string) error {
		if f := depotFault(); f != nil {
			return fmt.Errorf("%s", f.str("message", "Cannot download metadata from "+u+": connection timed out"))
		}
		return nil
	}}
}

// depots returns every loaded depot that counts (enabled online depots, all offline depots). Caller holds mu.
func (s *vlcmState) depots() []*Depot {
	var out []*Depot
	var ids []string
	for id := range s.online {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if o := s.online[id]; o.Enabled && o.depot != nil {
			out = append(out, o.depot)
		}
	}
	ids = nil
	for id := range s.offline {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if o := s.offline[id]; o.depot != nil {
			out = append(out, o.depot)
		}
	}
	return out
}

// component finds the bulletin of component name/version in the depots (with its depot).
func (s *vlcmState) component(name, version string) (*Bulletin, *Depot) {
	for _, d := range s.depots() {
		for _, b := range d.Bulletins {
			if b.ComponentName == name && b.ComponentVersion == version {
				return b, d
			}
		}
	}
	return nil, nil
}

// baseImageKnown: in a depot (as the ESXi component) or run by a simulated host.
func (s *vlcmState) baseImageKnown(version string) bool {
	if b, _ := s.component("ESXi", version); b != nil {
		return true
	}
	hostsMu.RLock()
	defer hostsMu.RUnlock()
	for _, h := range hostOrder {
		if hostBaseImage(h.Current) == version {
			return true
		}
	}
	return false
}

// displayVersion: ASSUMED form "8.0 U3 - 24022510" (the vSphere Client shows "8.0 U3 - 24022510" style names).
func displayVersion(version string) string {
	ver, rel, _ := splitVR(version)
	f := strings.Split(ver, ".")
	r := strings.Split(rel, ".")
	if len(f) < 3 {
		return version
	}
	out := f[0] + "." + f[1]
	if f[2] != "0" {
		out += " U" + f[2]
	}
	return out + " - " + r[len(r)-1]
}

func (s *vlcmState) baseImageDetails(version string) map[string]interface{} {
	date := "2023-09-21T00:00:00Z"
	if b, _ := s.component("ESXi", version); b != nil && b.ReleaseDate != "" {
		date = isoDate(b.ReleaseDate)
	}
	return map[string]interface{}{"display_name": "ESXi", "display_version": displayVersion(version), "release_date": date}
}

func isoDate(s string) string {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format("2006-01-02T15:04:05.000Z")
		}
	}
	return "1970-01-01T00:00:00.000Z"
}

// validate returns the problems of a draft image (empty: valid), each naming what no depot holds.
func (s *vlcmState) validate(im *vlcmImage) []string {
	var out []string
	if im.BaseImage == "" {
		out = append(out, "The base image is not set.")
	} else if !s.baseImageKnown(im.BaseImage) {
		out = append(out, fmt.Sprintf("Base image version %s is not found in any depot.", im.BaseImage))
	}
	if im.AddOn != nil {
		out = append(out, fmt.Sprintf("Add-on %s version %s is not found in any depot.", im.AddOn.Name, im.AddOn.Version))
	}
	if len(im.HSP) > 0 {
		out = append(out, "No hardware support manager is registered for the hardware support packages.")
	}
	var names []string
	for n := range im.Components {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if b, _ := s.component(n, im.Components[n]); b == nil {
			out = append(out, fmt.Sprintf("Component %s version %s is not found in any depot.", n, im.Components[n]))
		}
	}
	return out
}

// ---------------------------------------------------------------- compliance

type hostComp struct {
	status, impact string
	doc            map[string]interface{}
	cands          []*Vib // VIBs an apply installs
	depot          *Depot
	needBoot       bool
	problems       []string
}

func notifications() map[string]interface{} { return map[string]interface{}{} }

func (s *vlcmState) baseImageInfo(version string) map[string]interface{} {
	return map[string]interface{}{"version": version, "details": s.baseImageDetails(version)}
}

// hostCompliance compares what the host runs (the image that is active) with the desired image. Caller holds mu.
func (s *vlcmState) hostCompliance(c *vlcmCluster, h *Host, now string) *hostComp {
	hc := &hostComp{depot: newDepot()}
	if !h.connected() {
		hc.status, hc.impact = "UNAVAILABLE", "UNKNOWN"
		hc.doc = map[string]interface{}{"impact": "UNKNOWN", "status": "UNAVAILABLE", "notifications": notifications(),
			"scan_time": now, "base_image": map[string]interface{}{"status": "UNAVAILABLE", "current": s.baseImageInfo("unknown"),
				"target": s.baseImageInfo(c.Desired.BaseImage), "notifications": notifications()},
			"add_on":     map[string]interface{}{"status": "UNAVAILABLE", "notifications": notifications()},
			"components": map[string]interface{}{}, "solutions": map[string]interface{}{}, "commit": fmt.Sprint(c.Commit)}
		return hc
	}
	h.mu.Lock()
	img := h.Current
	h.mu.Unlock()
	status := "COMPLIANT"
	worse := func(st string) {
		rank := map[string]int{"COMPLIANT": 0, "NON_COMPLIANT": 1, "INCOMPATIBLE": 2}
		if rank[st] > rank[status] {
			status = st
		}
	}
	cur := hostBaseImage(img)
	bStatus := "COMPLIANT"
	switch cmp := CompareVersions(cur, c.Desired.BaseImage); {
	case cmp > 0:
		bStatus = "INCOMPATIBLE" // ASSUMED: vLCM does not downgrade a host's base image
		hc.problems = append(hc.problems, fmt.Sprintf("Host %s runs ESXi %s, newer than the desired base image %s; downgrades are not supported.", h.Name, cur, c.Desired.BaseImage))
	case cmp < 0:
		bStatus = "NON_COMPLIANT"
		hc.needBoot = true
		if b, d := s.component("ESXi", c.Desired.BaseImage); b != nil {
			hc.addBulletin(b, d)
		} else {
			hc.problems = append(hc.problems, fmt.Sprintf("Base image %s is not available in any depot.", c.Desired.BaseImage))
		}
	}
	worse(bStatus)
	comps := map[string]interface{}{}
	var names []string
	for n := range c.Desired.Components {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		want := c.Desired.Components[n]
		entry := map[string]interface{}{"notifications": notifications(), "target": map[string]interface{}{"version": want},
			"target_source": "USER"}
		b, d := s.component(n, want)
		st := "NON_COMPLIANT"
		if b != nil && hasAllVibs(img, b) {
			st = "COMPLIANT"
		}
		if curVer := s.installedComponentVersion(img, n); curVer != "" {
			entry["current"] = map[string]interface{}{"version": curVer}
			entry["current_source"] = "USER"
			if st != "COMPLIANT" && CompareVersions(curVer, want) > 0 {
				st = "INCOMPATIBLE"
				hc.problems = append(hc.problems, fmt.Sprintf("Host %s has component %s %s, newer than the desired %s.", h.Name, n, curVer, want))
			}
		}
		if st == "NON_COMPLIANT" {
			if b == nil {
				hc.problems = append(hc.problems, fmt.Sprintf("Component %s version %s is not available in any depot.", n, want))
			} else {
				hc.addBulletin(b, d)
			}
		}
		entry["status"] = st
		comps[n] = entry
		worse(st)
	}
	impact := "NO_IMPACT"
	if status != "COMPLIANT" {
		impact = "MAINTENANCE_MODE_REQUIRED"
		for _, v := range hc.cands {
			if !v.LiveInstallAllowed {
				hc.needBoot = true
			}
		}
		if hc.needBoot {
			impact = "REBOOT_REQUIRED"
		}
	}
	hc.status, hc.impact = status, impact
	hc.doc = map[string]interface{}{"impact": impact, "status": status, "notifications": notifications(), "scan_time": now,
		"base_image": map[string]interface{}{"status": bStatus, "current": s.baseImageInfo(cur),
			"target": s.baseImageInfo(c.Desired.BaseImage), "notifications": notifications()},
		"add_on":     map[string]interface{}{"status": "COMPLIANT", "notifications": notifications()},
		"components": comps, "solutions": map[string]interface{}{}, "commit": fmt.Sprint(c.Commit)}
	return hc
}

func (hc *hostComp) addBulletin(b *Bulletin, d *Depot) {
	hc.depot.Bulletins = append(hc.depot.Bulletins, b)
	for _, id := range b.VibIDs {
		if v := d.Vibs[id]; v != nil {
			hc.cands = append(hc.cands, v)
			hc.depot.Vibs[id] = v
		}
	}
}

func hasAllVibs(img *Image, b *Bulletin) bool {
	for _, id := range b.VibIDs {
		if img.byID(id) == nil {
			return false
		}
	}
	return len(b.VibIDs) > 0
}

// installedComponentVersion: the newest depot version of component name whose VIBs the host all has.
func (s *vlcmState) installedComponentVersion(img *Image, name string) string {
	best := ""
	for _, d := range s.depots() {
		for _, b := range d.Bulletins {
			if b.ComponentName == name && hasAllVibs(img, b) && (best == "" || CompareVersions(b.ComponentVersion, best) > 0) {
				best = b.ComponentVersion
			}
		}
	}
	return best
}

// clusterCompliance: EsxSettingsClusterCompliance. Caller holds mu.
func (s *vlcmState) clusterCompliance(c *vlcmCluster) (map[string]interface{}, map[string]*hostComp) {
	now := nowISO()
	lists := map[string][]string{"COMPLIANT": {}, "NON_COMPLIANT": {}, "INCOMPATIBLE": {}, "UNAVAILABLE": {}}
	hosts := map[string]interface{}{}
	info := map[string]interface{}{}
	per := map[string]*hostComp{}
	status, impact := "COMPLIANT", "NO_IMPACT"
	sRank := map[string]int{"COMPLIANT": 0, "UNAVAILABLE": 1, "NON_COMPLIANT": 2, "INCOMPATIBLE": 3}
	iRank := map[string]int{"NO_IMPACT": 0, "PARTIAL_MAINTENANCE_MODE_REQUIRED": 1, "MAINTENANCE_MODE_REQUIRED": 2, "REBOOT_REQUIRED": 3, "UNKNOWN": 4}
	for _, h := range s.hosts(c) {
		hc := s.hostCompliance(c, h, now)
		per[h.Ref.Value] = hc
		hosts[h.Ref.Value] = hc.doc
		info[h.Ref.Value] = map[string]interface{}{"name": h.Name}
		lists[hc.status] = append(lists[hc.status], h.Ref.Value)
		if sRank[hc.status] > sRank[status] {
			status = hc.status
		}
		if iRank[hc.impact] > iRank[impact] {
			impact = hc.impact
		}
	}
	doc := map[string]interface{}{"impact": impact, "status": status, "notifications": notifications(), "scan_time": now,
		"commit": fmt.Sprint(c.Commit), "compliant_hosts": lists["COMPLIANT"], "non_compliant_hosts": lists["NON_COMPLIANT"],
		"incompatible_hosts": lists["INCOMPATIBLE"], "unavailable_hosts": lists["UNAVAILABLE"], "hosts": hosts, "host_info": info}
	return doc, per
}

func nowISO() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// ---------------------------------------------------------------- remediation of one host

// remediateHost: maintenance mode (evacuating VMs as DRS would), install, reboot (the configured downtime,
// the pending image becomes active, as the SOAP side sees it), exit maintenance mode.
// ASSUMED: sequential remediation, VMs moved to other hosts of the cluster, powered-off VMs stay.
// The vlcm_apply_fails switch fails every attempt, or "count" attempts when that parameter is set (one per retry).
// Policy (EsxSettingsClustersPoliciesApplyConfiguredPolicySpec): pre_remediation_power_action POWER_OFF_VMS powers
// the VMs off instead of migrating them, evacuate_offline_vms moves powered-off VMs too (ASSUMED effects; quick
// boot, DPM, HA admission control, HCL and parallel remediation are stored, not modelled).
func remediateHost(h *Host, hc *hostComp, policy map[string]interface{}) error {
	f := h.fault("vlcm_apply_fails")
	if f != nil && f.Params != nil && f.Params["count"] != nil {
		f = h.takeFault("vlcm_apply_fails")
	}
	if f != nil {
		return fmt.Errorf("%s", f.str("message", "Remediation of host "+h.Name+" failed: cannot install the image: [InstallationError] There was an error checking file system on altbootbank."))
	}
	if !h.connected() {
		return fmt.Errorf("Host %s is not connected.", h.Name)
	}
	if policy["pre_remediation_power_action"] == "POWER_OFF_VMS" {
		for _, vm := range h.hostVMs(false) {
			updateLocked(vm, []types.PropertyChange{{Name: "runtime.powerState", Val: types.VirtualMachinePowerStatePoweredOff},
				{Name: "summary.runtime.powerState", Val: types.VirtualMachinePowerStatePoweredOff}})
		}
	}
	if off, _ := policy["evacuate_offline_vms"].(bool); off {
		if targets := h.evacuationTargets(); len(targets) > 0 {
			for i, vm := range h.hostVMs(true) {
				migrateVM(vm, h, targets[i%len(targets)])
			}
		}
	}
	if vms := h.hostVMs(false); len(vms) > 0 {
		targets := h.evacuationTargets()
		if len(targets) == 0 {
			return fmt.Errorf("Host %s cannot enter maintenance mode: %d powered-on virtual machines and no host to migrate them to.", h.Name, len(vms))
		}
		for i, vm := range vms {
			migrateVM(vm, h, targets[i%len(targets)])
		}
	}
	setMM(h, true)
	h.mu.Lock()
	p, err := PlanInstall(h.base(), h.Acceptance, hc.cands, InstallOpts{Mode: "install", MaintenanceOK: true})
	if err != nil {
		h.mu.Unlock()
		setMM(h, false)
		return fmt.Errorf("Remediation of host %s failed: %s", h.Name, strings.TrimSpace(err.Msg))
	}
	if p.Changed() {
		h.applyPlan(p, hc.depot)
	}
	reboot := h.Pending != nil
	h.mu.Unlock()
	if reboot {
		h.mu.Lock()
		h.Rebooting = true
		h.mu.Unlock()
		h.outage(cfg.RebootDown, true)
	}
	setMM(h, false)
	return nil
}

func setMM(h *Host, on bool) {
	h.withHS(func(hs *simulator.HostSystem) {
		simulator.Map.Update(hs, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: on}})
	})
}
