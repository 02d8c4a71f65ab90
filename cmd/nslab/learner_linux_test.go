package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// learner is an ordinary account the sandbox tests run nslab as: no sudo,
// no capabilities (setpriv from root drops them with the uid).
type learner struct {
	name     string
	uid, gid int
	home     string
}

// ensureUser makes the account name with useradd and its options,
// unless the machine has it, and returns it.
func ensureUser(t *testing.T, name string, useradd ...string) *user.User {
	t.Helper()
	if _, err := user.Lookup(name); err != nil {
		labtest.Cmd(t, "useradd", append(useradd, name)...)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newLearner returns the account name, made with useradd if the machine
// lacks it (.ci/run makes them first). ranged gives it a subordinate id
// range in /etc/subuid and /etc/subgid; otherwise it has none, and its
// sandbox maps one id.
func newLearner(t *testing.T, name string, ranged bool) learner {
	t.Helper()
	labtest.RequireRoot(t)
	u := ensureUser(t, name, "--create-home", "--shell", "/bin/sh")
	l := learner{name: name, home: u.HomeDir}
	l.uid, _ = strconv.Atoi(u.Uid)
	l.gid, _ = strconv.Atoi(u.Gid)
	_, rangeErr := lab.SubIDRange(l.uid)
	switch {
	case ranged && rangeErr != nil:
		if _, err := exec.LookPath("newuidmap"); err != nil {
			t.Fatalf("%s needs an id range, and newuidmap is not installed (apt-get install uidmap; .ci/run does)", name)
		}
		from := freeSubIDs()
		arg := fmt.Sprintf("%d-%d", from, from+65535)
		if out, err := exec.Command("usermod", "--add-subuids", arg, "--add-subgids", arg, name).CombinedOutput(); err != nil {
			t.Fatalf("usermod %s: %v\n%s", name, err, out)
		}
	case !ranged && rangeErr == nil:
		for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
			exec.Command("sed", "-i", "/^"+name+":/d", f).Run()
		}
	}
	return l
}

// learnerBin is the nslab binary, in a directory the learner may enter.
func learnerBin(t *testing.T) string {
	t.Helper()
	bin := nslabBin(t)
	os.Chmod(filepath.Dir(bin), 0o755)
	return bin
}

// command runs nslab args as the learner, in their home, with the
// environment a login gives them.
func (l learner) command(bin string, args ...string) *exec.Cmd {
	argv := append([]string{"--reuid", strconv.Itoa(l.uid), "--regid", strconv.Itoa(l.gid), "--init-groups", "--", bin}, args...)
	cmd := exec.Command("setpriv", argv...)
	cmd.Dir = l.home
	cmd.Env = []string{"HOME=" + l.home, "USER=" + l.name, "LOGNAME=" + l.name, "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG=C.UTF-8", "TERM=xterm-256color"}
	return cmd
}

// run runs nslab as the learner: stdout, stderr, exit code.
func (l learner) run(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	return runCommand(t, l.command(bin, args...))
}

// machine is what a lab could change on the machine: the named network
// namespaces, the links and the routes of the machine's own namespace.
type machine struct {
	netns, links, routes map[string]bool
}

func readMachine(t *testing.T) machine {
	t.Helper()
	m := machine{netns: map[string]bool{}, links: map[string]bool{}, routes: map[string]bool{}}
	ents, _ := os.ReadDir(lab.NetnsDir)
	for _, e := range ents {
		m.netns[e.Name()] = true
	}
	out := labtest.IP(t, "-o", "link", "show")
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			m.links[name] = true
		}
	}
	out = labtest.IP(t, "route", "show", "table", "all")
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" {
			m.routes[line] = true
		}
	}
	return m
}

// newSince lists the namespaces, links and routes of the given names that
// are in m and not in before, leaving out what running host-mode labs own
// (their journals under /run/nslab say so).
func (m machine) newSince(before machine, names map[string]bool) []string {
	liveNetns, liveLinks := lab.LiveOwned(lab.RunDir())
	var out []string
	for n := range m.netns {
		if names[n] && !before.netns[n] && !liveNetns[n] {
			out = append(out, "netns "+n)
		}
	}
	for n := range m.links {
		if names[n] && !before.links[n] && !liveLinks[n] {
			out = append(out, "link "+n)
		}
	}
	for r := range m.routes {
		for n := range names {
			if strings.Contains(r, "dev "+n+" ") && !before.routes[r] && !liveLinks[n] {
				out = append(out, "route "+r)
			}
		}
	}
	sort.Strings(out)
	return out
}

// sandboxOf describes a running sandbox from the machine, as root sees it
// with tools the project did not write: its processes (PID and start
// time), and the inodes of its namespaces: every namespace lsns shows
// whose owner is the sandbox's user namespace or one made inside it, and
// the named network namespaces its journal records (held by bind mounts
// only, no process need be in them).
type sandboxOf struct {
	procs map[int]uint64
	ns    map[uint64]string
}

func describeSandbox(t *testing.T, initPID int) sandboxOf {
	t.Helper()
	sb := sandboxOf{procs: map[int]uint64{}, ns: map[uint64]string{}}
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/user", initPID), &st); err != nil {
		t.Fatalf("the sandbox's init %d: %v", initPID, err)
	}
	users := map[uint64]bool{st.Ino: true}
	sb.ns[st.Ino] = "user"
	var list struct {
		Namespaces []struct {
			NS   uint64 `json:"ns"`
			Type string `json:"type"`
			ONS  uint64 `json:"ons"`
			PNS  uint64 `json:"pns"`
		} `json:"namespaces"`
	}
	json.Unmarshal(labtest.Lsns(t, "-J", "-o", "NS,TYPE,ONS,PNS"), &list)
	for grew := true; grew; {
		grew = false
		for _, n := range list.Namespaces {
			if _, seen := sb.ns[n.NS]; !seen && (users[n.ONS] || n.Type == "user" && users[n.PNS]) {
				sb.ns[n.NS] = n.Type
				if n.Type == "user" {
					users[n.NS] = true
				}
				grew = true
			}
		}
	}
	// Processes: every one in a namespace of the sandbox's.
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, _ := strconv.Atoi(filepath.Base(p))
		if unix.Stat(p+"/ns/user", &st) == nil && users[st.Ino] {
			sb.procs[pid] = labtest.ProcStart(pid)
		}
	}
	// Named network namespaces, from the lab's journal inside.
	if labPID, ok := lab.SandboxLab(initPID); ok {
		jfs, _ := lab.ReadJournals(fmt.Sprintf("/proc/%d/root/run/nslab", labPID))
		for _, jf := range jfs {
			for _, e := range jf.Live {
				if e.Kind == lab.KindNetns && e.Ino != 0 {
					sb.ns[e.Ino] = "net " + e.Name
				}
			}
		}
	}
	return sb
}

// leftAfter lists what of the sandbox is still there: a process of it
// alive, a namespace of it that lsns shows held by a process started
// before killedAt (an inode is reused only once its namespace is gone), a
// network namespace of it still mounted anywhere.
func (sb sandboxOf) leftAfter(t *testing.T, killedAt uint64) []string {
	t.Helper()
	var left []string
	for pid, start := range sb.procs {
		if lab.ProcAlive(pid, start) {
			left = append(left, fmt.Sprintf("process %d", pid))
		}
	}
	for _, line := range strings.Split(string(labtest.Lsns(t, "-n", "-r", "-o", "NS,PID")), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		ino, _ := strconv.ParseUint(f[0], 10, 64)
		pid, _ := strconv.Atoi(f[1])
		if typ, ours := sb.ns[ino]; ours {
			if st := labtest.ProcStart(pid); st != 0 && st < killedAt {
				left = append(left, fmt.Sprintf("%s namespace %d (pid %d in it)", typ, ino, pid))
			}
		}
	}
	infos, _ := filepath.Glob("/proc/[0-9]*/mountinfo")
	for _, mi := range infos {
		b, _ := os.ReadFile(mi)
		for ino, typ := range sb.ns {
			if strings.HasPrefix(typ, "net ") && bytes.Contains(b, []byte(fmt.Sprintf("net:[%d]", ino))) {
				left = append(left, fmt.Sprintf("%s (%d) still mounted (%s)", typ, ino, mi))
			}
		}
	}
	sort.Strings(left)
	return left
}

// freeSubIDs is the first id after every range of /etc/subuid and
// /etc/subgid: where a new range can start.
func freeSubIDs() int {
	next := 100000
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n") {
			var name string
			var start, count int
			if n, _ := fmt.Sscanf(strings.ReplaceAll(line, ":", " "), "%s %d %d", &name, &start, &count); n == 3 && start+count > next {
				next = start + count
			}
		}
	}
	return next
}
