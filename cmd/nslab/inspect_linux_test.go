package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
)

const nobody = 65534

// TestInspectAsAnotherUserSaysWhatItCannotRead runs the real binary as
// nobody on a root process (whose namespace links and descriptors nobody
// may not read) and on one of nobody's own, and checks that the unreadable
// is reported per field, never as a 0, while what may be read is named.
func TestInspectAsAnotherUserSaysWhatItCannotRead(t *testing.T) {
	labtest.RequireRoot(t)
	bin := binForNobody(t)
	rootPID := sleeper(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS})
	nobodyPID := sleeper(t, &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}})

	run := func(t *testing.T, asNobody bool, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"inspect"}, args...)...)
		if asNobody {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		}
		cmd.Dir = "/"
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("nslab %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	views := func(t *testing.T, asNobody bool, pid int) inspectView {
		t.Helper()
		var rep inspectReport
		out := run(t, asNobody, strconv.Itoa(pid), "--json", "--sockets", "--threads")
		if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Processes) != 1 || rep.Schema != jsonSchema {
			t.Fatalf("not one view (%v):\n%s", err, out)
		}
		return rep.Processes[0]
	}

	t.Run("a root process: namespaces and descriptors are errors, not zeros", func(t *testing.T) {
		v := views(t, true, rootPID)
		if len(v.Namespaces) != 0 || v.FDs != 0 || len(v.Sockets) != 0 {
			t.Errorf("nobody read what it may not: %+v", v)
		}
		for _, field := range []string{"ns.net", "ns.uts", "fds", "sockets"} {
			if !strings.Contains(v.Errors[field], "permission denied") {
				t.Errorf("errors[%s] = %q, want permission denied", field, v.Errors[field])
			}
		}
		if v.NumThreads != 1 || v.VmRSS == 0 {
			t.Errorf("status is world-readable, yet %d threads, rss %d", v.NumThreads, v.VmRSS)
		}
		table := run(t, true, strconv.Itoa(rootPID))
		for _, want := range []string{"open file descriptors unknown", "sockets unknown", "could not read", "run as root"} {
			if !strings.Contains(table, want) {
				t.Errorf("table lacks %q:\n%s", want, table)
			}
		}
		if strings.Contains(table, "0 file descriptors") {
			t.Errorf("table shows a count it could not read:\n%s", table)
		}
	})
	t.Run("nobody's own process: the initial namespaces are host without reading PID 1", func(t *testing.T) {
		v := views(t, true, nobodyPID)
		if len(v.Errors) != 0 {
			t.Errorf("errors: %v", v.Errors)
		}
		for _, n := range v.Namespaces {
			if n.DiffersFromInit {
				t.Errorf("%s differs from PID 1: %+v", n.Type, n)
			}
			if n.Name != "host" && n.Type != "net" && n.Type != "mnt" { // net, mnt: reserved since 6.18 only
				t.Errorf("%s named %q, want host", n.Type, n.Name)
			}
		}
	})
	t.Run("root sees the root process's own uts namespace", func(t *testing.T) {
		v := views(t, false, rootPID)
		if len(v.Errors) != 0 || v.FDs == 0 {
			t.Errorf("errors %v, %d fds", v.Errors, v.FDs)
		}
		for _, n := range v.Namespaces {
			if n.DiffersFromInit != (n.Type == "uts") {
				t.Errorf("%s: differs from PID 1 = %v", n.Type, n.DiffersFromInit)
			}
		}
	})
}

// binForNobody copies the nslab binary where nobody may run it.
func binForNobody(t *testing.T) string {
	dir, err := os.MkdirTemp("", "nslab-inspect-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b, err := os.ReadFile(nslabBin(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "nslab")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// sleeper starts a sleep with attr and returns its PID; it is killed at
// the end of the test.
func sleeper(t *testing.T, attr *syscall.SysProcAttr) int {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}

func TestInspectRefusesWhatIsNotAPID(t *testing.T) {
	for _, arg := range []string{"abc", "0", "-5", "12x"} {
		t.Run(arg+" is refused with exit 2", func(t *testing.T) {
			_, stderr, code := nslab(t, "inspect", "1", "--", arg)
			if code != 2 || !strings.Contains(stderr, "is not a PID") {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
		})
	}
}
