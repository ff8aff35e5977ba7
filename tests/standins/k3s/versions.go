package main

// What a k3s release can do, by version. Written apart from the collection's filter plugin on purpose:
// the stand-in models k3s, the roles model what to ask of it, and the tests check that the two agree.

import (
	"fmt"
	"regexp"
	"strconv"
)

var versionPattern = regexp.MustCompile(`^v(\d+)\.(\d+)\.(\d+)(?:-rc\d+)?\+k3s\d+$`)

func parseVersion(version string) ([3]int, error) {
	var parts [3]int
	match := versionPattern.FindStringSubmatch(version)
	if match == nil {
		return parts, fmt.Errorf("not a k3s version: %q", version)
	}
	for i := range parts {
		parts[i], _ = strconv.Atoi(match[i+1])
	}
	return parts, nil
}

func versionAtLeast(version string, release [3]int) bool {
	parts, err := parseVersion(version)
	if err != nil {
		return false
	}
	for i := range parts {
		if parts[i] != release[i] {
			return parts[i] > release[i]
		}
	}
	return true
}

// containerdMajor is the containerd major version a k3s release embeds: 2 from v1.31.6 / v1.32.2 / v1.33.
func containerdMajor(version string) int {
	parts, _ := parseVersion(version)
	minor, patch := parts[1], parts[2]
	if (minor == 31 && patch >= 6) || (minor == 32 && patch >= 2) || minor >= 33 {
		return 2
	}
	return 1
}

// supportsBaseTemplate: whether the release's containerd template may pull in {{ template "base" . }}.
func supportsBaseTemplate(version string) bool {
	parts, _ := parseVersion(version)
	firsts := map[int]int{24: 17, 25: 13, 26: 8, 27: 5, 28: 1}
	if first, ok := firsts[parts[1]]; ok {
		return parts[2] >= first
	}
	return parts[1] > 28
}
