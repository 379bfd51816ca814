package main

// VMware VIB version ordering and relation constraints.
//
// OBSERVED: VIB versions have the form "<version>-<release>" (e.g. "1.14-1vmw.803.0.0.75399077",
// "6.7.0-0.0.8169922"), see tests/fixtures/real/**/vibs/*.xml; constraints carry relation
// attributes "<<", "<=", "=", ">=", ">>" (SOURCES.md "constraint@relation").
// ASSUMED: comparison rules (esximage's own code was not read): the version part is compared first,
// then the release part; each part is split on "." and each field is compared "naturally"
// (runs of digits as numbers, other runs as strings); a missing field sorts before a present one.
// A constraint version without a release ("6.7.0") only constrains the version part.

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

// naturalRuns splits "1vmw" into ["1", "vmw"].
func naturalRuns(s string) []string {
	var out []string
	cur := ""
	digit := false
	for i, r := range s {
		d := r >= '0' && r <= '9'
		if i > 0 && d != digit {
			out = append(out, cur)
			cur = ""
		}
		digit = d
		cur += string(r)
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

func isNum(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func cmpField(a, b string) int {
	ra, rb := naturalRuns(a), naturalRuns(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		x, y := ra[i], rb[i]
		if isNum(x) && isNum(y) {
			xi, _ := strconv.ParseUint(strings.TrimLeft(x, "0")+"0", 10, 64)
			yi, _ := strconv.ParseUint(strings.TrimLeft(y, "0")+"0", 10, 64)
			if xi != yi {
				if xi < yi {
					return -1
				}
				return 1
			}
			continue
		}
		if isNum(x) != isNum(y) { // numbers sort before words
			if isNum(x) {
				return -1
			}
			return 1
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	switch {
	case len(ra) < len(rb):
		return -1
	case len(ra) > len(rb):
		return 1
	}
	return 0
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
		return false // ASSUMED: an unversioned provide cannot satisfy a versioned constraint
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
