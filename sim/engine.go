package main

// Image engine: applies depot content to a host image the way esxupdate does (as far as public
// information goes). Used by HostPatchManager and by esxcli software vib/profile commands.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// EngineError is an esxupdate error: Class is the bracketed error class esxcli prints
// ("[DependencyError] ..."), Msg the text after it.
type EngineError struct {
	Class string
	Msg   string
}

func (e *EngineError) Error() string { return "[" + e.Class + "]\n " + e.Msg }

func engErr(class, format string, a ...interface{}) *EngineError {
	return &EngineError{Class: class, Msg: fmt.Sprintf(format, a...)}
}

// ---------------------------------------------------------------- platform

// vibPlatformOK: OBSERVED: VIB descriptors may carry system-requires/softwarePlatform (all 8.0
// flings do, older VIBs do not); ASSUMED: no platform element means "any platform".
func vibPlatformOK(v *Vib, img *Image) bool {
	if len(v.Platforms) == 0 || !platformCheck(img) {
		return true
	}
	for _, p := range v.Platforms {
		if (p.ProductLineID == "" || p.ProductLineID == img.ProductLine) && platformVersionMatches(p.Version, img.Version) {
			return true
		}
	}
	return false
}

// bulletinPlatformOK: OBSERVED bulletins carry platforms/softwarePlatform; ASSUMED: a bulletin whose
// platforms do not match the host is reported applicable=false with no reason (the Status.reason enum
// has no platform value) and an explanation in xmlResult; esxcli vib install ignores bulletin
// platforms (only VIB-level system-requires count), as public ghettoVCB installs on 6.x/7.x show.
func bulletinPlatformOK(b *Bulletin, img *Image) bool {
	if len(b.Platforms) == 0 || !platformCheck(img) {
		return true
	}
	for _, p := range b.Platforms {
		if (p.ProductLineID == "" || p.ProductLineID == img.ProductLine) && platformVersionMatches(p.Version, img.Version) {
			return true
		}
	}
	return false
}

// platformCheck: OBSERVED (facts, "Validation"): the 6.5/6.7 host engine checks no software platform at all
// (bulletin platforms and vendor-index product/version are parsed and never used; VIB-level softwarePlatform is
// not even read). For 7.0+ the rules are unknown (8.0's esximage has swplatforms): the -swplatform-check switch
// (default on) keeps the simulator's ASSUMED matching for 7.0+ images.
func platformCheck(img *Image) bool {
	if img == nil || !cfg.SwPlatformCheck {
		return false
	}
	major, err := strconv.Atoi(strings.SplitN(img.Version, ".", 2)[0])
	return err == nil && major >= 7
}

func platformList(ps []Platform) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.ProductLineID+" "+p.Version)
	}
	return strings.Join(s, ", ")
}

// ---------------------------------------------------------------- dependency helpers

func satisfied(c Constraint, vibs []*Vib) bool {
	for _, v := range vibs {
		for _, p := range v.allProvides() {
			if p.Name == c.Name && constraintMatches(c.Relation, c.Version, p.Version) {
				return true
			}
		}
	}
	return false
}

func conflictsWith(c Constraint, v *Vib) bool {
	for _, p := range v.allProvides() {
		if p.Name == c.Name && constraintMatches(c.Relation, c.Version, p.Version) {
			return true
		}
	}
	return false
}

// replacesVib: OBSERVED "replaces" constraints name other VIBs (esx-base replaces esx-xlibs,
// esx-tboot; r8125 replaces net55-r8125).
func replacesVib(newV, old *Vib) bool {
	for _, c := range newV.Replaces {
		if c.Name == old.Name && constraintMatches(c.Relation, c.Version, old.Version) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- install planning

type InstallOpts struct {
	Mode           string // "install" (vib install), "update" (vib update), "patch" (PatchManager), "profile" (profile update)
	Force          bool
	NoLiveInstall  bool
	MaintenanceOK  bool // host in maintenance mode, or --maintenance-mode / --maintenancemode
	StrictMM       bool // PatchManager: refuse whenever a VIB needs maintenance mode (see patchmanager.go)
	AllowDowngrade bool
	NoSigCheck     bool
}

type Plan struct {
	Installed  []*Vib // new or changed VIBs
	Removed    []*Vib // VIBs removed (upgraded or replaced)
	Skipped    []*Vib // candidates already installed or older than installed
	Result     *Image
	NeedReboot bool
	NeedMM     bool
	Live       bool
}

func (p *Plan) Changed() bool { return len(p.Installed) > 0 || len(p.Removed) > 0 }

func ids(vs []*Vib) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.ID)
	}
	sort.Strings(out)
	return out
}

// newestPerName keeps the highest version of every VIB name.
// OBSERVED (esxcli help): "update ... to newer VIB packages"; ASSUMED: newest wins among candidates.
func newestPerName(cands []*Vib) []*Vib {
	best := map[string]*Vib{}
	for _, v := range cands {
		if b, ok := best[v.Name]; !ok || CompareVersions(v.Version, b.Version) > 0 {
			best[v.Name] = v
		}
	}
	out := make([]*Vib, 0, len(best))
	for _, v := range best {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PlanInstall computes the result of installing candidates on base (the current image, or the pending
// image if one exists). hostAcc is the host acceptance level, inMM whether the host is in maintenance mode.
func PlanInstall(base *Image, hostAcc string, cands []*Vib, o InstallOpts) (*Plan, *EngineError) {
	p := &Plan{}
	var platformBad []*Vib
	var ok []*Vib
	for _, v := range cands {
		if vibPlatformOK(v, base) {
			ok = append(ok, v)
		} else {
			platformBad = append(platformBad, v)
		}
	}
	if len(ok) == 0 && len(platformBad) > 0 && !o.Force {
		// ASSUMED class and wording (no public sample found)
		var msgs []string
		for _, v := range platformBad {
			msgs = append(msgs, fmt.Sprintf("VIB %s requires platform %s, but the host is %s %s.", v.ID, platformList(v.Platforms), base.ProductLine, base.Version))
		}
		return nil, engErr("DependencyError", "%s\n Please refer to the log file for more details.", strings.Join(msgs, "\n "))
	}
	if o.Force {
		ok = cands
	}
	chosen := newestPerName(ok)

	result := base.clone()
	removed := map[string]*Vib{}
	var accProblems []string
	for _, c := range chosen {
		cur := result.byName(c.Name)
		switch {
		case cur != nil && cur.ID == c.ID:
			p.Skipped = append(p.Skipped, c)
			continue
		case cur != nil && CompareVersions(c.Version, cur.Version) < 0:
			if o.Mode == "install" || (o.Mode == "profile" && o.AllowDowngrade) {
				break // OBSERVED (esxcli help): install may downgrade; profile update only with --allow-downgrades
			}
			p.Skipped = append(p.Skipped, c)
			continue
		case cur == nil && o.Mode == "update":
			// OBSERVED (esxcli help for vib update): "No new VIBs will be installed, only updates."
			replacesSomething := false
			for _, iv := range result.Vibs {
				if replacesVib(c, iv) {
					replacesSomething = true
				}
			}
			if !replacesSomething {
				p.Skipped = append(p.Skipped, c)
				continue
			}
		}
		// acceptance: OBSERVED text and TRUST_ORDER (facts, "Validation"); all problems of the class are reported
		if !o.Force && !o.NoSigCheck && !acceptanceAllowed(hostAcc, c.Acceptance) {
			accProblems = append(accProblems, fmt.Sprintf("VIB %s's acceptance level is %s, which is not compliant with the ImageProfile acceptance level %s", c.ID, c.Acceptance, hostAcc))
		}
		var keep []*Vib
		for _, iv := range result.Vibs {
			if iv.Name == c.Name || replacesVib(c, iv) {
				removed[iv.ID] = iv
				continue
			}
			keep = append(keep, iv)
		}
		nv := c.clone()
		keep = append(keep, nv)
		result.Vibs = keep
		p.Installed = append(p.Installed, nv)
	}
	for _, v := range removed {
		if result.byID(v.ID) == nil {
			p.Removed = append(p.Removed, v)
		}
	}
	sort.Slice(p.Removed, func(i, j int) bool { return p.Removed[i].ID < p.Removed[j].ID })
	result.sortVibs()
	// OBSERVED (facts, "Validation"): only the highest-priority problem class is raised: acceptance (2) before
	// dependency (3)
	if len(accProblems) > 0 {
		sort.Strings(accProblems)
		return nil, engErr("AcceptanceConfigError", "%s\n To change the host acceptance level, use the 'esxcli software acceptance set' command.\n Please refer to the log file for more details.", strings.Join(accProblems, "\n "))
	}
	if err := checkImage(result, o.Force); err != nil {
		return nil, err
	}
	p.Result = result
	finishPlan(p, base, o)
	if p.Changed() {
		if err := checkMaintenance(p, o, "install"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// PlanRemove removes the named VIBs (by name or id) from base.
func PlanRemove(base *Image, names []string, o InstallOpts) (*Plan, *EngineError) {
	p := &Plan{}
	result := base.clone()
	var keep []*Vib
	var missing []string
	for _, n := range names {
		found := false
		for _, v := range result.Vibs {
			if vibMatches(v, n) {
				found = true
			}
		}
		if !found {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		// OBSERVED class (govmomi simulator, real samples); wording ASSUMED
		return nil, engErr("NoMatchError", "No VIB matching VIB search specification '%s'.\n Please refer to the log file for more details.", strings.Join(missing, "', '"))
	}
	for _, v := range result.Vibs {
		drop := false
		for _, n := range names {
			if vibMatches(v, n) {
				drop = true
			}
		}
		if drop {
			p.Removed = append(p.Removed, v)
		} else {
			keep = append(keep, v)
		}
	}
	result.Vibs = keep
	if err := checkImage(result, o.Force); err != nil {
		return nil, err
	}
	p.Result = result
	finishPlan(p, base, o)
	if err := checkMaintenance(p, o, "remove"); err != nil {
		return nil, err
	}
	return p, nil
}

// vibMatches: OBSERVED (esxcli help): name, name:version, vendor:name, vendor:name:version; plus the id.
func vibMatches(v *Vib, spec string) bool {
	if spec == v.ID || spec == v.Name {
		return true
	}
	f := strings.Split(spec, ":")
	switch len(f) {
	case 2:
		return (f[0] == v.Name && f[1] == v.Version) || (f[0] == v.Vendor && f[1] == v.Name)
	case 3:
		return f[0] == v.Vendor && f[1] == v.Name && f[2] == v.Version
	}
	return false
}

func finishPlan(p *Plan, base *Image, o InstallOpts) {
	live := true
	for _, v := range p.Installed {
		if v.MaintenanceModeRequired {
			p.NeedMM = true
		}
		if !v.LiveInstallAllowed {
			live = false
		}
	}
	for _, v := range p.Removed {
		if v.MaintenanceModeRequired {
			p.NeedMM = true
		}
		if !v.LiveRemoveAllowed {
			live = false
		}
	}
	if o.NoLiveInstall {
		live = false
	}
	p.Live = live && p.Changed()
	p.NeedReboot = !live && p.Changed()
	if p.Changed() {
		p.Result.Modified = true
	}
}

// checkMaintenance: OBSERVED (esxcli help for --maintenance-mode): "Otherwise, installation will stop
// for live installs that require maintenance mode. This flag has no effect for reboot required
// remediations." StrictMM (PatchManager) refuses for any VIB requiring maintenance mode (ASSUMED).
func checkMaintenance(p *Plan, o InstallOpts, op string) *EngineError {
	if !p.NeedMM || o.MaintenanceOK {
		return nil
	}
	if !p.Live && !o.StrictMM {
		return nil
	}
	var inst, rem []string
	for _, v := range p.Installed {
		if v.MaintenanceModeRequired {
			inst = append(inst, v.ID)
		}
	}
	for _, v := range p.Removed {
		if v.MaintenanceModeRequired {
			rem = append(rem, v.ID)
		}
	}
	// wording modelled on public esxcli output ("MaintenanceMode is required to remove: [...]; install: [...].")
	return engErr("MaintenanceModeError", "MaintenanceMode is required to remove: [%s]; install: [%s].\n Please refer to the log file for more details.", strings.Join(rem, ", "), strings.Join(inst, ", "))
}

// checkImage validates the dependencies and conflicts of a whole image.
// Wording of DependencyError modelled on widely published esxcli output
// ("VIB X requires vmkapi_2_13_0_0, but the requirement cannot be satisfied within the ImageProfile.").
func checkImage(img *Image, force bool) *EngineError {
	if force {
		return nil
	}
	var msgs []string
	for _, v := range img.Vibs {
		for _, c := range v.Depends {
			if !satisfied(c, img.Vibs) {
				msgs = append(msgs, fmt.Sprintf("VIB %s requires %s, but the requirement cannot be satisfied within the ImageProfile.", v.ID, c.String()))
			}
		}
	}
	// OBSERVED texts (facts, "Validation"): "VIBs (%s) are conflicting with each other" (sorted ids, ", "),
	// recorded once per pair; "VIB %s is obsoleted by %s" (a Python set repr) for a VIB replaced by another VIB of
	// the profile (ObsoletedVIB, a dependency-class problem)
	seen := map[string]bool{}
	for i, v := range img.Vibs {
		for _, o := range img.Vibs[i+1:] {
			if vibsConflict(v, o) {
				pair := []string{v.ID, o.ID}
				sort.Strings(pair)
				if k := strings.Join(pair, ", "); !seen[k] {
					seen[k] = true
					msgs = append(msgs, fmt.Sprintf("VIBs (%s) are conflicting with each other", k))
				}
			}
		}
	}
	for _, v := range img.Vibs {
		var by []string
		for _, o := range img.Vibs {
			if o != v && replacesVib(o, v) {
				by = append(by, "'"+o.ID+"'")
			}
		}
		if len(by) > 0 {
			sort.Strings(by)
			msgs = append(msgs, fmt.Sprintf("VIB %s is obsoleted by {%s}", v.ID, strings.Join(by, ", ")))
		}
	}
	if len(msgs) > 0 {
		sort.Strings(msgs)
		return engErr("DependencyError", "%s\n Please refer to the log file for more details.", strings.Join(msgs, "\n "))
	}
	return nil
}

// ---------------------------------------------------------------- scan (HostPatchManager)

type BulletinStatus struct {
	B               *Bulletin
	Applicable      bool
	Installed       bool
	Pending         bool // installed in the pending (reboot) image only
	Reasons         []string
	RestartRequired bool
	VmOffRequired   bool
	Superseded      []string
	InstallState    []string
	PlatformOK      bool
	Notes           []string
	Vibs            []*Vib
}

// Scan computes per-bulletin status against the host image.
// Statuses use the vim.host.PatchManager.Status fields (OBSERVED: pyvmomi typeinfo); how hostd fills
// them is ASSUMED (see docs/simulator.md).
func Scan(cur, pending *Image, booted bool, d *Depot) []*BulletinStatus {
	active := cur
	target := cur
	if pending != nil {
		target = pending
	}
	// all VIBs the depot offers for this platform, to distinguish missingPatch from missingLib
	var offered []*Vib
	for _, v := range d.Vibs {
		if vibPlatformOK(v, cur) {
			offered = append(offered, v)
		}
	}
	var out []*BulletinStatus
	for _, b := range d.Bulletins {
		st := &BulletinStatus{B: b, PlatformOK: bulletinPlatformOK(b, cur)}
		allInstalled, allActive := true, true
		for _, id := range b.VibIDs {
			v := d.Vibs[id]
			if v == nil {
				st.Notes = append(st.Notes, "metadata for VIB "+id+" missing from depot")
				allInstalled = false
				continue
			}
			st.Vibs = append(st.Vibs, v)
			if !v.LiveInstallAllowed {
				st.RestartRequired = true
			}
			if v.MaintenanceModeRequired {
				st.VmOffRequired = true
			}
			if !vibPlatformOK(v, cur) {
				st.PlatformOK = false
			}
			if target.byID(id) == nil {
				allInstalled = false
			}
			if active.byID(id) == nil {
				allActive = false
			}
		}
		st.Installed = allInstalled && len(st.Vibs) > 0
		if st.Installed {
			st.Pending = !allActive
			// ASSUMED: installState imageActive when the VIBs are in the running image, hostRestarted
			// when the host booted since they were installed.
			if allActive {
				st.InstallState = append(st.InstallState, "imageActive")
				if booted {
					st.InstallState = append(st.InstallState, "hostRestarted")
				}
			}
		}
		if !st.PlatformOK {
			st.Notes = append(st.Notes, fmt.Sprintf("bulletin %s is for %s; host is %s %s", b.ID, platformList(b.Platforms), cur.ProductLine, cur.Version))
		}
		if !st.Installed && st.PlatformOK {
			scanApplicability(st, target, offered, d)
		}
		out = append(out, st)
	}
	// supersededPatchIds: bulletins of the depot whose VIBs are all older versions of (or replaced by)
	// this bulletin's VIBs (ASSUMED).
	for _, a := range out {
		for _, o := range out {
			if a == o || len(o.Vibs) == 0 {
				continue
			}
			all := true
			for _, ov := range o.Vibs {
				sup := false
				for _, av := range a.Vibs {
					if (av.Name == ov.Name && CompareVersions(av.Version, ov.Version) > 0) || replacesVib(av, ov) {
						sup = true
					}
				}
				if !sup {
					all = false
				}
			}
			if all {
				a.Superseded = append(a.Superseded, o.B.ID)
			}
		}
	}
	return out
}

func scanApplicability(st *BulletinStatus, img *Image, offered []*Vib, d *Depot) {
	reasons := map[string]bool{}
	result := img.clone()
	for _, v := range st.Vibs {
		if cur := img.byName(v.Name); cur != nil && CompareVersions(cur.Version, v.Version) > 0 {
			reasons["obsoleted"] = true // a newer version is installed
			st.Notes = append(st.Notes, fmt.Sprintf("VIB %s is obsoleted by installed %s", v.ID, cur.ID))
		}
		var keep []*Vib
		for _, iv := range result.Vibs {
			if iv.Name != v.Name && !replacesVib(v, iv) {
				keep = append(keep, iv)
			}
		}
		result.Vibs = append(keep, v)
	}
	for _, v := range st.Vibs {
		for _, c := range v.Depends {
			if satisfied(c, result.Vibs) {
				continue
			}
			if satisfied(c, offered) {
				reasons["missingPatch"] = true
				st.Notes = append(st.Notes, fmt.Sprintf("VIB %s requires %s, provided by another patch in the depot", v.ID, c.String()))
			} else {
				reasons["missingLib"] = true
				st.Notes = append(st.Notes, fmt.Sprintf("VIB %s requires %s, but the requirement cannot be satisfied within the ImageProfile.", v.ID, c.String()))
			}
		}
		for _, c := range v.Conflicts {
			for _, o := range result.Vibs {
				if o != v && conflictsWith(c, o) {
					if img.byID(o.ID) != nil {
						reasons["conflictLib"] = true
					} else {
						reasons["conflictPatch"] = true
					}
					st.Notes = append(st.Notes, fmt.Sprintf("VIB %s conflicts with %s", v.ID, o.ID))
				}
			}
		}
	}
	// installed VIBs that would lose a dependency
	for _, iv := range result.Vibs {
		isNew := false
		for _, v := range st.Vibs {
			if v.ID == iv.ID {
				isNew = true
			}
		}
		if isNew {
			continue
		}
		for _, c := range iv.Depends {
			if satisfied(c, img.Vibs) && !satisfied(c, result.Vibs) {
				reasons["hasDependentPatch"] = true
				st.Notes = append(st.Notes, fmt.Sprintf("installed VIB %s depends on %s", iv.ID, c.String()))
			}
		}
	}
	for _, r := range []string{"obsoleted", "missingPatch", "missingLib", "hasDependentPatch", "conflictPatch", "conflictLib"} {
		if reasons[r] {
			st.Reasons = append(st.Reasons, r)
		}
	}
	st.Applicable = len(st.Reasons) == 0
}

// BulletinVibs returns the depot VIBs of the given bulletins that apply (platform match), for install.
func ApplicableVibs(d *Depot, img *Image, onlyBulletins []string) []*Vib {
	var out []*Vib
	want := map[string]bool{}
	for _, b := range onlyBulletins {
		want[b] = true
	}
	for _, b := range d.Bulletins {
		if len(want) > 0 && !want[b.ID] {
			continue
		}
		if !bulletinPlatformOK(b, img) {
			continue
		}
		for _, id := range b.VibIDs {
			if v := d.Vibs[id]; v != nil {
				out = append(out, v)
			}
		}
	}
	return out
}
