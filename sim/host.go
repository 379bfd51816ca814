package main

// Per-host simulated state (software image, acceptance, GuestStore, faults, connection) and helpers
// shared by the managers.

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type FaultSwitch struct {
	Name   string                 `json:"fault"`
	Params map[string]interface{} `json:"params,omitempty"`
}

func (f *FaultSwitch) str(key, def string) string {
	if f == nil || f.Params == nil {
		return def
	}
	if v, ok := f.Params[key].(string); ok && v != "" {
		return v
	}
	return def
}

func (f *FaultSwitch) num(key string, def float64) float64 {
	if f == nil || f.Params == nil {
		return def
	}
	if v, ok := f.Params[key].(float64); ok {
		return v
	}
	return def
}

type Host struct {
	mu          sync.Mutex
	Name        string
	Ref         types.ManagedObjectReference
	Current     *Image
	Pending     *Image
	Staged      []*Vib
	Acceptance  string
	InstallDate time.Time
	GuestStore  string
	Booted      bool // rebooted since the last install
	BootTime    time.Time
	Down        bool
	Faults      map[string]*FaultSwitch
	DRS         bool // in a DRS-enabled cluster (VC mode)
	Cluster     string
	Datacenter  string
	Standalone  bool
	Rebooting   bool
	lastDepot   *Depot
	stagedDepot *Depot
	Bulletins   map[string][]string // bulletin id -> VIB ids installed from it (for UninstallHostPatch)
}

var (
	hostsMu     sync.RWMutex
	hostsByRef  = map[string]*Host{}
	hostsByName = map[string]*Host{}
	hostOrder   []*Host
)

func registerHost(h *Host) {
	hostsMu.Lock()
	defer hostsMu.Unlock()
	hostsByRef[h.Ref.Value] = h
	hostsByName[h.Name] = h
	hostOrder = append(hostOrder, h)
}

func hostByRef(ref types.ManagedObjectReference) *Host {
	hostsMu.RLock()
	defer hostsMu.RUnlock()
	return hostsByRef[ref.Value]
}

func hostByName(name string) *Host {
	hostsMu.RLock()
	defer hostsMu.RUnlock()
	return hostsByName[name]
}

func (h *Host) hs() *simulator.HostSystem {
	return simulator.Map.Get(h.Ref).(*simulator.HostSystem)
}

// withHS runs f with the vcsim HostSystem locked.
func (h *Host) withHS(f func(hs *simulator.HostSystem)) {
	hs := h.hs()
	simulator.Map.WithLock(hs, func() { f(hs) })
}

func (h *Host) inMaintenance() bool {
	var mm bool
	h.withHS(func(hs *simulator.HostSystem) { mm = hs.Runtime.InMaintenanceMode })
	return mm
}

func (h *Host) connected() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.Down
}

func (h *Host) fault(name string) *FaultSwitch {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.Faults[name]
}

// takeFault returns and (for one-shot faults) consumes a fault switch.
func (h *Host) takeFault(name string) *FaultSwitch {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.Faults[name]
	if f == nil {
		return nil
	}
	n := f.num("count", 1)
	if n <= 1 {
		delete(h.Faults, name)
	} else {
		f.Params["count"] = n - 1
	}
	return f
}

// base returns the image the next install builds on: the pending image if there is one.
// OBSERVED (esxcli): "software vib list --rebooting-image" shows the image that becomes active after
// reboot; ASSUMED: further installs stack on top of it.
func (h *Host) base() *Image {
	if h.Pending != nil {
		return h.Pending
	}
	return h.Current
}

// firewallHTTPClient reports whether the host's httpClient firewall ruleset is enabled.
func (h *Host) firewallHTTPClient() bool {
	enabled := false
	h.withHS(func(hs *simulator.HostSystem) {
		if hs.ConfigManager.FirewallSystem == nil {
			enabled = true
			return
		}
		fw, ok := simulator.Map.Get(*hs.ConfigManager.FirewallSystem).(*simulator.HostFirewallSystem)
		if !ok || fw.FirewallInfo == nil {
			enabled = true
			return
		}
		for _, r := range fw.FirewallInfo.Ruleset {
			if r.Key == "httpClient" {
				enabled = r.Enabled
			}
		}
	})
	return enabled
}

// fetcher builds the host-side downloader: real HTTP, honouring the depot_unreachable fault and
// the host firewall.
func (h *Host) fetcher() *Fetcher {
	return &Fetcher{
		Client: newHTTPClient(cfg.DownloadTimeout),
		Local:  h.localPath,
		Check: func(u string) error {
			if f := h.fault("depot_unreachable"); f != nil {
				// the host cannot reach the depot (network partition / DNS / proxy problem)
				return fmt.Errorf("%s", f.str("message", "[Errno 113] No route to host"))
			}
			if cfg.EnforceFirewall && !h.firewallHTTPClient() {
				// ASSUMED: with the httpClient ruleset disabled, outgoing HTTP from the host fails
				// (OBSERVED: vcsim's captured ESXi 6.5 ruleset list has httpClient disabled by default,
				// and public procedures enable it before online depot updates).
				if hu, err := urlHostPort(u); err == nil {
					return fmt.Errorf("[Errno 111] Connection refused (host firewall ruleset httpClient is disabled; outgoing connection to %s blocked)", hu)
				}
				return fmt.Errorf("[Errno 111] Connection refused (host firewall ruleset httpClient is disabled)")
			}
			return nil
		},
	}
}

func urlHostPort(u string) (string, error) {
	i := strings.Index(u, "://")
	if i < 0 {
		return "", fmt.Errorf("no scheme")
	}
	rest := u[i+3:]
	if j := strings.IndexAny(rest, "/?"); j >= 0 {
		rest = rest[:j]
	}
	if _, _, err := net.SplitHostPort(rest); err != nil {
		return rest, nil
	}
	return rest, nil
}

// localPath maps /vmfs/volumes/<datastore name>/<path> to the datastore's backing folder.
// OBSERVED: esxcli accepts "server file path pointing to an offline bundle .zip" (esxcli help) and
// public procedures use /vmfs/volumes/datastore1/... paths.
func (h *Host) localPath(p string) (string, bool) {
	const prefix = "/vmfs/volumes/"
	if !strings.HasPrefix(p, prefix) {
		return "", false
	}
	rest := strings.TrimPrefix(p, prefix)
	parts := strings.SplitN(rest, "/", 2)
	if len(parts) != 2 {
		return "", false
	}
	dir := datastoreDirs[parts[0]]
	h.withHS(func(hs *simulator.HostSystem) {
		for _, ref := range hs.Datastore {
			ds, ok := simulator.Map.Get(ref).(*simulator.Datastore)
			if !ok {
				continue
			}
			info := ds.Info.GetDatastoreInfo()
			if ds.Name == parts[0] {
				dir = info.Url
			}
		}
	})
	if dir == "" {
		return "", false
	}
	return filepath.Join(dir, filepath.FromSlash(parts[1])), true
}

// setProduct publishes the image's version/build in summary.config.product and config.product (and
// ServiceContent.about in ESX mode).
// OBSERVED: AboutInfo sample "VMware ESXi 8.0.3 build-69507956", productLineId embeddedEsx,
// apiType HostAgent (pyvmomi cassette, see docs/reference).
func (h *Host) setProduct(img *Image) {
	h.withHS(func(hs *simulator.HostSystem) {
		p := *hs.Summary.Config.Product // copy: the esx template pointer is shared between hosts
		p.Name = "VMware ESXi"
		p.Version, p.Build = img.Version, img.Build
		p.FullName = fmt.Sprintf("VMware ESXi %s build-%s", img.Version, img.Build)
		p.ProductLineId = img.ProductLine
		p.ApiVersion = img.APIVersion
		p.ApiType = "HostAgent"
		simulator.Map.Update(hs, []types.PropertyChange{
			{Name: "summary.config.product", Val: &p},
		})
		if hs.Config != nil {
			hs.Config.Product = p
		}
	})
	if cfg.ESX {
		si := simulator.Map.Get(types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"}).(*simulator.ServiceInstance)
		simulator.Map.WithLock(si, func() {
			a := &si.Content.About
			a.Version, a.Build = img.Version, img.Build
			a.FullName = fmt.Sprintf("VMware ESXi %s build-%s", img.Version, img.Build)
			a.Name = "VMware ESXi"
			// the vimServiceVersions.xml negotiation stays at vcsim's API level (6.5); apiVersion in
			// about follows the image for information only.
			a.ApiVersion = img.APIVersion
		})
	}
}

func (h *Host) setConnection(state types.HostSystemConnectionState) {
	h.withHS(func(hs *simulator.HostSystem) {
		simulator.Map.Update(hs, []types.PropertyChange{{Name: "runtime.connectionState", Val: state}})
	})
}

// stateJSON is returned by GET /_sim/state.
func (h *Host) stateJSON() map[string]interface{} {
	h.mu.Lock()
	cur, pend := h.Current, h.Pending
	var pendingIDs interface{}
	if pend != nil {
		pendingIDs = pend.vibIDs()
	}
	staged := ids(h.Staged)
	faults := map[string]interface{}{}
	for k, v := range h.Faults {
		faults[k] = v.Params
	}
	out := map[string]interface{}{
		"name": h.Name, "moref": h.Ref.Value,
		"version": cur.Version, "build": cur.Build, "update": cur.Update, "patch": cur.Patch,
		"profile":      cur.ProfileName(),
		"current_vibs": cur.vibIDs(), "pending_vibs": pendingIDs,
		"pending_version": nil, "pending_build": nil,
		"acceptance":     acceptanceAPIName(h.Acceptance),
		"gueststore_url": h.GuestStore, "staged_vibs": staged,
		"boot_time":    h.BootTime.UTC().Format(time.RFC3339Nano),
		"install_date": h.InstallDate.UTC().Format(time.RFC3339Nano),
		"faults":       faults, "down": h.Down,
		"cluster": h.Cluster, "datacenter": h.Datacenter, "drs": h.DRS,
	}
	if pend != nil {
		out["pending_version"], out["pending_build"] = pend.Version, pend.Build
	}
	h.mu.Unlock()
	h.withHS(func(hs *simulator.HostSystem) {
		out["maintenance"] = hs.Runtime.InMaintenanceMode
		out["connection_state"] = string(hs.Runtime.ConnectionState)
	})
	var vms []string
	for _, vm := range h.hostVMs(true) {
		simulator.Map.WithLock(vm, func() { vms = append(vms, vm.Name+":"+string(vm.Runtime.PowerState)) })
	}
	out["vms"] = vms
	out["http_client_enabled"] = h.firewallHTTPClient()
	return out
}

// imageAfterVersionChange: when esx-base changes, the host's version/build follow its esx-version
// provide. OBSERVED: esx-base provides esx-version = <version>-<release ending in build> (6.7.0 GA).
func imageVersionFromBase(img *Image) {
	for _, v := range img.Vibs {
		for _, p := range v.Provides {
			if p.Name == "esx-version" && p.Version != "" {
				ver, rel, _ := splitVR(p.Version)
				f := strings.Split(rel, ".")
				if ver != img.Version || f[len(f)-1] != img.Build {
					img.Version = ver
					img.Build = f[len(f)-1]
					if vf := strings.Split(ver, "."); len(vf) == 3 {
						img.Update = vf[2]
					}
					if len(f) >= 2 {
						img.Patch = f[len(f)-2]
					}
				}
			}
		}
	}
}

var _ = mo.HostSystem{}
