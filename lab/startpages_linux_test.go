package lab_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nslab/nslab/lab"
)

// exeReadOnlyRSS is how much of this process's own executable's code and
// read-only data is resident, in kB, as /proc/self/smaps counts it.
func exeReadOnlyRSS(t *testing.T) int {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	total, mine := 0, false
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 && !strings.HasSuffix(f[0], ":") { // a mapping's header line
			mine = len(f) >= 6 && f[5] == exe && !strings.Contains(f[1], "w")
			continue
		}
		if mine && len(f) == 3 && f[0] == "Rss:" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
	}
	return total
}

func TestDropStartupPagesGivesBackTheBinarysPages(t *testing.T) {
	before := exeReadOnlyRSS(t)
	lab.DropStartupPages()
	after := exeReadOnlyRSS(t)
	// By now the test binary has run every package's init and this
	// package's tests: megabytes of its code and read-only data are
	// mapped (4-6 MiB here). What comes back at once is what the next
	// calls touch (1.6-2.2 MiB).
	if after > before-1024 {
		t.Errorf("code and read-only data resident: %d kB before, %d kB after: want at least 1 MiB less", before, after)
	}
	// The process goes on working, its written data intact (only
	// read-only mappings were dropped).
	m := map[string]int{}
	for i := range 1000 {
		m[strconv.Itoa(i)] = i
	}
	if m["999"] != 999 {
		t.Error("the process lost its data")
	}
}
