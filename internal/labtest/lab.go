package labtest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The checks of a test are made with the tools a user would reach for
// (ip, nsenter, lsns, readlink), sharing no code with the lab: these run
// them.

// IP runs ip(8) with args and returns what it printed; if ip fails, the
// test fails with ip's own message.
func IP(t testing.TB, args ...string) string {
	t.Helper()
	return Cmd(t, "ip", args...)
}

// IPOK says whether ip(8) with args succeeds: `ip link show NAME` for
// "does the link exist".
func IPOK(args ...string) bool { return exec.Command("ip", args...).Run() == nil }

// Cmd runs name with args and returns its standard output; if it fails,
// the test fails with the command line, the error and everything it
// printed.
func Cmd(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// Nsenter runs args with nsenter(1) in the namespaces of pid that flags
// name ("-u", "-p", "-m"...) and returns what it printed, trimmed.
func Nsenter(t testing.TB, pid int, flags []string, args ...string) string {
	t.Helper()
	full := append(append([]string{"-t", strconv.Itoa(pid)}, flags...), args...)
	return strings.TrimSpace(Cmd(t, "nsenter", full...))
}

// ForeignNetns makes a namespace called name the way an operator would,
// with `ip netns add`, outside any lab, and deletes it after the test.
func ForeignNetns(t testing.TB, name string) {
	t.Helper()
	IP(t, "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
}

// ForeignLink makes a host link called name with `ip link add name args...`,
// outside any lab, and deletes it after the test.
func ForeignLink(t testing.TB, name string, args ...string) {
	t.Helper()
	IP(t, append([]string{"link", "add", name}, args...)...)
	t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })
}

// Start starts name with args and kills and reaps it after the test.
func Start(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	StartCmd(t, cmd)
	return cmd
}

// StartCmd starts cmd, made ready by the caller (ExtraFiles, SysProcAttr),
// and kills and reaps it after the test.
func StartCmd(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// Eventually polls cond every 10 ms until it holds or within has passed,
// and says whether it held: for states the kernel reaches a moment after
// the call that causes them (a reaped process's namespaces, a lock
// dropped). The caller says what did not happen.
func Eventually(within time.Duration, cond func() bool) bool {
	for end := time.Now().Add(within); ; time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// NsIno reads the inode of /proc/PID/ns/TYPE from readlink's "net:[N]",
// the plain way, as a check on the lab and the probe.
func NsIno(t testing.TB, pid int, typ string) uint64 {
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

// LsnsHeld maps each namespace lsns(8) lists (of type typ, or of every
// type if typ is "") to the process lsns names for it: one that holds it.
func LsnsHeld(t testing.TB, typ string) map[uint64]int {
	t.Helper()
	args := []string{"-n", "-r", "-o", "NS,PID"}
	if typ != "" {
		args = append(args, "-t", typ)
	}
	held := map[uint64]int{}
	for _, line := range strings.Split(string(Lsns(t, args...)), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			ino, err1 := strconv.ParseUint(f[0], 10, 64)
			pid, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil {
				held[ino] = pid
			}
		}
	}
	return held
}

// TestCmd runs test binary bin (os.Args[0] for this one) with only the
// test named test, once, with env added to this process's environment: a
// test that plays another process (a caller to kill, a server started as
// another account) runs itself.
func TestCmd(bin, test string, env ...string) *exec.Cmd {
	cmd := exec.Command(bin, "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	return cmd
}
