package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version and commit are set by the Makefile from git: -X
// main.version=$(git describe --tags), v0.x.y or v0.x.y-N-gHASH (N commits
// after the tag), and the full commit hash (Go's own VCS stamping is off
// where GOFLAGS has -buildvcs=false, and in a git worktree).
var version, commit string

// versionString is the version with the commit and the Go that built it,
// from the build information the Go toolchain embeds. Without the
// Makefile's version (go build, go install), the module version Go
// derives from the same tag (or a pseudo-version) stands in.
func versionString() string {
	v, commit := version, commit
	var date string
	modified := false
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if commit == "" {
					commit = s.Value
				}
			case "vcs.time":
				date = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "v0.0.0-dev"
	}
	var parts []string
	if commit != "" {
		c := "commit " + commit
		if modified && !strings.HasSuffix(v, "-dirty") {
			c += " (modified)"
		}
		if date != "" {
			c += " of " + date
		}
		parts = append(parts, c)
	}
	parts = append(parts, fmt.Sprintf("%s %s/%s", goVersion, runtime.GOOS, runtime.GOARCH))
	return v + " (" + strings.Join(parts, ", ") + ")"
}
