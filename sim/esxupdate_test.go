package main

import (
	"encoding/xml"
	"strings"
	"testing"
)

func wellFormed(t *testing.T, doc string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	for {
		_, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("not well-formed: %v\n%s", err, doc)
		}
	}
}

func TestExitStatesCarryTheirErrno(t *testing.T) {
	cases := map[string]string{
		"MetadataDownloadError": "4", "VibDownloadError": "7", "NoMatchError": "13", "DependencyError": "14",
		"MaintenanceModeError": "18", "AcceptanceConfigError": "33", "VibChecksumError": "99", "ProfileVibRemoval": "99",
	}
	for class, code := range cases {
		doc := engineExitDoc(class, "line <one> & 'x'\n line two\n url = http://x/\n Please refer to the log file for more details.", "http://x/")
		wellFormed(t, doc)
		if !strings.Contains(doc, `errorClass="`+class+`"`) || !strings.Contains(doc, "<errorCode>"+code+"</errorCode>") {
			t.Errorf("%s: %s", class, doc)
		}
		if strings.Contains(doc, "Please refer") || strings.Contains(doc, "url = ") {
			t.Errorf("%s: esxcli-only lines in the XML answer: %s", class, doc)
		}
		if !strings.HasPrefix(doc, "<esxupdate-response>\n<version>1.50</version>\n") {
			t.Errorf("frame: %q", doc)
		}
	}
	dep := engineExitDoc("DependencyError", "VIB a requires b >= 1, but the requirement cannot be satisfied within the ImageProfile.\n VIBs (a, c) are conflicting with each other\n Please refer to the log file for more details.", "")
	if !strings.Contains(dep, "<problemset><problem>VIB a requires b &gt;= 1, but") || strings.Count(dep, "<problem>") != 2 {
		t.Errorf("problemset: %s", dep)
	}
	if e := esxResponse(exitFor(true)); strings.Contains(e, "<error") {
		t.Errorf("NormalExit writes nothing: %s", e)
	}
	if e := esxResponse(exitFor(false)); !strings.Contains(e, `errorClass="NeedsRebootResult"><errorCode>80<`) {
		t.Errorf("boot-only install: %s", e)
	}
}

func TestNoSoftwarePlatformCheckOn6x(t *testing.T) {
	img67 := &Image{Version: "6.7.0", ProductLine: "embeddedEsx"}
	img80 := &Image{Version: "8.0.2", ProductLine: "embeddedEsx"}
	v := &Vib{ID: "x", Platforms: []Platform{{ProductLineID: "embeddedEsx", Version: "8.0"}}}
	b := &Bulletin{ID: "b", Platforms: []Platform{{ProductLineID: "embeddedEsx", Version: "5.*"}}}
	if !vibPlatformOK(v, img67) || !bulletinPlatformOK(b, img67) {
		t.Error("6.x: esximage 6.5/6.7 checks no software platform")
	}
	if vibPlatformOK(v, &Image{Version: "7.0.3"}) || bulletinPlatformOK(b, img80) {
		t.Error("7.0+: the switch keeps the platform check on by default")
	}
	cfg.SwPlatformCheck = false
	defer func() { cfg.SwPlatformCheck = true }()
	if !bulletinPlatformOK(b, img80) {
		t.Error("-swplatform-check=false turns it off")
	}
}

func TestAcceptanceBeforeDependencyProblems(t *testing.T) {
	base := &Image{Version: "8.0.2", ProductLine: "embeddedEsx", Vibs: []*Vib{{ID: "VMW_bootbank_esx-base_8.0.2-0", Name: "esx-base", Version: "8.0.2-0", Acceptance: "certified"}}}
	a := &Vib{ID: "X_bootbank_a_1.0-1", Name: "a", Version: "1.0-1", Acceptance: "community", LiveInstallAllowed: true, Depends: []Constraint{{Name: "missing"}}}
	b := &Vib{ID: "X_bootbank_b_1.0-1", Name: "b", Version: "1.0-1", Acceptance: "community", LiveInstallAllowed: true}
	_, err := PlanInstall(base, "partner", []*Vib{a, b}, InstallOpts{Mode: "install", MaintenanceOK: true})
	if err == nil || err.Class != "AcceptanceConfigError" || strings.Count(err.Msg, "acceptance level is community") != 2 {
		t.Fatalf("want both acceptance problems and no dependency problem, got %v", err)
	}
	_, err = PlanInstall(base, "community", []*Vib{a}, InstallOpts{Mode: "install", MaintenanceOK: true})
	if err == nil || err.Class != "DependencyError" {
		t.Fatalf("then the dependency problem, got %v", err)
	}
}

func TestObsoletedVIBProblem(t *testing.T) {
	old := &Vib{ID: "X_bootbank_old_1.0-1", Name: "old", Version: "1.0-1"}
	nv := &Vib{ID: "X_bootbank_new_2.0-1", Name: "new", Version: "2.0-1", Replaces: []Constraint{{Name: "old"}}}
	err := checkImage(&Image{Vibs: []*Vib{old, nv}}, false)
	if err == nil || !strings.Contains(err.Msg, "VIB X_bootbank_old_1.0-1 is obsoleted by {'X_bootbank_new_2.0-1'}") {
		t.Fatalf("ObsoletedVIB: %v", err)
	}
	if checkImage(&Image{Vibs: []*Vib{old, nv}}, true) != nil {
		t.Error("--force skips obsoletes")
	}
}
