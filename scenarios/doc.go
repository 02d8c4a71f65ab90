// Package scenarios holds nslab's lessons and reads them.
//
// A scenario is a Markdown file: YAML front matter (id, title, summary,
// level, minutes, tags, requires), an introduction, then one `##` heading per
// step. A step holds prose and fenced blocks: `lab` (commands the lab runs),
// `check` (expect lines that must hold after it), `sh` and `go` (what the same
// looks like with iproute2 or in Go, shown, not run), and `hint` (shown when a
// check fails). The catalog is embedded in the binary; an instructor adds
// their own with --scenarios DIR.
package scenarios
