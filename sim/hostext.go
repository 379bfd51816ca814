package main

// HostSystem methods that vcsim 0.24.2 lacks or models too simply. The front handler (front.go)
// rewrites `_this type="HostSystem"` to "HostSystemExt" for these methods only, so vcsim's own
// HostSystem object stays untouched (replacing it breaks vcsim's internal type assertions).
//
// OBSERVED: RebootHost_Task(force) / ShutdownHost_Task(force) fail with InvalidState outside
// maintenance mode unless force (API reference); EnterMaintenanceMode_Task(timeout,
// evacuatePoweredOffVms, maintenanceSpec) faults InvalidState, Timedout (API reference);
// HostSystem.RetrieveManagedMethodExecuter is how govc/PowerCLI run esxcli.

import (
	"reflect"
	"sort"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type RetrieveMMERequest struct {
	This types.ManagedObjectReference `xml:"_this"`
}
type RetrieveMMEResponse struct {
	Returnval *types.ManagedObjectReference `xml:"urn:vim25 returnval"`
}
type RetrieveMMEBody struct {
	Req    *RetrieveMMERequest  `xml:"urn:vim25 RetrieveManagedMethodExecuter,omitempty"`
	Res    *RetrieveMMEResponse `xml:"urn:vim25 RetrieveManagedMethodExecuterResponse,omitempty"`
	Fault_ *soap.Fault          `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *RetrieveMMEBody) Fault() *soap.Fault { return b.Fault_ }

type RetrieveDTMRequest struct {
	This types.ManagedObjectReference `xml:"_this"`
}
type RetrieveDTMResponse struct {
	Returnval *types.ManagedObjectReference `xml:"urn:vim25 returnval"`
}
type RetrieveDTMBody struct {
	Req    *RetrieveDTMRequest  `xml:"urn:vim25 RetrieveDynamicTypeManager,omitempty"`
	Res    *RetrieveDTMResponse `xml:"urn:vim25 RetrieveDynamicTypeManagerResponse,omitempty"`
	Fault_ *soap.Fault          `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *RetrieveDTMBody) Fault() *soap.Fault { return b.Fault_ }

func init() {
	types.Add("RetrieveManagedMethodExecuter", reflect.TypeOf((*RetrieveMMERequest)(nil)).Elem())
	types.Add("RetrieveDynamicTypeManager", reflect.TypeOf((*RetrieveDTMRequest)(nil)).Elem())
}

// extMethods are routed to HostSystemExt by the front handler.
var extMethods = []string{"RebootHost_Task", "ShutdownHost_Task", "RetrieveManagedMethodExecuter",
	"RetrieveDynamicTypeManager", "EnterMaintenanceMode_Task", "ExitMaintenanceMode_Task", "RetrieveHardwareUptime"}

type HostExt struct {
	Self types.ManagedObjectReference
	host *Host
	mme  *MethodExecuter
}

func (e *HostExt) Reference() types.ManagedObjectReference { return e.Self }

func (e *HostExt) RetrieveManagedMethodExecuter(*RetrieveMMERequest) soap.HasFault {
	if !e.host.connected() {
		return &RetrieveMMEBody{Fault_: notConnected()}
	}
	ref := e.mme.Self
	return &RetrieveMMEBody{Res: &RetrieveMMEResponse{Returnval: &ref}}
}

func (e *HostExt) RetrieveDynamicTypeManager(*RetrieveDTMRequest) soap.HasFault {
	// OBSERVED moid on ESXi: ha-dynamic-type-manager (docs/reference); only the moref is modelled
	ref := types.ManagedObjectReference{Type: "InternalDynamicTypeManager", Value: "ha-dynamic-type-manager"}
	if !cfg.ESX {
		ref.Value += "-" + e.host.Ref.Value
	}
	return &RetrieveDTMBody{Res: &RetrieveDTMResponse{Returnval: &ref}}
}

func (e *HostExt) RetrieveHardwareUptime(*types.RetrieveHardwareUptime) soap.HasFault {
	if !e.host.connected() {
		return &methods.RetrieveHardwareUptimeBody{Fault_: notConnected()}
	}
	e.host.mu.Lock()
	up := time.Since(e.host.BootTime).Seconds()
	e.host.mu.Unlock()
	return &methods.RetrieveHardwareUptimeBody{Res: &types.RetrieveHardwareUptimeResponse{Returnval: int64(up)}}
}

// ---------------------------------------------------------------- maintenance mode

// hostVMs returns the host's VMs (powered-on ones only unless includeOff). The HostSystem must not be
// locked by the caller: VMs are locked one by one, never while holding the host lock.
func (h *Host) hostVMs(includeOff bool) []*simulator.VirtualMachine {
	var refs []types.ManagedObjectReference
	h.withHS(func(hs *simulator.HostSystem) { refs = append(refs, hs.Vm...) })
	var out []*simulator.VirtualMachine
	for _, ref := range refs {
		vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
		if !ok {
			continue
		}
		on := false
		simulator.Map.WithLock(vm, func() { on = vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn })
		if includeOff || on {
			out = append(out, vm)
		}
	}
	return out
}

// evacuationTargets: other connected hosts of the same DRS cluster that are not in maintenance mode,
// fewest VMs first.
func (h *Host) evacuationTargets() []*Host {
	if cfg.ESX || !h.DRS || h.Cluster == "" {
		return nil
	}
	var out []*Host
	hostsMu.RLock()
	for _, o := range hostOrder {
		if o != h && o.Cluster == h.Cluster && o.Datacenter == h.Datacenter && o.connected() {
			out = append(out, o)
		}
	}
	hostsMu.RUnlock()
	var ok []*Host
	count := map[*Host]int{}
	for _, o := range out {
		inMM := false
		o.withHS(func(hs *simulator.HostSystem) {
			inMM = hs.Runtime.InMaintenanceMode || hs.Runtime.ConnectionState != types.HostSystemConnectionStateConnected
			count[o] = len(hs.Vm)
		})
		if !inMM {
			ok = append(ok, o)
		}
	}
	sort.SliceStable(ok, func(i, j int) bool { return count[ok[i]] < count[ok[j]] })
	return ok
}

// migrateVM moves a VM to another host (vMotion as DRS would do it).
func migrateVM(vm *simulator.VirtualMachine, from, to *Host) {
	ref := to.Ref
	updateLocked(vm, []types.PropertyChange{
		{Name: "runtime.host", Val: &ref},
		{Name: "summary.runtime.host", Val: &ref},
	})
	from.withHS(func(hs *simulator.HostSystem) {
		var keep []types.ManagedObjectReference
		for _, r := range hs.Vm {
			if r != vm.Self {
				keep = append(keep, r)
			}
		}
		simulator.Map.Update(hs, []types.PropertyChange{{Name: "vm", Val: keep}})
	})
	to.withHS(func(hs *simulator.HostSystem) {
		simulator.Map.Update(hs, []types.PropertyChange{{Name: "vm", Val: append(append([]types.ManagedObjectReference{}, hs.Vm...), vm.Self)}})
	})
}

func (e *HostExt) EnterMaintenanceModeTask(req *types.EnterMaintenanceMode_Task) soap.HasFault {
	h := e.host
	body := &methods.EnterMaintenanceMode_TaskBody{}
	if !h.connected() {
		body.Fault_ = notConnected()
		return body
	}
	evacOff := req.EvacuatePoweredOffVms != nil && *req.EvacuatePoweredOffVms
	task := simulator.CreateTask(h.hs(), "enterMaintenanceMode", func(t *simulator.Task) (types.AnyType, types.BaseMethodFault) {
		if h.inMaintenance() {
			return nil, nil // ASSUMED: entering again is a no-op success
		}
		deadline := time.Time{}
		if req.Timeout > 0 {
			deadline = time.Now().Add(time.Duration(req.Timeout) * time.Second)
		}
		for {
			if !h.connected() {
				return nil, &types.HostNotConnected{}
			}
			vms := h.hostVMs(false)
			if len(vms) > 0 {
				// OBSERVED (vSphere docs): in a fully automated DRS cluster, entering maintenance mode
				// migrates powered-on VMs to other hosts. ASSUMED: instant vMotion, round-robin placement.
				if targets := h.evacuationTargets(); len(targets) > 0 {
					if evacOff {
						vms = h.hostVMs(true)
					}
					for i, vm := range vms {
						migrateVM(vm, h, targets[i%len(targets)])
					}
					continue
				}
				// OBSERVED (API docs): the task waits until all powered-on VMs are powered off or moved;
				// with a timeout it fails with Timedout. ASSUMED: timeout 0 waits forever.
				if !deadline.IsZero() && time.Now().After(deadline) {
					return nil, &types.Timedout{}
				}
				time.Sleep(100 * time.Millisecond)
				continue
			}
			h.withHS(func(hs *simulator.HostSystem) {
				simulator.Map.Update(hs, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: true}})
			})
			return nil, nil
		}
	})
	task.Info.Entity = &h.Ref
	task.Info.EntityName = h.Name
	task.Info.DescriptionId = "HostSystem.enterMaintenanceMode"
	updateLocked(task, []types.PropertyChange{{Name: "info.state", Val: types.TaskInfoStateRunning}})
	go runTask(task)
	body.Res = &types.EnterMaintenanceMode_TaskResponse{Returnval: task.Self}
	return body
}

func (e *HostExt) ExitMaintenanceModeTask(req *types.ExitMaintenanceMode_Task) soap.HasFault {
	h := e.host
	body := &methods.ExitMaintenanceMode_TaskBody{}
	if !h.connected() {
		body.Fault_ = notConnected()
		return body
	}
	// ASSUMED: exiting is immediate (timeout ignored)
	task := simulator.CreateTask(h.hs(), "exitMaintenanceMode", func(t *simulator.Task) (types.AnyType, types.BaseMethodFault) {
		h.withHS(func(hs *simulator.HostSystem) {
			simulator.Map.Update(hs, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: false}})
		})
		return nil, nil
	})
	task.Info.Entity = &h.Ref
	task.Info.EntityName = h.Name
	body.Res = &types.ExitMaintenanceMode_TaskResponse{Returnval: runTask(task)}
	return body
}

// ---------------------------------------------------------------- reboot / shutdown / outages

func (e *HostExt) RebootHostTask(req *types.RebootHost_Task) soap.HasFault {
	return e.powerCycle(req.Force, true)
}

func (e *HostExt) ShutdownHostTask(req *types.ShutdownHost_Task) soap.HasFault {
	body := &methods.ShutdownHost_TaskBody{}
	r := e.powerCycle(req.Force, false).(*methods.RebootHost_TaskBody)
	body.Fault_ = r.Fault_
	if r.Res != nil {
		body.Res = &types.ShutdownHost_TaskResponse{Returnval: r.Res.Returnval}
	}
	return body
}

func (e *HostExt) powerCycle(force, reboot bool) soap.HasFault {
	h := e.host
	body := &methods.RebootHost_TaskBody{}
	if !h.connected() {
		body.Fault_ = notConnected()
		return body
	}
	if !force && !h.inMaintenance() {
		body.Fault_ = simulator.Fault("The operation is not allowed in the current state.", &types.InvalidState{})
		return body
	}
	name := "reboot"
	if !reboot {
		name = "shutdown"
	}
	task := simulator.CreateTask(h.hs(), name, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) { return nil, nil })
	task.Info.Entity = &h.Ref
	task.Info.EntityName = h.Name
	ref := runTask(task)
	h.mu.Lock()
	h.Rebooting = true
	h.mu.Unlock()
	go func() {
		time.Sleep(300 * time.Millisecond) // let the client see the task succeed first
		if reboot {
			h.outage(cfg.RebootDown, true)
		} else {
			h.shutdown()
		}
	}()
	body.Res = &types.RebootHost_TaskResponse{Returnval: ref}
	return body
}

// goDown marks the host unreachable: in ESX mode the front handler drops every connection and all
// sessions are invalidated (hostd restarts); through vCenter the host becomes notResponding.
// OBSERVED (prototype against pyvmomi, docs/reference 1e): direct ESXi reboot drops TCP and old
// sessions give NotAuthenticated; vCenter shows notResponding -> connected. UNVERIFIED: exact states.
func (h *Host) goDown() {
	h.mu.Lock()
	h.Down = true
	h.mu.Unlock()
	h.setConnection(types.HostSystemConnectionStateNotResponding)
	if cfg.ESX {
		front.setDown(true)
		terminateAllSessions()
	}
	logf("host %s down", h.Name)
}

// comeUp: OBSERVED (docs/reference 1e): after a reboot the host is still in maintenance mode, has a new
// runtime.bootTime and reports the new build; ASSUMED: staged VIBs are discarded by a reboot.
func (h *Host) comeUp(boot bool) {
	h.mu.Lock()
	var img *Image
	if boot {
		if h.Pending != nil {
			h.Current, h.Pending = h.Pending, nil
		}
		h.Staged = nil
		h.Booted = true
		h.BootTime = time.Now().UTC()
		img = h.Current
	}
	bt := h.BootTime
	h.Down = false
	h.Rebooting = false
	h.mu.Unlock()
	if boot {
		h.setProduct(img)
		h.withHS(func(hs *simulator.HostSystem) {
			b := bt
			simulator.Map.Update(hs, []types.PropertyChange{{Name: "runtime.bootTime", Val: &b}})
		})
		// ASSUMED: VMs that were still running are powered off by the reboot
		for _, vm := range h.hostVMs(false) {
			updateLocked(vm, []types.PropertyChange{{Name: "runtime.powerState", Val: types.VirtualMachinePowerStatePoweredOff},
				{Name: "summary.runtime.powerState", Val: types.VirtualMachinePowerStatePoweredOff}})
		}
	}
	h.setConnection(types.HostSystemConnectionStateConnected)
	if cfg.ESX {
		front.setDown(false)
	}
	logf("host %s up (build %s)", h.Name, h.Current.Build)
}

// outage takes the host down for d; with boot it is a reboot (pending image becomes active).
// The reboot_never_returns fault keeps the host down until the fault is cleared.
func (h *Host) outage(d time.Duration, boot bool) {
	h.goDown()
	time.Sleep(d)
	if boot {
		for h.fault("reboot_never_returns") != nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
	h.comeUp(boot)
}

// shutdown: ASSUMED: the host stays off until POST /_sim/power_on (or /_sim/clear for the host), then
// boots like a reboot (pending image becomes active).
func (h *Host) shutdown() {
	h.goDown()
	h.mu.Lock()
	if h.Faults == nil {
		h.Faults = map[string]*FaultSwitch{}
	}
	h.Faults["powered_off"] = &FaultSwitch{Name: "powered_off", Params: map[string]interface{}{}}
	h.mu.Unlock()
	for h.fault("powered_off") != nil {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(cfg.RebootDown)
	h.comeUp(true)
}
