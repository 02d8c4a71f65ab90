package examples

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// proctree sums a shell and the two sleeps it started: three processes,
// three threads, and as many descriptors as ls finds in their fd
// directories.
func TestProctreeSumsAProcessAndItsChildren(t *testing.T) {
	sh := exec.Command("sh", "-c", "sleep 60 & sleep 60 & wait")
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { exec.Command("pkill", "-P", fmt.Sprint(sh.Process.Pid)).Run(); sh.Process.Kill(); sh.Wait() }()
	var kids []string
	for end := time.Now().Add(10 * time.Second); len(kids) < 2; time.Sleep(20 * time.Millisecond) {
		out, _ := exec.Command("pgrep", "-P", fmt.Sprint(sh.Process.Pid)).Output()
		if kids = strings.Fields(string(out)); time.Now().After(end) {
			t.Fatalf("the shell has %d children, want 2", len(kids))
		}
	}
	fds := 0
	for _, p := range append(kids, fmt.Sprint(sh.Process.Pid)) {
		ents, err := os.ReadDir("/proc/" + p + "/fd")
		if err != nil {
			t.Fatal(err)
		}
		fds += len(ents)
	}
	out := start(t, "proctree", fmt.Sprint(sh.Process.Pid)).finish()
	lines := strings.Split(out, "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one row:\n%s", out)
	}
	f := strings.Fields(lines[1])
	if len(f) != 6 || f[1] != "3" || f[2] != "3" || f[5] != fmt.Sprint(fds) {
		t.Errorf("proctree: want 3 processes, 3 threads, %d fds (ls /proc/PID/fd):\n%s", fds, out)
	}
	if f[3] == "0.0" {
		t.Errorf("proctree: no PSS:\n%s", out)
	}
}
