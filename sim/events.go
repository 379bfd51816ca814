package main

// EventManager.LogUserEvent (vcsim 0.24.2 lacks it). OBSERVED (API reference): LogUserEvent(entity,
// msg) posts a GeneralUserEvent for the entity; privilege Global.LogEvent.

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type EventManagerExt struct {
	Self types.ManagedObjectReference
}

func (e *EventManagerExt) Reference() types.ManagedObjectReference { return e.Self }

func (e *EventManagerExt) LogUserEvent(ctx *simulator.Context, req *types.LogUserEvent) soap.HasFault {
	body := &methods.LogUserEventBody{}
	obj := simulator.Map.Get(req.Entity)
	ent, ok := obj.(mo.Entity)
	if !ok {
		body.Fault_ = simulator.Fault("", &types.ManagedObjectNotFound{Obj: req.Entity})
		return body
	}
	ev := &types.GeneralUserEvent{
		GeneralEvent: types.GeneralEvent{Message: req.Msg, Event: types.Event{FullFormattedMessage: req.Msg}},
		Entity: &types.ManagedEntityEventArgument{Entity: req.Entity,
			EntityEventArgument: types.EntityEventArgument{Name: ent.Entity().Name}},
	}
	if h, ok := obj.(*simulator.HostSystem); ok {
		ev.Host = &types.HostEventArgument{Host: h.Self, EntityEventArgument: types.EntityEventArgument{Name: h.Name}}
	}
	em := simulator.Map.EventManager()
	simulator.Map.WithLock(em, func() {
		em.PostEvent(ctx, &types.PostEvent{EventToPost: ev})
	})
	body.Res = &types.LogUserEventResponse{}
	return body
}

func registerEventManagerExt() {
	ref := simulator.Map.EventManager().Reference()
	simulator.Map.Put(&EventManagerExt{Self: types.ManagedObjectReference{Type: "EventManagerExt", Value: ref.Value}})
}
