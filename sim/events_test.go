package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

func eventMessages(evs []types.BaseEvent) []string {
	var out []string
	for _, e := range evs {
		if u, ok := e.(*types.GeneralUserEvent); ok {
			out = append(out, u.Message)
		}
	}
	return out
}

// LogUserEvent sets EventManager.latestEvent and is read back through a collector on the host, also
// when the host has more events than the collector's page (vcsim filled collectors with the oldest).
func TestEventHistoryCollectorAndLatestEvent(t *testing.T) {
	model := simulator.ESX()
	defer model.Remove()
	if err := model.Create(); err != nil {
		t.Fatal(err)
	}
	history = &eventHistory{collectors: map[string]map[types.ManagedObjectReference]*EventCollector{}}
	oldESX := cfg.ESX
	cfg.ESX = true
	defer func() { cfg.ESX = oldESX }()
	registerEventManagerExt()
	em := simulator.Map.EventManager()
	hs := simulator.Map.Any("HostSystem").(*simulator.HostSystem)
	ctx := &simulator.Context{Session: &simulator.Session{
		UserSession: types.UserSession{Key: "t", UserName: "root"}, Registry: simulator.NewRegistry()}}
	ext := &EventManagerExt{Self: em.Reference()}
	if n := len(matchingEvents(&types.EventFilterSpec{})); n < 10 {
		t.Fatalf("expected vcsim's VM events in the history, got %d events", n)
	}

	start := time.Now()
	for i := 1; i <= 12; i++ {
		if res := ext.LogUserEvent(ctx, &types.LogUserEvent{Entity: hs.Self, Msg: fmt.Sprintf("m%02d", i)}); res.Fault() != nil {
			t.Fatal(res.Fault())
		}
	}
	ev, ok := em.LatestEvent.(*types.GeneralUserEvent)
	if !ok || ev.Message != "m12" || ev.FullFormattedMessage != "User logged event: m12" || ev.UserName != "root" || ev.Host == nil || ev.Host.Host != hs.Self ||
		ev.Datacenter == nil || ev.ComputeResource == nil {
		t.Fatalf("latestEvent = %#v", em.LatestEvent)
	}
	// vcsim-internal posts move latestEvent on, too
	simulator.Map.WithLock(em, func() {
		em.PostEvent(ctx, &types.PostEvent{EventToPost: &types.GeneralEvent{Message: "other"}})
	})
	if g, ok := em.LatestEvent.(*types.GeneralEvent); !ok || g.Message != "other" {
		t.Fatalf("latestEvent not updated: %#v", em.LatestEvent)
	}

	spec := types.EventFilterSpec{EventTypeId: []string{"GeneralUserEvent"},
		Entity: &types.EventFilterSpecByEntity{Entity: hs.Self, Recursion: types.EventFilterSpecRecursionOptionSelf}}
	body := ext.CreateCollectorForEvents(ctx, &types.CreateCollectorForEvents{Filter: spec}).(*methods.CreateCollectorForEventsBody)
	if body.Fault_ != nil {
		t.Fatal(body.Fault_)
	}
	c := ctx.Session.Get(body.Res.Returnval).(*EventCollector)
	var got []string
	for {
		page := c.ReadNextEvents(ctx, &types.ReadNextEvents{MaxCount: 5}).(*methods.ReadNextEventsBody).Res.Returnval
		if len(page) == 0 {
			break
		}
		got = append(got, eventMessages(page)...)
	}
	if len(got) != 12 || got[0] != "m01" || got[11] != "m12" {
		t.Fatalf("ReadNextEvents: %v", got)
	}
	if lp := eventMessages(c.Get().(*EventCollector).LatestPage); len(lp) != 10 || lp[9] != "m12" {
		t.Fatalf("latestPage: %v", lp)
	}
	c.ResetCollector(ctx, &types.ResetCollector{})
	prev := eventMessages(c.ReadPreviousEvents(ctx, &types.ReadPreviousEvents{MaxCount: 5}).(*methods.ReadPreviousEventsBody).Res.Returnval)
	if fmt.Sprint(prev) != "[m01 m02]" {
		t.Fatalf("ReadPreviousEvents after ResetCollector: %v", prev)
	}
	c.DestroyCollector(ctx, &types.DestroyCollector{This: c.Self})
	if ctx.Session.Get(c.Self) != nil || len(history.liveCollectors()) != 0 {
		t.Fatal("collector not destroyed")
	}

	// time filter; an event on another entity does not match the host (self)
	later := time.Now().Add(time.Hour)
	spec.Time = &types.EventFilterSpecByTime{BeginTime: &later}
	if n := len(matchingEvents(&spec)); n != 0 {
		t.Fatalf("time filter: %d events", n)
	}
	spec.Time = &types.EventFilterSpecByTime{BeginTime: &start}
	if n := len(matchingEvents(&spec)); n != 12 {
		t.Fatalf("time filter: %d events", n)
	}

	// ESX: QueryEvents is NotImplemented (OBSERVED); unknown entity: InvalidArgument
	if f := ext.QueryEvents(ctx, &types.QueryEvents{Filter: spec}).Fault(); f == nil {
		t.Fatal("QueryEvents must fail on ESX")
	}
	bad := types.EventFilterSpec{Entity: &types.EventFilterSpecByEntity{Entity: types.ManagedObjectReference{Type: "HostSystem", Value: "nope"}}}
	if f := ext.CreateCollectorForEvents(ctx, &types.CreateCollectorForEvents{Filter: bad}).Fault(); f == nil {
		t.Fatal("unknown entity must be InvalidArgument")
	}
	cfg.ESX = false
	q := ext.QueryEvents(ctx, &types.QueryEvents{Filter: types.EventFilterSpec{Entity: spec.Entity, MaxCount: 3,
		EventTypeId: spec.EventTypeId}}).(*methods.QueryEventsBody)
	if q.Fault_ != nil || fmt.Sprint(eventMessages(q.Res.Returnval)) != "[m10 m11 m12]" {
		t.Fatalf("QueryEvents: %v %v", q.Fault_, eventMessages(q.Res.Returnval))
	}
}
