package main

import (
	"fmt"
	"slices"
	"testing"
)

// A dead proxy bench leaves a thousand namespaces: cleanup's report names
// the kind, the count and where the names run, in one line; a few of a
// kind are still listed one a line.
func TestShortListFoldsAKindWithManyItems(t *testing.T) {
	var items []string
	for i := 999; i >= 0; i-- {
		items = append(items, fmt.Sprintf("netns nslab-pp%d", i))
	}
	items = append(items, "process bench-backend (pid 25883)", "directory /run/nslab/bench-peers-1")
	got := shortList(items)
	want := []string{
		"1000 × netns: nslab-pp999, nslab-pp998, nslab-pp997, … nslab-pp0",
		"process bench-backend (pid 25883)",
		"directory /run/nslab/bench-peers-1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("shortList =\n%q\nwant\n%q", got, want)
	}
	few := items[995:]
	if got := shortList(few); !slices.Equal(got, few) {
		t.Errorf("shortList of %d items = %q, want them as they are", len(few), got)
	}
}
