package main

// VMware VIB version ordering and relation constraints.
//
// OBSERVED: VIB versions have the form "<version>-<release>" (e.g. "1.14-1vmw.803.0.0.75399077",
// "6.7.0-0.0.8169922"), see tests/fixtures/real/**/vibs/*.xml; constraints carry relation
// attributes "<<", "<=", "=", ">=", ">>" (SOURCES.md "constraint@relation").
// OBSERVED (docs/reference/esxi-software-stack-facts.md, "Versions" and "Relations", from esximage 6.5/6.7): the
// version part is compared first, then the release part; each part is split on "." and each field is
// (leading digit run as a number or -1, the rest as a string); a shorter prefix is smaller; an empty release is
// the lowest (1.0 < 1.0-1). A constraint version without a release ("6.7.0") compares the version part only; an
// unversioned provide never satisfies a versioned constraint. esximage refuses versions with two or more hyphens;
// the simulator splits them at the first hyphen (it never has to parse one from the real fixtures).

import (
	"strconv"
	"strings"
)

// splitVR splits "a-b-c" into version "a" and release "b-c".
func splitVR(v string) (string, string, bool) {
	i := strings.Index(v, "-")
	if i < 0 {
		return v, "", false
	}
	return v[:i], v[i+1:], true
}

// fieldKey: OBSERVED (esximage Version.py, facts "Versions"): a field is (int(leading digits), or -1 when there
// are none; the rest as a string). Only the LEADING digit run is numeric: "2abc10" < "2abc9".
func fieldKey(f string) (int64, string) {
	i := 0
	for i < len(f) && f[i] >= '0' && f[i] <= '9' {
		i++
	}
	if i == 0 {
		return -1, f
	}
	n, err := strconv.ParseInt(f[:i], 10, 64)
	if err != nil {
		n = 1<<63 - 1
	}
	return n, f[i:]
}

func cmpField(a, b string) int {
	an, ar := fieldKey(a)
	bn, br := fieldKey(b)
	switch {
	case an < bn:
		return -1
	case an > bn:
		return 1
	}
	return strings.Compare(ar, br)
}

func cmpDotted(a, b string) int {
	fa, fb := strings.Split(a, "."), strings.Split(b, ".")
	if a == "" {
		fa = nil
	}
	if b == "" {
		fb = nil
	}
	for i := 0; i < len(fa) && i < len(fb); i++ {
		if c := cmpField(fa[i], fb[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(fa) < len(fb):
		return -1
	case len(fa) > len(fb):
		return 1
	}
	return 0
}

// CompareVersions orders two VIB version strings.
func CompareVersions(a, b string) int {
	av, ar, _ := splitVR(a)
	bv, br, _ := splitVR(b)
	if c := cmpDotted(av, bv); c != 0 {
		return c
	}
	return cmpDotted(ar, br)
}

// constraintMatches tells whether a candidate version satisfies "relation version".
func constraintMatches(relation, want, have string) bool {
	if relation == "" || want == "" {
		return true
	}
	if have == "" {
		return false // OBSERVED (esximage VibRelation.matchesprovide): an unversioned provide never matches
	}
	var c int
	if _, _, hasRel := splitVR(want); !hasRel {
		hv, _, _ := splitVR(have)
		c = cmpDotted(hv, want)
	} else {
		c = CompareVersions(have, want)
	}
	switch relation {
	case "<<", "<":
		return c < 0
	case "<=":
		return c <= 0
	case "=", "==":
		return c == 0
	case ">=":
		return c >= 0
	case ">>", ">":
		return c > 0
	}
	return false
}

// relationToConstraint maps a VIB relation to the vim.host.SoftwarePackage.Relation constraint enum.
// OBSERVED: enum values equals|lessThan|lessThanEqual|greaterThanEqual|greaterThan (pyvmomi typeinfo).
func relationToConstraint(rel string) string {
	switch rel {
	case "<<", "<":
		return "lessThan"
	case "<=":
		return "lessThanEqual"
	case "=", "==":
		return "equals"
	case ">=":
		return "greaterThanEqual"
	case ">>", ">":
		return "greaterThan"
	}
	return ""
}

// platformVersionMatches matches a softwarePlatform version pattern against the host version.
// OBSERVED: patterns seen in real depots: "5.*", "6.*", "6.7.0", "7.0", "7.0.0", "8.0", "8.0.0", "9.0";
// the 8.0 USB NIC flings (pattern "8.0") are installed on 8.0 U1/U2/U3 hosts in practice.
// ASSUMED: field-wise prefix match: every field of the pattern must equal the host's field ("*" matches
// anything, including the rest); a shorter pattern matches any longer host version ("8.0" ~ "8.0.2"),
// so "7.0.0" matches 7.0.0 only.
func platformVersionMatches(pattern, hostVersion string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	pf := strings.Split(pattern, ".")
	hf := strings.Split(hostVersion, ".")
	// ASSUMED (from practice): a pattern whose update field is 0 ("7.0.0", "8.0.0") names the release line:
	// VMware's 7.0.0/8.0.0 components install on 7.0 U3/8.0 U3 hosts and GA VIBs declaring "6.7.0" stay in
	// 6.7 U3 images. So "X.Y.0" matches every "X.Y.z". Same rule as platform_version_matches in Python.
	if len(pf) == 3 && pf[2] == "0" {
		pf = pf[:2]
	}
	for i, p := range pf {
		if p == "*" || strings.HasSuffix(p, "*") && i >= len(hf) {
			return true
		}
		if i >= len(hf) {
			return p == "0" // "7.0.0" vs host "7.0"
		}
		if strings.HasSuffix(p, "*") {
			if strings.HasPrefix(hf[i], strings.TrimSuffix(p, "*")) {
				return true
			}
			return false
		}
		if p != hf[i] {
			return false
		}
	}
	return true
}
