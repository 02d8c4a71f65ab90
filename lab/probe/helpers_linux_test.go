package probe_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// nsInode reads /proc/PID/ns/TYPE the plain way, as a check on the probe.
func nsInode(t testing.TB, pid int, typ string) uint64 {
	t.Helper()
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, typ))
	if err != nil {
		t.Fatalf("readlink: %v", err)
	}
	i, j := strings.IndexByte(link, '['), strings.IndexByte(link, ']')
	v, err := strconv.ParseUint(link[i+1:j], 10, 64)
	if err != nil {
		t.Fatalf("parse %q: %v", link, err)
	}
	return v
}

// hostInode is PID 1's namespace of type typ, or kthreadd's where PID 1 may
// not be read (as the probe does).
func hostInode(t testing.TB, typ string) uint64 {
	if _, err := os.Readlink("/proc/1/ns/" + typ); err == nil {
		return nsInode(t, 1, typ)
	}
	return nsInode(t, 2, typ)
}
