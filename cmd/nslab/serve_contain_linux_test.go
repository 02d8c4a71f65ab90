package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
)

// Learner A, in a real ssh client on a terminal (tmux), tries to reach
// learner B and the machine; each refusal is on A's screen, and B goes on
// through a lesson meanwhile (B's step times are logged).
func TestALearnerCannotReachAnotherOrTheMachine(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("needs an ssh client (openssh-client)")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("needs tmux")
	}
	r := startRoom(t, 2, "--max-namespaces", "8", "--max-procs", "120")
	b := r.joinAll(t, "bob")[0]
	bInfo := r.reporting(t, "bob")
	// A is alice, at a terminal in tmux, with the machine's ssh client.
	a := tmuxSession{t: t, name: "lab", sock: filepath.Join(t.TempDir(), "tmux"), joined: true}
	_, port, _ := strings.Cut(r.addr, ":")
	a.start(150, 50, fmt.Sprintf("ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no -p %s alice@127.0.0.1", port))
	a.waitForText("room code:")
	a.keys(testRoomCode, "Enter")
	a.waitForText("lessons, in order") // the catalog
	a.keys("F4")
	a.waitForText("free lab")

	// B works through hello while A tries; B's step times are the
	// server's answer under A's attempts.
	bDone := make(chan error, 1)
	go func() {
		t0 := time.Now()
		err := doLesson(t, r, b, "hello")
		t.Logf("B did hello in %s while A tried to break out", time.Since(t0).Round(time.Millisecond))
		bDone <- err
	}()

	bNet, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", bInfo.PID))
	for _, c := range []struct{ line, want string }{
		{"exec -- sh -c 'touch /tmp/owned'", "sh is not allowed here"},
		{"exec -- cat /etc/shadow", "reads /proc and /sys only"},
		{"exec -- nsenter -t 1 -a", "nsenter starts a shell"},
		{fmt.Sprintf("exec -- nsenter -t %d -n ip -br link", bInfo.PID), "nsenter: "},
		{"netns add t{1..20}", "at most 8 namespaces of each type"},
		{"spawn p1", ""}, {"spawn p2", ""}, {"spawn p3", ""}, {"spawn p4", ""}, {"spawn p5", ""}, {"spawn p6", ""}, {"spawn p7", ""}, {"spawn p8", ""}, {"spawn p9", ""}, {"spawn p10", ""},
		{"spawn p11", "may run at most 120"},
	} {
		a.keys("-l", c.line)
		a.keys("Enter")
		if c.want != "" {
			a.waitForText(c.want)
		} else {
			time.Sleep(700 * time.Millisecond)
		}
	}
	// What A can see: its own processes, sockets and namespaces only.
	// B's lab, by the PID the machine knows it by, is not in A's /proc.
	a.keys("-l", fmt.Sprintf("exec -- cat /proc/%d/status", bInfo.PID))
	a.keys("Enter")
	a.waitForText(fmt.Sprintf("/proc/%d/status: No such file or directory", bInfo.PID))
	// B's sockets are not in A's ss (A sees its own connection to the
	// room, whose server end the kernel counts in A's namespace: it is
	// named for A's account).
	a.keys("-l", "exec -- ss -xa")
	a.keys("Enter")
	a.waitForText("Netid")
	if got := a.screen(); bInfo.Account == "" || strings.Contains(got, bInfo.Account+".sock") {
		t.Errorf("A's ss shows B's (%s) control socket:\n%s", bInfo.Account, got)
	}
	a.keys("-l", "exec -- lsns -o NS,TYPE")
	a.keys("Enter")
	time.Sleep(2 * time.Second)
	if got := a.screen(); bNet != "" && strings.Contains(got, strings.Trim(strings.TrimPrefix(bNet, "net:"), "[]")) {
		t.Errorf("A's lsns shows B's network namespace %s:\n%s", bNet, got)
	}
	if _, err := os.Stat("/tmp/owned"); err == nil {
		t.Error("A wrote a file of the machine")
	}
	if err := <-bDone; err != nil {
		t.Errorf("B could not go on while A tried: %v", err)
	}
	if pid := r.cmd.Process.Pid; syscall.Kill(pid, 0) != nil {
		t.Fatal("nslab serve died")
	}
	t.Logf("A's screen at the end:\n%s", a.screen())
}

// kill -9 of nslab serve ends every learner's lab: nothing of theirs is
// left, without any cleanup.
func TestKill9OfServeLeavesNothing(t *testing.T) {
	r := startRoom(t, 2)
	a := r.joinAll(t, "ann", "ben")[0]
	// ann mid-lesson: a child in a namespace of its own, a veth.
	if err := openStep(r.boss, a, "veth"); err != nil {
		t.Fatal(err)
	}
	// and a named namespace, typed at the lab's prompt: it is in her
	// sandbox's /run/netns, never the machine's.
	a.send("l")
	time.Sleep(300 * time.Millisecond)
	a.send("netns add kill9probe\r")
	time.Sleep(time.Second)
	a.send(escKey)
	time.Sleep(500 * time.Millisecond)
	if got := machineNetns(t); strings.Contains(got, "kill9probe") {
		t.Errorf("ann's namespace is on the machine: ip netns list: %s", got)
	}
	annNS := accountNamespaces(t, 2)
	if len(annNS) == 0 {
		t.Fatal("lsns shows no namespace of the learner accounts to begin with")
	}
	if len(accountProcs(t, 2)) == 0 {
		t.Fatal("no learner process to begin with")
	}
	r.cmd.Process.Kill()
	<-r.ended
	deadline := time.Now().Add(20 * time.Second)
	for {
		procs, nss := accountProcs(t, 2), accountNamespaces(t, 2)
		if len(procs) == 0 && len(nss) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after kill -9 of nslab serve: processes %q, namespaces %q", procs, nss)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := machineNetns(t); strings.Contains(got, "kill9probe") {
		t.Errorf("after kill -9, ann's namespace is on the machine: ip netns list: %s", got)
	}
	t.Logf("before kill -9 the accounts had %d namespaces (lsns); after, none", len(annNS))
	if socks, _ := os.ReadDir("/run/nslab-serve"); len(socks) > 0 {
		for _, s := range socks {
			if strings.HasPrefix(s.Name(), fmt.Sprint(r.cmd.Process.Pid)+"-") {
				t.Errorf("a control socket of the killed server is left: %s", s.Name())
			}
		}
	}
}

// machineNetns is `ip netns list` on the machine.
func machineNetns(t *testing.T) string {
	t.Helper()
	return labtest.IP(t, "netns", "list")
}
