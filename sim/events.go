package main

// Events: EventManager.LogUserEvent, a readable event history (collectors, QueryEvents) and
// EventManager.latestEvent.
//
// OBSERVED (API reference): LogUserEvent(entity, msg) posts a GeneralUserEvent for the entity
// (privilege Global.LogEvent); vcsim 0.24.2 lacks it. OBSERVED (a GeneralUserEvent captured from a
// real vCenter, ManageIQ spec data general_user_event.yml): `message` is the logged text,
// `fullFormattedMessage` is "User logged event: <text>", `userName` the caller, and the event names
// the datacenter, the compute resource (cluster) and the host (and the VM it was logged on). The
// same form on a standalone ESXi host is ASSUMED.
//
// vcsim 0.24.2 posts events into a 1000-event ring, but reading them back is broken:
//   - a new EventHistoryCollector (and QueryEvents, built on one) is filled with the OLDEST
//     `maxCount` (default 10) matching events, so on a host with more events a newly logged one is
//     not found; events posted later are written over the collector's second-oldest slot;
//     ReadNextEvents only scrolls that page;
//   - EventFilterSpec.time, .userName and .eventChainId are ignored (a TODO in vcsim);
//   - EventManager.latestEvent is never set, and vcsim's PropertyCollector.Fetch panics on an unset
//     property (index out of range; the connection is dropped): reading em.latestEvent crashed.
// The front handler therefore routes CreateCollectorForEvents and QueryEvents (like LogUserEvent) to
// EventManagerExt, which serves them from our own copy of the event history (eventHistory, fed by
// every event vcsim posts: logins, VM creation, ..., user events), and keeps latestEvent current.
//
// Semantics (OBSERVED = API reference text unless noted):
//   - CreateCollectorForEvents(filter) -> EventHistoryCollector; InvalidArgument for an unknown
//     entity or a bad maxCount; InvalidState past EventManager.maxCollector collectors per session.
//   - The collector's 'scrollable view' starts at the oldest item (RewindCollector: "the default
//     setting"); ReadNextEvents(n) returns the next n newer items and moves on; ReadPreviousEvents(n)
//     the next n older ones; ResetCollector moves to just before the 'viewable latest page';
//     DestroyCollector removes it. Events posted after the collector was created are included.
//   - latestPage: the newest page-size matching events; the page size is filter.maxCount (default
//     10, 1..1000) and SetCollectorPageSize. ASSUMED: maxCount as the initial page size and the
//     default 10 (vcsim's choice); items are returned oldest first (the reference leaves the order
//     open).
//   - Works in ESX and VC mode. OBSERVED: pyVmomi users read an ESXi 6.5 host's events through
//     CreateCollectorForEvents/RewindCollector/ReadNextEvents (vmware/pyvmomi#728).
//   - QueryEvents(filter): VC mode returns the newest maxCount (default: all kept, ASSUMED) matching
//     events, oldest first (order ASSUMED). ESX mode: NotImplemented. OBSERVED: vmware/pyvmomi#268,
//     QueryEvents against an ESXi host's own hostd raised vmodl.fault.NotImplemented (vcsim does the
//     same). Clients must use a collector against standalone ESXi.
//   - Filters: entity + recursion (self: the entity is one of the event's vm/host/computeResource/
//     datastore/network/dvs/datacenter arguments or a user event's entity, as vcsim; children/all:
//     an argument lies below the entity in the inventory; the root folder matches everything),
//     eventTypeId and the older `type` (concrete type or a base type), time (begin/end inclusive,
//     ASSUMED), userName.userList (exact names; systemUser also matches events without a user,
//     ASSUMED), eventChainId. NOT modelled (ignored): category, alarm, scheduledTask, tag,
//     disableFullMessage (fullFormattedMessage is always filled).
//   - The history keeps the last 1000 events (ASSUMED; vcsim's ring size) and survives simulated
//     reboots. UNVERIFIED: a real ESXi host's hostd probably loses its events when it reboots.
//   - latestEvent: "the latest event that happened"; changes reach WaitForUpdates listeners, as do
//     collector latestPage changes.

import (
	"reflect"
	"sort"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	eventHistoryMax     = 1000 // ASSUMED (vcsim's ring size)
	eventPageSizeMax    = 1000 // vcsim's maxPageSize
	eventPageSizeDefult = 10   // vcsim's default page size
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
		GeneralEvent: types.GeneralEvent{Message: req.Msg,
			Event: types.Event{FullFormattedMessage: "User logged event: " + req.Msg}},
		Entity: &types.ManagedEntityEventArgument{Entity: req.Entity,
			EntityEventArgument: types.EntityEventArgument{Name: ent.Entity().Name}},
	}
	if h, ok := obj.(*simulator.HostSystem); ok {
		// OBSERVED for an event logged on a VM (see above); ASSUMED the same for one logged on a host.
		ev.Host = &types.HostEventArgument{Host: h.Self, EntityEventArgument: types.EntityEventArgument{Name: h.Name}}
		ev.ComputeResource, ev.Datacenter = hostEventParents(h)
	}
	em := simulator.Map.EventManager()
	simulator.Map.WithLock(em, func() {
		em.PostEvent(ctx, &types.PostEvent{EventToPost: ev})
	})
	body.Res = &types.LogUserEventResponse{}
	return body
}

func (e *EventManagerExt) CreateCollectorForEvents(ctx *simulator.Context, req *types.CreateCollectorForEvents) soap.HasFault {
	body := &methods.CreateCollectorForEventsBody{}
	size, fault := eventPageSize(req.Filter.MaxCount)
	if fault == nil {
		fault = checkEventFilter(&req.Filter)
	}
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	key := ctx.Session.Key
	history.mu.Lock()
	n := len(history.collectors[key])
	history.mu.Unlock()
	if n >= int(simulator.Map.EventManager().MaxCollector) {
		body.Fault_ = simulator.Fault("Too many event collectors to create", new(types.InvalidState))
		return body
	}
	c := &EventCollector{spec: req.Filter, session: key, pageSize: size}
	c.Self.Type = "EventHistoryCollector"
	c.Filter = req.Filter
	ref := ctx.Session.Put(c).Reference()
	history.mu.Lock()
	if history.collectors[key] == nil {
		history.collectors[key] = map[types.ManagedObjectReference]*EventCollector{}
	}
	history.collectors[key][ref] = c
	history.mu.Unlock()
	body.Res = &types.CreateCollectorForEventsResponse{Returnval: ref}
	return body
}

func (e *EventManagerExt) QueryEvents(ctx *simulator.Context, req *types.QueryEvents) soap.HasFault {
	body := &methods.QueryEventsBody{}
	if cfg.ESX {
		body.Fault_ = simulator.Fault("", new(types.NotImplemented)) // OBSERVED: vmware/pyvmomi#268
		return body
	}
	if req.Filter.MaxCount < 0 || req.Filter.MaxCount > eventHistoryMax {
		body.Fault_ = simulator.Fault("", &types.InvalidArgument{InvalidProperty: "maxCount"})
		return body
	}
	if fault := checkEventFilter(&req.Filter); fault != nil {
		body.Fault_ = fault
		return body
	}
	events := matchingEvents(&req.Filter)
	if n := int(req.Filter.MaxCount); n > 0 && len(events) > n {
		events = events[len(events)-n:]
	}
	body.Res = &types.QueryEventsResponse{Returnval: events}
	return body
}

func eventPageSize(count int32) (int, *soap.Fault) {
	if count == 0 {
		return eventPageSizeDefult, nil
	}
	if count < 0 || count > eventPageSizeMax {
		return 0, simulator.Fault("", &types.InvalidArgument{InvalidProperty: "maxCount"})
	}
	return int(count), nil
}

// checkEventFilter: OBSERVED (API reference): InvalidArgument for an invalid reference to a managed
// object in the filter.
func checkEventFilter(spec *types.EventFilterSpec) *soap.Fault {
	if spec.Entity != nil && simulator.Map.Get(spec.Entity.Entity) == nil {
		return simulator.Fault("", &types.InvalidArgument{InvalidProperty: "entity"})
	}
	return nil
}

// hostEventParents: the compute resource (or cluster) and the datacenter of a host, as event arguments.
func hostEventParents(h *simulator.HostSystem) (*types.ComputeResourceEventArgument, *types.DatacenterEventArgument) {
	var cr *types.ComputeResourceEventArgument
	parent := h.Parent
	for i := 0; parent != nil && i < 64; i++ {
		var next *types.ManagedObjectReference
		switch p := simulator.Map.Get(*parent).(type) {
		case *mo.ComputeResource:
			cr = &types.ComputeResourceEventArgument{ComputeResource: p.Self, EntityEventArgument: types.EntityEventArgument{Name: p.Name}}
			next = p.Parent
		case *simulator.ClusterComputeResource:
			cr = &types.ComputeResourceEventArgument{ComputeResource: p.Self, EntityEventArgument: types.EntityEventArgument{Name: p.Name}}
			next = p.Parent
		case *simulator.Datacenter:
			return cr, &types.DatacenterEventArgument{Datacenter: p.Self, EntityEventArgument: types.EntityEventArgument{Name: p.Name}}
		case mo.Entity:
			next = p.Entity().Parent
		}
		parent = next
	}
	return cr, nil
}

// ---------------------------------------------------------------- history

type eventHistory struct {
	mu         sync.Mutex
	events     []types.BaseEvent // oldest first, keys ascending
	last       int32
	collectors map[string]map[types.ManagedObjectReference]*EventCollector // by session key
}

// rootFolder: set at start (an entity filter on it matches every event, as vcsim).
var rootFolder types.ManagedObjectReference

var history = &eventHistory{collectors: map[string]map[types.ManagedObjectReference]*EventCollector{}}

func (h *eventHistory) add(evs []types.BaseEvent) []types.BaseEvent {
	sort.Slice(evs, func(i, j int) bool { return evs[i].GetEvent().Key < evs[j].GetEvent().Key })
	h.mu.Lock()
	defer h.mu.Unlock()
	var added []types.BaseEvent
	for _, ev := range evs {
		if k := ev.GetEvent().Key; k > h.last {
			h.events = append(h.events, ev)
			h.last = k
			added = append(added, ev)
		}
	}
	if n := len(h.events) - eventHistoryMax; n > 0 {
		h.events = append([]types.BaseEvent(nil), h.events[n:]...)
	}
	return added
}

func (h *eventHistory) snapshot() []types.BaseEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]types.BaseEvent(nil), h.events...)
}

func (h *eventHistory) liveCollectors() []*EventCollector {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*EventCollector
	for _, m := range h.collectors {
		for _, c := range m {
			out = append(out, c)
		}
	}
	return out
}

// matchingEvents: the kept events that match spec, oldest first.
func matchingEvents(spec *types.EventFilterSpec) []types.BaseEvent {
	var out []types.BaseEvent
	for _, ev := range history.snapshot() {
		if eventMatches(ev, spec) {
			out = append(out, ev)
		}
	}
	return out
}

func eventMatches(ev types.BaseEvent, spec *types.EventFilterSpec) bool {
	e := ev.GetEvent()
	if ids := append(append([]string(nil), spec.EventTypeId...), spec.Type...); len(ids) > 0 && !eventTypeMatches(ev, ids) {
		return false
	}
	if spec.EventChainId != 0 && e.ChainId != spec.EventChainId {
		return false
	}
	if t := spec.Time; t != nil {
		if t.BeginTime != nil && e.CreatedTime.Before(*t.BeginTime) {
			return false
		}
		if t.EndTime != nil && e.CreatedTime.After(*t.EndTime) {
			return false
		}
	}
	if u := spec.UserName; u != nil && (len(u.UserList) > 0 || u.SystemUser) {
		ok := u.SystemUser && e.UserName == ""
		for _, name := range u.UserList {
			ok = ok || name == e.UserName
		}
		if !ok {
			return false
		}
	}
	if spec.Entity == nil {
		return true
	}
	target := spec.Entity.Entity
	if target == rootFolder {
		return true
	}
	for _, ref := range eventEntities(ev) {
		switch spec.Entity.Recursion {
		case types.EventFilterSpecRecursionOptionSelf:
			if ref == target {
				return true
			}
		case types.EventFilterSpecRecursionOptionChildren:
			if ref != target && entityBelow(ref, target) {
				return true
			}
		default: // all
			if ref == target || entityBelow(ref, target) {
				return true
			}
		}
	}
	return false
}

// eventTypeMatches: the concrete type name or an embedded base type (as vcsim).
func eventTypeMatches(ev types.BaseEvent, ids []string) bool {
	matches := func(name string) bool {
		for _, id := range ids {
			if id == name {
				return true
			}
		}
		return false
	}
	kind := reflect.ValueOf(ev).Elem().Type()
	if matches(kind.Name()) {
		return true
	}
	field, ok := kind.FieldByNameFunc(matches)
	return ok && field.Anonymous
}

func eventEntities(ev types.BaseEvent) []types.ManagedObjectReference {
	e := ev.GetEvent()
	var refs []types.ManagedObjectReference
	if e.Vm != nil {
		refs = append(refs, e.Vm.Vm)
	}
	if e.Host != nil {
		refs = append(refs, e.Host.Host)
	}
	if e.ComputeResource != nil {
		refs = append(refs, e.ComputeResource.ComputeResource)
	}
	if e.Ds != nil {
		refs = append(refs, e.Ds.Datastore)
	}
	if e.Net != nil {
		refs = append(refs, e.Net.Network)
	}
	if e.Dvs != nil {
		refs = append(refs, e.Dvs.Dvs)
	}
	if e.Datacenter != nil {
		refs = append(refs, e.Datacenter.Datacenter)
	}
	if u, ok := ev.(*types.GeneralUserEvent); ok && u.Entity != nil {
		refs = append(refs, u.Entity.Entity)
	}
	return refs
}

// entityBelow: ref lies below ancestor in the inventory (parent chain).
func entityBelow(ref, ancestor types.ManagedObjectReference) bool {
	for i := 0; i < 64; i++ {
		ent, ok := simulator.Map.Get(ref).(mo.Entity)
		if !ok || ent.Entity().Parent == nil {
			return false
		}
		ref = *ent.Entity().Parent
		if ref == ancestor {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- EventHistoryCollector

// EventCollector is the EventHistoryCollector handed to clients (moref type EventHistoryCollector,
// per session). cursor: the key of the newest item behind the scrollable position (0 = before all).
type EventCollector struct {
	mo.EventHistoryCollector

	spec     types.EventFilterSpec
	session  string
	mu       sync.Mutex // not embedded: the registry would take it as the object's lock
	pageSize int
	cursor   int32
}

func (c *EventCollector) latestPage() []types.BaseEvent {
	events := matchingEvents(&c.spec)
	c.mu.Lock()
	size := c.pageSize
	c.mu.Unlock()
	if len(events) > size {
		events = events[len(events)-size:]
	}
	return events
}

// Get: the PropertyCollector reads latestPage and filter from this clone.
func (c *EventCollector) Get() mo.Reference {
	clone := &EventCollector{EventHistoryCollector: c.EventHistoryCollector}
	clone.LatestPage = c.latestPage()
	return clone
}

func badMaxCount() *soap.Fault {
	return simulator.Fault("", &types.InvalidArgument{InvalidProperty: "maxCount"})
}

func (c *EventCollector) ReadNextEvents(ctx *simulator.Context, req *types.ReadNextEvents) soap.HasFault {
	body := &methods.ReadNextEventsBody{}
	if req.MaxCount <= 0 {
		body.Fault_ = badMaxCount()
		return body
	}
	events := matchingEvents(&c.spec)
	c.mu.Lock()
	defer c.mu.Unlock()
	i := sort.Search(len(events), func(i int) bool { return events[i].GetEvent().Key > c.cursor })
	end := i + int(req.MaxCount)
	if end > len(events) {
		end = len(events)
	}
	out := events[i:end]
	if len(out) > 0 {
		c.cursor = out[len(out)-1].GetEvent().Key
	}
	body.Res = &types.ReadNextEventsResponse{Returnval: out}
	return body
}

func (c *EventCollector) ReadPreviousEvents(ctx *simulator.Context, req *types.ReadPreviousEvents) soap.HasFault {
	body := &methods.ReadPreviousEventsBody{}
	if req.MaxCount <= 0 {
		body.Fault_ = badMaxCount()
		return body
	}
	events := matchingEvents(&c.spec)
	c.mu.Lock()
	defer c.mu.Unlock()
	end := sort.Search(len(events), func(i int) bool { return events[i].GetEvent().Key > c.cursor })
	start := end - int(req.MaxCount)
	if start < 0 {
		start = 0
	}
	out := events[start:end]
	if len(out) > 0 {
		c.cursor = out[0].GetEvent().Key - 1
	}
	body.Res = &types.ReadPreviousEventsResponse{Returnval: out}
	return body
}

func (c *EventCollector) RewindCollector(ctx *simulator.Context, req *types.RewindCollector) soap.HasFault {
	c.mu.Lock()
	c.cursor = 0
	c.mu.Unlock()
	return &methods.RewindCollectorBody{Res: new(types.RewindCollectorResponse)}
}

func (c *EventCollector) ResetCollector(ctx *simulator.Context, req *types.ResetCollector) soap.HasFault {
	page := c.latestPage()
	c.mu.Lock()
	if len(page) > 0 {
		c.cursor = page[0].GetEvent().Key - 1
	} else {
		history.mu.Lock()
		c.cursor = history.last
		history.mu.Unlock()
	}
	c.mu.Unlock()
	return &methods.ResetCollectorBody{Res: new(types.ResetCollectorResponse)}
}

func (c *EventCollector) SetCollectorPageSize(ctx *simulator.Context, req *types.SetCollectorPageSize) soap.HasFault {
	body := &methods.SetCollectorPageSizeBody{}
	size, fault := eventPageSize(req.MaxCount)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	c.mu.Lock()
	c.pageSize = size
	c.mu.Unlock()
	body.Res = new(types.SetCollectorPageSizeResponse)
	return body
}

func (c *EventCollector) DestroyCollector(ctx *simulator.Context, req *types.DestroyCollector) soap.HasFault {
	ctx.Session.Remove(req.This)
	history.mu.Lock()
	delete(history.collectors[c.session], req.This)
	if len(history.collectors[c.session]) == 0 {
		delete(history.collectors, c.session)
	}
	history.mu.Unlock()
	return &methods.DestroyCollectorBody{Res: new(types.DestroyCollectorResponse)}
}

// ---------------------------------------------------------------- feeding the history

// eventTracker copies every posted event into the history and keeps EventManager.latestEvent
// current. vcsim offers no hook on PostEvent, but PostEvent copies each event into every collector
// registered with the EventManager and announces it with Registry.Update: the tracker owns such a
// collector (unfiltered, page of eventPageSizeMax, outside every client session) and listens.
type eventTracker struct {
	self types.ManagedObjectReference
	em   *simulator.EventManager
	c    *simulator.EventHistoryCollector
}

func (t *eventTracker) Reference() types.ManagedObjectReference   { return t.self }
func (t *eventTracker) PutObject(mo.Reference)                    {}
func (t *eventTracker) RemoveObject(types.ManagedObjectReference) {}

// UpdateObject runs inside EventManager.PostEvent: the EventManager and the tracker's collector are
// locked by the poster.
func (t *eventTracker) UpdateObject(obj mo.Reference, _ []types.PropertyChange) {
	if obj.Reference() == t.c.Self {
		t.sync()
	}
}

func (t *eventTracker) sync() {
	added := history.add(t.c.GetLatestPage())
	if len(added) == 0 {
		return
	}
	// Registry.Update assigns the field and tells PropertyCollector listeners (WaitForUpdates).
	simulator.Map.Update(t.em, []types.PropertyChange{{Name: "latestEvent", Val: added[len(added)-1]}})
	for _, c := range history.liveCollectors() {
		hit := false
		for _, ev := range added {
			hit = hit || eventMatches(ev, &c.spec)
		}
		if hit {
			page := c.latestPage()
			simulator.Map.WithLock(c, func() {
				simulator.Map.Update(c, []types.PropertyChange{{Name: "latestPage", Val: page}})
			})
		}
	}
}

func startEventTracker() {
	em := simulator.Map.EventManager()
	ctx := &simulator.Context{Session: &simulator.Session{
		UserSession: types.UserSession{Key: "esxisim-event-tracker", UserName: "esxisim"},
		Registry:    simulator.NewRegistry(),
	}}
	t := &eventTracker{self: types.ManagedObjectReference{Type: "EsxisimEventTracker", Value: "event-tracker"}, em: em}
	simulator.Map.WithLock(em, func() {
		res := em.CreateCollectorForEvents(ctx, &types.CreateCollectorForEvents{
			Filter: types.EventFilterSpec{MaxCount: eventPageSizeMax}}).(*methods.CreateCollectorForEventsBody)
		if res.Fault_ != nil {
			panic("esxisim: cannot create the event tracker's collector")
		}
		t.c = ctx.Session.Get(res.Res.Returnval).(*simulator.EventHistoryCollector)
		t.sync() // the events posted while the inventory was built
	})
	simulator.Map.AddHandler(t)
}

func registerEventManagerExt() {
	rootFolder = simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance).Content.RootFolder
	ref := simulator.Map.EventManager().Reference()
	simulator.Map.Put(&EventManagerExt{Self: types.ManagedObjectReference{Type: "EventManagerExt", Value: ref.Value}})
	startEventTracker()
}
