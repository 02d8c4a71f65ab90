package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nslab/nslab/internal/labtest"
)

const (
	testRoomCode       = "namespaces"
	testInstructorCode = "board-code"
	// testAccounts are the rooms' learner accounts in tests: not the
	// nslab-learner1/2 that other tests run nslab as (their processes
	// would count as a room's leftovers).
	testAccounts = "nslab-room"
)

// ensureAccounts makes the learner accounts nslab-room1..n that are
// missing (system accounts, no home, no login shell of use: nslab serve
// starts them itself).
func ensureAccounts(t *testing.T, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		ensureUser(t, testAccounts+strconv.Itoa(i), "--system", "--no-create-home", "--shell", "/usr/sbin/nologin")
	}
}

// roomProc is a running nslab serve on loopback.
type roomProc struct {
	addr  string
	cmd   *exec.Cmd
	boss  *ssh.Client
	mu    sync.Mutex
	log   strings.Builder
	ended chan struct{}
}

// startRoom starts nslab serve for n learners on 127.0.0.1 and stops it
// (SIGTERM) when the test ends.
func startRoom(t *testing.T, n int, extra ...string) *roomProc {
	t.Helper()
	labtest.RequireRoot(t)
	ensureAccounts(t, n)
	bin := learnerBin(t) // the learner accounts run it too
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--room-code", testRoomCode, "--instructor-code", testInstructorCode,
		"--host-key", filepath.Join(t.TempDir(), "host_key"), "--max-learners", strconv.Itoa(n), "--accounts", testAccounts}, extra...)
	r := &roomProc{cmd: exec.Command(bin, args...), ended: make(chan struct{})}
	addr, err := startServe(r.cmd, func(line string) {
		r.mu.Lock()
		r.log.WriteString(line + "\n")
		r.mu.Unlock()
	})
	if r.cmd.Process == nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.ended) }()
	t.Cleanup(func() {
		if strings.Contains(r.logText(), "DATA RACE") {
			t.Errorf("nslab serve: a data race:\n%s", r.logText())
		}
		if r.boss != nil {
			r.boss.Close()
		}
		r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.ended:
		case <-time.After(30 * time.Second):
			r.cmd.Process.Kill()
			t.Errorf("nslab serve did not end within 30s of SIGTERM\n%s", r.logText())
		}
	})
	if err != nil {
		t.Fatalf("%v:\n%s", err, r.logText())
	}
	r.addr = addr
	r.boss = dial(t, r.addr, "instructor", testInstructorCode)
	return r
}

func (r *roomProc) logText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

func dial(t *testing.T, addr, user, code string) *ssh.Client {
	t.Helper()
	c, err := dialRoom(addr, user, code)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// status is the board as data (ssh instructor@HOST status).
func (r *roomProc) status(t *testing.T) roomJSON {
	t.Helper()
	st, err := roomStatus(r.boss)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (r *roomProc) waitLearner(t *testing.T, name, what string, d time.Duration, cond func(learnerJSON) bool) (learnerJSON, error) {
	return waitLearner(r.boss, name, what, d, cond)
}

// reporting waits up to a minute until name's lab has started and reports
// to the board, and returns the board's line for name.
func (r *roomProc) reporting(t *testing.T, name string) learnerJSON {
	t.Helper()
	l, err := r.waitLearner(t, name, "the lab to start", 60*time.Second, func(l learnerJSON) bool { return l.Reporting })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// joinAll joins the room as each of names and waits until each one's lab
// reports; the connections close at the end of the test.
func (r *roomProc) joinAll(t *testing.T, names ...string) []*learnerConn {
	t.Helper()
	conns := make([]*learnerConn, len(names))
	for i, n := range names {
		conns[i] = join(t, r.addr, n)
		t.Cleanup(conns[i].close)
	}
	for _, n := range names {
		r.reporting(t, n)
	}
	return conns
}

// turnedAway connects as user with the room code, a terminal asked for as
// ssh asks for one, and waits until the room ends the session: what the
// room wrote to stderr, and how the session ended.
func turnedAway(t *testing.T, addr, user string) (stderr string, err error) {
	t.Helper()
	c := dial(t, addr, user, testRoomCode)
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	sess.RequestPty("xterm", 40, 120, ssh.TerminalModes{})
	var errOut strings.Builder
	sess.Stderr = &errOut
	sess.Shell()
	err = sess.Wait()
	return errOut.String(), err
}

func join(t *testing.T, addr, name string) *learnerConn {
	t.Helper()
	lc, err := joinRoom(addr, name, testRoomCode)
	if err != nil {
		t.Fatal(err)
	}
	return lc
}

// doLesson opens lesson from the catalog and does every step to the end,
// as a learner at the keyboard does (what each step asks is the
// lesson's own: its prediction, its hands-on commands, its challenge),
// checking on the board each time.
func doLesson(t *testing.T, r *roomProc, lc *learnerConn, lesson string) error {
	sc, err := catalogLesson(lesson)
	if err != nil {
		return err
	}
	if err := openLesson(r.boss, lc, sc); err != nil {
		return err
	}
	n := len(sc.Steps)
	for step := 1; step <= n; step++ {
		l, err := doStep(r.boss, lc, sc, step)
		if err != nil {
			return err
		}
		if l.Steps != n {
			return fmt.Errorf("%s: the board says %s has %d steps, the catalog %d", lc.name, lesson, l.Steps, n)
		}
		if step < n {
			lc.send("\r") // on to the next step
			if _, err := r.waitLearner(t, lc.name, fmt.Sprintf("step %d", step+1), 60*time.Second, func(l learnerJSON) bool {
				return l.Lesson == lesson && l.Step == step+1 && !l.Running
			}); err != nil {
				return err
			}
		}
	}
	if _, err = r.waitLearner(t, lc.name, "the lesson to be done", 30*time.Second, func(l learnerJSON) bool { return l.Done }); err != nil {
		return err
	}
	lc.send(escKey) // back to the catalog
	_, err = r.waitLearner(t, lc.name, "the catalog", 30*time.Second, func(l learnerJSON) bool { return l.Lesson == "" })
	return err
}

// accountProcs lists the processes of the learner accounts.
func accountProcs(t *testing.T, n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		b, _ := exec.Command("ps", "-u", testAccounts+strconv.Itoa(i), "-o", "pid=,args=").Output()
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" {
				out = append(out, l)
			}
		}
	}
	return out
}

// accountNamespaces lists the namespaces the learner accounts own.
func accountNamespaces(t *testing.T, n int) []string {
	var out []string
	b, _ := exec.Command("lsns", "-n", "-o", "NS,TYPE,USER,PID").Output()
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && strings.HasPrefix(f[2], testAccounts) {
			out = append(out, l)
		}
	}
	return out
}

// runRoom has n learners do hello and veth at once, then leave; the
// board shows each one's progress, and nothing of theirs is left.
func runRoom(t *testing.T, n int) {
	r := startRoom(t, n)
	conns := make([]*learnerConn, n)
	for i := range conns {
		conns[i] = join(t, r.addr, fmt.Sprintf("learner%02d", i+1))
	}
	for _, lc := range conns {
		if _, err := r.waitLearner(t, lc.name, "the lab to start", 120*time.Second, func(l learnerJSON) bool { return l.Reporting && l.Connected }); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, n)
	for _, lc := range conns {
		go func() {
			for _, lesson := range []string{"hello", "veth"} {
				if err := doLesson(t, r, lc, lesson); err != nil {
					errs <- fmt.Errorf("%w\nthe screen's last output:\n%s", err, lc.screenTail())
					return
				}
			}
			errs <- nil
		}()
	}
	failures := 0
	for range conns {
		if err := <-errs; err != nil {
			failures++
			t.Error(err)
		}
	}
	st := r.status(t)
	if len(st.Learners) != n {
		t.Errorf("the board lists %d learners, want %d", len(st.Learners), n)
	}
	for _, l := range st.Learners {
		if l.Lesson != "" || !l.Connected {
			t.Errorf("%s after both lessons: %+v (want back in the catalog, connected)", l.Name, l)
		}
	}
	t.Logf("%d learners, hello and veth: %d failure(s)", n, failures)
	// Ctrl-C quits the TUI: the lab ends, and the session with it.
	for _, lc := range conns {
		lc.send("\x03")
	}
	for _, lc := range conns {
		select {
		case <-lc.closed:
		case <-time.After(30 * time.Second):
			t.Errorf("%s: the session did not end after ctrl+c", lc.name)
		}
		lc.close()
	}
	waitGone(t, r, n)
}

// waitGone waits until the board is empty and the accounts have no
// process or namespace left.
func waitGone(t *testing.T, r *roomProc, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		procs, nss := accountProcs(t, n), accountNamespaces(t, n)
		left := len(r.status(t).Learners)
		if len(procs) == 0 && len(nss) == 0 && left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the learners left: %d on the board, processes %q, namespaces %q", left, procs, nss)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func TestARoomOfThreeDoesHelloAndVethAndLeavesNothing(t *testing.T) {
	runRoom(t, 3)
}

// The room: 30 learners at once (make soak; 2 cores take a while).
func TestSoakARoomOfThirty(t *testing.T) {
	if os.Getenv("NSLAB_SOAK") == "" {
		t.Skip("a soak test: make soak (NSLAB_SOAK=1)")
	}
	runRoom(t, 30)
}

// nslab bench serve measures a room (here a small one, briefly): the
// figures are there and add up.
func TestBenchServeMeasuresARoom(t *testing.T) {
	labtest.RequireRoot(t)
	ensureAccounts(t, 2)
	learnerBin(t) // the learner accounts run it too
	var got struct {
		Schema int       `json:"schema"`
		Room   roomBench `json:"room"`
	}
	nslabJSON(t, nil, &got, "bench", "serve", "--accounts", testAccounts, "--learners", "2", "--lesson", "hello", "--settle", "1s", "--measure", "2s", "--json")
	r := got.Room
	// serve, and per learner: nslab as the account, the sandbox's init, the TUI.
	if got.Schema != jsonSchema || r.Learners != 2 || r.Processes < 1+2*3 || r.RSSMiB <= 0 || r.PSSMiB <= 0 || r.PSSMiB > r.RSSMiB || r.Threads < r.Processes {
		t.Errorf("implausible figures: %+v", got)
	}
	if left := accountProcs(t, 2); len(left) > 0 {
		t.Errorf("the bench left processes: %q", left)
	}
}
