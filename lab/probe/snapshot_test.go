package probe_test

import (
	"testing"

	"github.com/nslab/nslab/lab/probe"
)

func TestCompare(t *testing.T) {
	a := &probe.Snapshot{Namespaces: map[string]uint64{"net": 1, "uts": 2, "mnt": 3}}
	b := &probe.Snapshot{Namespaces: map[string]uint64{"net": 1, "uts": 9}}
	want := map[string]bool{"mnt": false, "net": true, "uts": false}
	got := probe.Compare(a, b)
	if len(got) != len(want) {
		t.Fatalf("Compare = %+v", got)
	}
	for _, d := range got {
		if d.Same != want[d.Type] {
			t.Errorf("%s: same=%v, want %v", d.Type, d.Same, want[d.Type])
		}
	}
	if got[0].Type != "mnt" || got[1].Type != "net" || got[2].Type != "uts" {
		t.Errorf("not in kernel order: %+v", got)
	}
	t.Run("an unknown inode is never the same", func(t *testing.T) {
		for _, d := range probe.Compare(a, b) {
			if d.Type == "mnt" && (d.Same || d.B != 0) {
				t.Errorf("%+v", d)
			}
		}
	})
}

func TestSocketsByNetnsSkipsUnknownNamespaces(t *testing.T) {
	s := &probe.Snapshot{Sockets: []probe.Socket{{NetNS: 5}, {NetNS: 5}, {NetNS: 7}, {Err: "x"}}}
	got := s.SocketsByNetns()
	if len(got) != 2 || got[5] != 2 || got[7] != 1 {
		t.Errorf("SocketsByNetns = %v", got)
	}
}
