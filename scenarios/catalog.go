package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nslab/nslab/lab/script"
)

//go:embed *.md
var embedded embed.FS

// Part is one part of the course: a group of lessons, in teaching order.
type Part struct {
	Title   string
	Lessons []string
}

// Course is the built-in catalog as a path: hello first, then the
// namespaces of a process, networking, and the proxy core the lessons
// build. Scenarios not listed (an instructor's --scenarios) follow, by id,
// in the part OtherPart.
var Course = []Part{
	{"namespaces of a process", []string{"hello", "ns-basics", "uts", "user", "pid", "mount"}},
	{"networking", []string{"netns-basics", "veth", "bridge", "rootless"}},
	{"the proxy core", []string{"lock-os-thread", "listen-inside", "many-tenants", "holders", "thread-savings", "blocking-accept", "tenant-proxy"}},
}

// OtherPart holds the lessons the course does not list.
const OtherPart = "more lessons"

// order is the teaching order of the built-in catalog.
var order = func() []string {
	var out []string
	for _, p := range Course {
		out = append(out, p.Lessons...)
	}
	return out
}()

// partOf is the part a lesson belongs to.
func partOf(id string) string {
	for _, p := range Course {
		if slices.Contains(p.Lessons, id) {
			return p.Title
		}
	}
	return OtherPart
}

// Catalog returns the built-in scenarios and those in dirs, in teaching
// order. Files that do not parse are returned as errors, not scenarios: a
// lesson that does not lint never runs.
func Catalog(dirs ...string) ([]*Scenario, []error) {
	var out []*Scenario
	var errs []error
	names, _ := fs.Glob(embedded, "*.md")
	for _, n := range names {
		b, _ := embedded.ReadFile(n)
		sc, err := Parse("scenarios/"+n, b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sc.Embedded = true
		out = append(out, sc)
	}
	for _, d := range dirs {
		files, err := filepath.Glob(filepath.Join(d, "*.md"))
		if err != nil || len(files) == 0 {
			errs = append(errs, fmt.Errorf("--scenarios %s: no .md files there", d))
			continue
		}
		for _, f := range files {
			sc, err := Load(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, sc)
		}
	}
	seen := map[string]string{}
	var uniq []*Scenario
	for _, sc := range out {
		if prev, dup := seen[sc.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: id %q is already used by %s", sc.File, sc.ID, prev))
			continue
		}
		seen[sc.ID] = sc.File
		sc.Group = partOf(sc.ID)
		uniq = append(uniq, sc)
	}
	slices.SortStableFunc(uniq, func(a, b *Scenario) int {
		ia, ib := rank(a.ID), rank(b.ID)
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a.ID, b.ID)
	})
	return uniq, errs
}

func rank(id string) int {
	if i := slices.Index(order, id); i >= 0 {
		return i
	}
	return len(order)
}

// Load parses a scenario file from disk.
func Load(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Find returns the scenario with this id from the list, or, if arg names a
// file, loads it.
func Find(list []*Scenario, arg string) (*Scenario, error) {
	for _, sc := range list {
		if sc.ID == arg {
			return sc, nil
		}
	}
	if strings.HasSuffix(arg, ".md") || strings.Contains(arg, "/") {
		return Load(arg)
	}
	var ids []string
	for _, sc := range list {
		ids = append(ids, sc.ID)
	}
	if hint := script.DidYouMean(arg, ids); hint != "" {
		return nil, fmt.Errorf("no scenario %q%s", arg, hint)
	}
	return nil, errors.New("no scenario " + arg + " (`nslab list` shows them: " + strings.Join(ids, ", ") + ")")
}
