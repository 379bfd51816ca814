package main

// Inventory from a topology JSON: ESX mode (one standalone ESXi, vcsim ESX model) or vCenter mode
// (datacenters -> clusters -> hosts, plus standalone hosts), with shared datastores and powered-on VMs.

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"os"
	"path"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type TopoHost struct {
	Name          string `json:"name"`
	Image         string `json:"image"`
	PoweredOnVMs  int    `json:"powered_on_vms"`
	PoweredOffVMs int    `json:"powered_off_vms"`
	Acceptance    string `json:"acceptance_level"`
	Maintenance   bool   `json:"maintenance"`
	HTTPClient    *bool  `json:"http_client_enabled"`
}

type TopoCluster struct {
	Name       string     `json:"name"`
	DRS        *bool      `json:"drs"`
	Datastores []string   `json:"datastores"`
	Hosts      []TopoHost `json:"hosts"`
}

type TopoDC struct {
	Name     string        `json:"name"`
	Clusters []TopoCluster `json:"clusters"`
	Hosts    []TopoHost    `json:"hosts"`
}

type Topology struct {
	Datacenters []TopoDC   `json:"datacenters"`
	Hosts       []TopoHost `json:"hosts"` // ESX mode (or standalone hosts in a default DC in VC mode)
}

func loadTopology(p string) (*Topology, error) {
	t := &Topology{}
	if p == "" {
		return t, nil
	}
	data, err := ioutil.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, t); err != nil {
		return nil, fmt.Errorf("topology %s: %v", p, err)
	}
	return t, nil
}

func defaultImage(img string) string {
	if img == "" {
		return "esxi-8.0u2.json"
	}
	return img
}

var tempDirs []string

// datastoreDirs maps a datastore uuid (as in /vmfs/volumes/<uuid>) to its backing folder.
var datastoreDirs = map[string]string{}

// datastoreUUID: VMFS-style uuid "xxxxxxxx-xxxxxxxx-xxxx-xxxxxxxxxxxx", stable per datastore name.
func datastoreUUID(name string) string {
	sum := sha1.Sum([]byte("esxisim-datastore/" + name))
	h := hex.EncodeToString(sum[:])
	return h[0:8] + "-" + h[8:16] + "-" + h[16:20] + "-" + h[20:32]
}

func newDatastoreDir(name string) (string, error) {
	dir, err := ioutil.TempDir("", "esxisim-ds-"+strings.NewReplacer("/", "_", " ", "_").Replace(name)+"-")
	if err == nil {
		tempDirs = append(tempDirs, dir)
	}
	return dir, err
}

func removeTempDirs() {
	for _, d := range tempDirs {
		_ = os.RemoveAll(d)
	}
}

type builder struct {
	ctx    context.Context
	client *vim25.Client
	model  *simulator.Model
	seq    int
}

// buildInventory creates the model and registers every host.
func buildInventory(t *Topology) (*simulator.Model, error) {
	var model *simulator.Model
	if cfg.ESX {
		model = simulator.ESX()
	} else {
		model = simulator.VPX()
		model.Datacenter, model.Host, model.Cluster, model.ClusterHost, model.Portgroup = 0, 0, 0, 0, 0
	}
	model.Datastore, model.Machine, model.Autostart = 0, 0, false
	if err := model.Create(); err != nil {
		return nil, err
	}
	c, err := vim25.NewClient(context.Background(), model.Service)
	if err != nil {
		return nil, err
	}
	b := &builder{ctx: context.Background(), client: c, model: model}
	if cfg.ESX {
		return model, b.buildESX(t)
	}
	return model, b.buildVC(t)
}

func (b *builder) buildESX(t *Topology) error {
	var th TopoHost
	switch {
	case len(t.Hosts) > 0:
		th = t.Hosts[0]
	case len(t.Datacenters) > 0 && len(t.Datacenters[0].Hosts) > 0:
		th = t.Datacenters[0].Hosts[0]
	case len(t.Datacenters) > 0 && len(t.Datacenters[0].Clusters) > 0 && len(t.Datacenters[0].Clusters[0].Hosts) > 0:
		th = t.Datacenters[0].Clusters[0].Hosts[0]
	default:
		th = TopoHost{Name: "esxi-01.sim.local"}
	}
	if th.Name == "" {
		th.Name = "esxi-01.sim.local"
	}
	hs := simulator.Map.Get(esx.HostSystem.Reference()).(*simulator.HostSystem)
	// rename vcsim's "localhost.localdomain" host and its ComputeResource
	simulator.Map.Update(hs, []types.PropertyChange{{Name: "name", Val: th.Name}, {Name: "summary.config.name", Val: th.Name}})
	if cr, ok := simulator.Map.Get(*hs.Parent).(*mo.ComputeResource); ok {
		simulator.Map.Update(cr, []types.PropertyChange{{Name: "name", Val: th.Name}})
	}
	host := object.NewHostSystem(b.client, hs.Reference())
	// OBSERVED: a fresh ESXi names its first VMFS datastore "datastore1"
	if err := b.localDatastore("datastore1", []*object.HostSystem{host}); err != nil {
		return err
	}
	dc := object.NewDatacenter(b.client, esx.Datacenter.Reference())
	if err := b.setupHost(hs, th, "ha-datacenter", "", false); err != nil {
		return err
	}
	return b.createVMs(dc, host, nil, th, "datastore1")
}

func (b *builder) localDatastore(name string, hosts []*object.HostSystem) error {
	dir, err := newDatastoreDir(name)
	if err != nil {
		return err
	}
	var dsRef *types.ManagedObjectReference
	var mounts []types.DatastoreHostMount
	for _, h := range hosts {
		dss, err := h.ConfigManager().DatastoreSystem(b.ctx)
		if err != nil {
			return err
		}
		ds, err := dss.CreateLocalDatastore(b.ctx, name, dir)
		if err != nil {
			return err
		}
		r := ds.Reference()
		dsRef = &r
		mounts = append(mounts, types.DatastoreHostMount{Key: h.Reference(), MountInfo: types.HostMountInfo{
			AccessMode: string(types.HostMountModeReadWrite), Mounted: types.NewBool(true), Accessible: types.NewBool(true)}})
	}
	if dsRef != nil {
		// vcsim keeps only the last mount when the same datastore is added to several hosts
		if ds, ok := simulator.Map.Get(*dsRef).(*simulator.Datastore); ok {
			// OBSERVED: ESXi datastore URLs look like ds:///vmfs/volumes/<uuid>/ (GuestStore docs, AVS
			// script); vcsim puts its temp folder there. info.url stays the folder (vcsim serves files from it).
			uuid := datastoreUUID(name)
			datastoreDirs[uuid] = dir
			simulator.Map.Update(ds, []types.PropertyChange{{Name: "host", Val: mounts},
				{Name: "summary.url", Val: "ds:///vmfs/volumes/" + uuid + "/"}})
			if len(hosts) > 1 {
				ds.Summary.MultipleHostAccess = types.NewBool(true)
			}
		}
	}
	return nil
}

func (b *builder) buildVC(t *Topology) error {
	root := object.NewRootFolder(b.client)
	dcs := t.Datacenters
	if len(t.Hosts) > 0 {
		dcs = append(dcs, TopoDC{Name: "DC-standalone", Hosts: t.Hosts})
	}
	if len(dcs) == 0 {
		yes := true
		dcs = []TopoDC{{Name: "DC1", Clusters: []TopoCluster{{Name: "C1", DRS: &yes, Hosts: []TopoHost{
			{Name: "esxi-01.sim.local"}, {Name: "esxi-02.sim.local"}, {Name: "esxi-03.sim.local"}}}},
			Hosts: []TopoHost{{Name: "esxi-10.sim.local"}}}}
	}
	for _, tdc := range dcs {
		dc, err := root.CreateDatacenter(b.ctx, tdc.Name)
		if err != nil {
			return err
		}
		folders, err := dc.Folders(b.ctx)
		if err != nil {
			return err
		}
		for _, tc := range tdc.Clusters {
			drs := tc.DRS == nil || *tc.DRS
			spec := types.ClusterConfigSpecEx{}
			if drs {
				spec.DrsConfig = &types.ClusterDrsConfigInfo{Enabled: types.NewBool(true),
					DefaultVmBehavior: types.DrsBehaviorFullyAutomated}
			}
			cluster, err := folders.HostFolder.CreateCluster(b.ctx, tc.Name, spec)
			if err != nil {
				return err
			}
			var hosts []*object.HostSystem
			for _, th := range tc.Hosts {
				task, err := cluster.AddHost(b.ctx, types.HostConnectSpec{HostName: th.Name, Force: true}, true, nil, nil)
				if err != nil {
					return err
				}
				info, err := task.WaitForResult(b.ctx, nil)
				if err != nil {
					return fmt.Errorf("add host %s: %v", th.Name, err)
				}
				hosts = append(hosts, object.NewHostSystem(b.client, info.Result.(types.ManagedObjectReference)))
			}
			dsNames := tc.Datastores
			if len(dsNames) == 0 {
				dsNames = []string{tc.Name + "-shared"}
			}
			if len(hosts) > 0 {
				for _, n := range dsNames {
					if err := b.localDatastore(n, hosts); err != nil {
						return err
					}
				}
			}
			pool, err := cluster.ResourcePool(b.ctx)
			if err != nil {
				return err
			}
			for i, th := range tc.Hosts {
				hs := simulator.Map.Get(hosts[i].Reference()).(*simulator.HostSystem)
				if err := b.setupHost(hs, th, tdc.Name, tc.Name, drs); err != nil {
					return err
				}
				if err := b.createVMs(dc, hosts[i], pool, th, dsNames[0]); err != nil {
					return err
				}
			}
		}
		for _, th := range tdc.Hosts {
			task, err := folders.HostFolder.AddStandaloneHost(b.ctx, types.HostConnectSpec{HostName: th.Name, Force: true}, true, nil, nil)
			if err != nil {
				return err
			}
			info, err := task.WaitForResult(b.ctx, nil)
			if err != nil {
				return fmt.Errorf("add host %s: %v", th.Name, err)
			}
			host := object.NewHostSystem(b.client, info.Result.(types.ManagedObjectReference))
			short := strings.SplitN(th.Name, ".", 2)[0]
			dsName := short + "-local"
			if err := b.localDatastore(dsName, []*object.HostSystem{host}); err != nil {
				return err
			}
			hs := simulator.Map.Get(host.Reference()).(*simulator.HostSystem)
			if err := b.setupHost(hs, th, tdc.Name, "", false); err != nil {
				return err
			}
			if err := b.createVMs(dc, host, nil, th, dsName); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *builder) createVMs(dc *object.Datacenter, host *object.HostSystem, pool *object.ResourcePool, th TopoHost, ds string) error {
	n := th.PoweredOnVMs + th.PoweredOffVMs
	if n == 0 {
		return nil
	}
	folders, err := dc.Folders(b.ctx)
	if err != nil {
		return err
	}
	if pool == nil {
		if pool, err = host.ResourcePool(b.ctx); err != nil {
			return err
		}
	}
	short := strings.SplitN(th.Name, ".", 2)[0]
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-vm%02d", short, i+1)
		spec := types.VirtualMachineConfigSpec{Name: name, GuestId: string(types.VirtualMachineGuestOsIdentifierOtherGuest64),
			NumCPUs: 1, MemoryMB: 256, Files: &types.VirtualMachineFileInfo{VmPathName: "[" + ds + "]"}}
		task, err := folders.VmFolder.CreateVM(b.ctx, spec, pool, host)
		if err != nil {
			return err
		}
		info, err := task.WaitForResult(b.ctx, nil)
		if err != nil {
			return fmt.Errorf("create vm %s: %v", name, err)
		}
		if i < th.PoweredOnVMs {
			vm := object.NewVirtualMachine(b.client, info.Result.(types.ManagedObjectReference))
			ptask, err := vm.PowerOn(b.ctx)
			if err != nil {
				return err
			}
			if err := ptask.Wait(b.ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// setupHost attaches the simulated software state and the extra managers to a vcsim HostSystem.
func (b *builder) setupHost(hs *simulator.HostSystem, th TopoHost, dc, cluster string, drs bool) error {
	li, err := LoadImage(defaultImage(th.Image), cfg.ImagesDir, cfg.Root)
	if err != nil {
		return err
	}
	h := &Host{Name: th.Name, Ref: hs.Self, Current: li.Image.clone(), Acceptance: li.Acceptance,
		InstallDate: li.InstallDate, Faults: map[string]*FaultSwitch{}, Datacenter: dc, Cluster: cluster,
		DRS: drs, Standalone: cluster == ""}
	if a := normAcceptance(th.Acceptance); a != "" {
		h.Acceptance = a
	}
	if hs.Runtime.BootTime != nil {
		h.BootTime = hs.Runtime.BootTime.UTC()
	} else {
		h.BootTime = time.Now().UTC()
	}
	b.seq++
	id := strings.TrimPrefix(hs.Self.Value, "host-")
	pmRef := types.ManagedObjectReference{Type: "HostPatchManager", Value: "ha-host-patch-manager"}
	icRef := types.ManagedObjectReference{Type: "HostImageConfigManager", Value: "ha-image-config-manager"}
	mmeRef := types.ManagedObjectReference{Type: "ReflectManagedMethodExecuter", Value: "ha-managed-method-executer"} // ASSUMED moid
	if !cfg.ESX {
		// OBSERVED: vCenter morefs like patchManager-14 / imageConfigManager-14 (pyvmomi cassette)
		pmRef.Value = "patchManager-" + id
		icRef.Value = "imageConfigManager-" + id
		mmeRef.Value = "managedMethodExecuter-" + id
	}
	simulator.Map.Put(&PatchManager{HostPatchManager: mo.HostPatchManager{Self: pmRef}, host: h})
	simulator.Map.Put(&ImageConfigManager{HostImageConfigManager: mo.HostImageConfigManager{Self: icRef}, host: h})
	mme := &MethodExecuter{Self: mmeRef, host: h}
	simulator.Map.Put(mme)
	simulator.Map.Put(&HostExt{Self: types.ManagedObjectReference{Type: "HostSystemExt", Value: hs.Self.Value}, host: h, mme: mme})

	// per-host firewall rulesets (vcsim shares the template's slice between hosts)
	if hs.ConfigManager.FirewallSystem != nil {
		if fw, ok := simulator.Map.Get(*hs.ConfigManager.FirewallSystem).(*simulator.HostFirewallSystem); ok {
			info := *fw.FirewallInfo
			info.Ruleset = append([]types.HostFirewallRuleset(nil), fw.FirewallInfo.Ruleset...)
			httpOn := th.HTTPClient
			if httpOn == nil {
				httpOn = li.HTTPClient
			}
			for i := range info.Ruleset {
				// OBSERVED: httpClient disabled by default (vcsim's ruleset list captured from ESXi 6.5)
				if info.Ruleset[i].Key == "httpClient" && httpOn != nil {
					info.Ruleset[i].Enabled = *httpOn
				}
			}
			fw.FirewallInfo = &info
		}
	}
	hsCopy := hs
	simulator.Map.WithLock(hsCopy, func() {
		hs.ConfigManager.PatchManager = &pmRef
		hs.ConfigManager.ImageConfigManager = &icRef
		simulator.Map.Update(hs, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: th.Maintenance}})
	})
	registerHost(h)
	h.setProduct(h.Current)
	return nil
}

var _ = path.Join
