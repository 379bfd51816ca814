package main

// Task helper: vcsim 0.24.2 runs tasks synchronously; patch tasks here can run asynchronously
// (global -task-delay, per-host slow_tasks fault) so clients have to poll/wait like on real hosts.

import (
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type taskFunc func(t *simulator.Task) (types.AnyType, types.BaseMethodFault)

// taskFault builds the fault configured by the task_error switch.
// ASSUMED: which faults a test wants is up to the test; the default is PlatformConfigFault.
func taskFault(f *FaultSwitch) types.BaseMethodFault {
	text := f.str("text", "Simulated task failure (task_error fault switch)")
	switch f.str("type", f.str("fault", "PlatformConfigFault")) {
	case "RequestCanceled":
		return &types.RequestCanceled{}
	case "TaskInProgress":
		return &types.TaskInProgress{}
	case "InvalidState":
		return &types.InvalidState{}
	case "HostNotConnected":
		return &types.HostNotConnected{}
	case "InvalidArgument":
		return &types.InvalidArgument{InvalidProperty: f.str("property", "metaUrls")}
	case "SystemError":
		return &types.SystemError{Reason: text}
	case "Timedout":
		return &types.Timedout{}
	case "NotEnoughLicenses":
		return &types.NotEnoughLicenses{}
	}
	return &types.PlatformConfigFault{Text: text}
}

// runHostTask creates a Task bound to the host entity. Before running fn it honours the host's
// connection state (HostNotConnected, OBSERVED for vCenter-managed hosts), the task_error and
// slow_tasks fault switches and the global task delay.
//
// short is the vmodl method name ("InstallV2"), wsdl the WSDL name ("InstallHostPatchV2_Task"),
// descr the TaskInfo.descriptionId. OBSERVED: a real ESXi 8.0U3 task id
// "haTask-ha-host-vim.host.PatchManager.InstallV2-..." (w2c/letsencrypt-esxi#46).
func runHostTask(self mo.Reference, h *Host, short, wsdl, descr string, patchTask bool, fn taskFunc) types.ManagedObjectReference {
	task := simulator.CreateTask(self, wsdl, func(t *simulator.Task) (types.AnyType, types.BaseMethodFault) {
		if !h.connected() {
			return nil, &types.HostNotConnected{}
		}
		if patchTask {
			if f := h.takeFault("task_error"); f != nil {
				if m := f.str("method", ""); m == "" || m == short || m == wsdl {
					return nil, taskFault(f)
				}
				// not for this method: put it back
				h.mu.Lock()
				h.Faults["task_error"] = f
				h.mu.Unlock()
			}
		}
		return fn(t)
	})
	task.Info.Entity = &h.Ref
	task.Info.EntityName = h.Name
	task.Info.DescriptionId = descr
	task.Info.Name = short
	delay := cfg.TaskDelay
	if f := h.fault("slow_tasks"); f != nil {
		delay += time.Duration(f.num("seconds", 2) * float64(time.Second))
	}
	if delay <= 0 {
		return runTask(task)
	}
	go func() {
		// show the task running for the duration (clients see queued -> running -> success/error)
		updateLocked(task, []types.PropertyChange{
			{Name: "info.state", Val: types.TaskInfoStateRunning},
			{Name: "info.startTime", Val: time.Now()},
		})
		time.Sleep(delay)
		runTask(task)
	}()
	return task.Self
}

// faultMessage: the localized message of a task error. vcsim 0.24.2's Task.Run puts the Go type name
// there ("*types.PlatformConfigFault"); real servers send a sentence.
// OBSERVED (vSphere UI/API messages): "Unable to communicate with the remote host, since it is
// disconnected.", "The operation is not allowed in the current state.", "Operation timed out.".
func faultMessage(f types.BaseMethodFault) string {
	switch x := f.(type) {
	case *types.PlatformConfigFault:
		return "An error occurred during host configuration: " + x.Text
	case *types.HostNotConnected:
		return "Unable to communicate with the remote host, since it is disconnected."
	case *types.InvalidState:
		return "The operation is not allowed in the current state."
	case *types.Timedout:
		return "Operation timed out."
	case *types.RequestCanceled:
		return "The task was canceled by a user."
	case *types.TaskInProgress:
		return "The operation is not allowed in the current state."
	case *types.InvalidArgument:
		return "A specified parameter was not correct: " + x.InvalidProperty
	case *types.SystemError:
		return "A general system error occurred: " + x.Reason
	}
	return "A general system error occurred."
}

// runTask is vcsim's Task.Run with a real localized message on errors.
func runTask(t *simulator.Task) types.ManagedObjectReference {
	updateLocked(t, []types.PropertyChange{
		{Name: "info.startTime", Val: time.Now()},
		{Name: "info.state", Val: types.TaskInfoStateRunning},
	})
	res, err := t.Execute(t)
	state := types.TaskInfoStateSuccess
	var fault interface{}
	if err != nil {
		state = types.TaskInfoStateError
		fault = types.LocalizedMethodFault{Fault: err, LocalizedMessage: faultMessage(err)}
	}
	updateLocked(t, []types.PropertyChange{
		{Name: "info.completeTime", Val: time.Now()},
		{Name: "info.state", Val: state},
		{Name: "info.result", Val: res},
		{Name: "info.error", Val: fault},
	})
	return t.Self
}

// updateLocked applies property changes with the object locked (the PropertyCollector reads objects
// under the same lock; tasks and reboots update objects from background goroutines).
func updateLocked(obj mo.Reference, changes []types.PropertyChange) {
	simulator.Map.WithLock(obj, func() { simulator.Map.Update(obj, changes) })
}
