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
