package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"golang.org/x/crypto/ssh"

	"github.com/nslab/nslab/internal/labtest"
)

const (
	testRoomCode       = "namespaces"
	testInstructorCode = "board-code"
)

// ensureAccounts makes the learner accounts nslab-learner1..n that are
// missing (system accounts, no home, no login shell of use: nslab serve
// starts them itself).
func ensureAccounts(t *testing.T, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		name := "nslab-learner" + strconv.Itoa(i)
		if exec.Command("id", name).Run() == nil {
			continue
		}
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v\n%s", name, err, out)
		}
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
	bin := nslabBin(t)
	os.Chmod(filepath.Dir(bin), 0o755) // the learner accounts run it too
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--room-code", testRoomCode, "--instructor-code", testInstructorCode,
		"--host-key", filepath.Join(t.TempDir(), "host_key"), "--max-learners", strconv.Itoa(n)}, extra...)
	r := &roomProc{cmd: exec.Command(bin, args...), ended: make(chan struct{})}
	out, _ := r.cmd.StdoutPipe()
	r.cmd.Stderr = r.cmd.Stdout
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			r.mu.Lock()
			r.log.WriteString(line + "\n")
			r.mu.Unlock()
			if a, ok := strings.CutPrefix(line, "nslab serve: listening on "); ok {
				addr <- strings.Fields(a)[0]
			}
		}
	}()
	go func() { r.cmd.Wait(); close(r.ended) }()
	t.Cleanup(func() {
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
	select {
	case r.addr = <-addr:
	case <-r.ended:
		t.Fatalf("nslab serve exited:\n%s", r.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("nslab serve did not listen within 30s:\n%s", r.logText())
	}
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
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(code)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("ssh %s@%s: %v", user, addr, err)
	}
	return c
}

// status is the board as data (ssh instructor@HOST status).
func (r *roomProc) status(t *testing.T) roomJSON {
	t.Helper()
	sess, err := r.boss.NewSession()
	if err != nil {
		t.Fatalf("instructor session: %v", err)
	}
	defer sess.Close()
	out, err := sess.Output("status")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	var st roomJSON
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("status is not JSON: %v\n%s", err, out)
	}
	return st
}

// learnerOf finds name in a status.
func (st roomJSON) learner(name string) (learnerJSON, bool) {
	for _, l := range st.Learners {
		if l.Name == name {
			return l, true
		}
	}
	return learnerJSON{}, false
}

// waitLearner polls the board until cond holds for name.
func (r *roomProc) waitLearner(t *testing.T, name, what string, d time.Duration, cond func(learnerJSON) bool) (learnerJSON, error) {
	deadline := time.Now().Add(d)
	for {
		l, ok := r.status(t).learner(name)
		if ok && cond(l) {
			return l, nil
		}
		if time.Now().After(deadline) {
			return l, fmt.Errorf("%s: waited %s for %s; last seen %+v", name, d, what, l)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// learnerConn is one learner's SSH session with a pty.
type learnerConn struct {
	name   string
	client *ssh.Client
	sess   *ssh.Session
	in     io.WriteCloser
	mu     sync.Mutex
	bytes  int
	tail   []byte
	closed chan struct{}
}

func join(t *testing.T, addr, name string) *learnerConn {
	t.Helper()
	c := dial(t, addr, name, testRoomCode)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", 40, 120, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	lc := &learnerConn{name: name, client: c, sess: sess, closed: make(chan struct{})}
	lc.in, _ = sess.StdinPipe()
	out, _ := sess.StdoutPipe()
	go func() {
		defer close(lc.closed)
		buf := make([]byte, 32<<10)
		for {
			n, err := out.Read(buf)
			lc.mu.Lock()
			lc.bytes += n
			lc.tail = append(lc.tail, buf[:n]...)
			if len(lc.tail) > 16<<10 {
				lc.tail = lc.tail[len(lc.tail)-16<<10:]
			}
			lc.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	return lc
}

func (lc *learnerConn) send(s string) { lc.in.Write([]byte(s)) }

// screenTail is the end of what the learner's screen was sent, without
// escape sequences: for a failure's message.
func (lc *learnerConn) screenTail() string {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	s := ansi.Strip(string(lc.tail))
	return s[max(0, len(s)-1500):]
}

func (lc *learnerConn) close() {
	lc.sess.Close()
	lc.client.Close()
}

// roomHandsOn are the lines a learner types at the free-lab prompt (l) before
// running a hands-on step, by lesson and step (from 1): what `nslab
// shell` is for on one's own machine.
var roomHandsOn = map[string]map[int]string{
	"hello": {2: "link set lo up -n demo"},
}

// doLesson opens lesson from the catalog and runs every step to the end,
// as a learner at the keyboard does, checking on the board each time.
func doLesson(t *testing.T, r *roomProc, lc *learnerConn, lesson string) error {
	ready := func(step int) func(learnerJSON) bool {
		return func(l learnerJSON) bool { return l.Lesson == lesson && l.Step == step && !l.Running }
	}
	lc.send("\x1b") // clear the catalog's filter
	time.Sleep(500 * time.Millisecond)
	lc.send(lesson)
	time.Sleep(300 * time.Millisecond)
	lc.send("\r")
	l, err := r.waitLearner(t, lc.name, "the lesson to open", 60*time.Second, ready(1))
	if err != nil {
		return err
	}
	for step := 1; step <= l.Steps; step++ {
		if line := roomHandsOn[lesson][step]; line != "" {
			lc.send("l")
			time.Sleep(300 * time.Millisecond)
			lc.send(line + "\r")
			time.Sleep(time.Second)
			lc.send("\x1b")
			time.Sleep(500 * time.Millisecond)
		}
		lc.send("\r") // run the step
		l, err = r.waitLearner(t, lc.name, fmt.Sprintf("step %d to pass", step), 90*time.Second, func(l learnerJSON) bool {
			return l.Lesson == lesson && l.Step == step && !l.Running && (l.StepPassed || l.StepFailed)
		})
		if err != nil {
			return err
		}
		if l.StepFailed {
			return fmt.Errorf("%s: %s step %d failed: %+v", lc.name, lesson, step, l)
		}
		if step < l.Steps {
			lc.send("\r") // on to the next step
			if _, err := r.waitLearner(t, lc.name, fmt.Sprintf("step %d", step+1), 60*time.Second, ready(step+1)); err != nil {
				return err
			}
		}
	}
	if _, err = r.waitLearner(t, lc.name, "the lesson to be done", 30*time.Second, func(l learnerJSON) bool { return l.Done }); err != nil {
		return err
	}
	lc.send("\x1b") // back to the catalog (alone: ESC and a letter would be alt+letter)
	_, err = r.waitLearner(t, lc.name, "the catalog", 30*time.Second, func(l learnerJSON) bool { return l.Lesson == "" })
	return err
}

// accountProcs lists the processes of the learner accounts.
func accountProcs(t *testing.T, n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		b, _ := exec.Command("ps", "-u", "nslab-learner"+strconv.Itoa(i), "-o", "pid=,args=").Output()
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
		if len(f) >= 3 && strings.HasPrefix(f[2], "nslab-learner") {
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

// TestMeasureARoom is the room's cost (docs/benchmarks.md, "A room"):
// NSLAB_ROOM_BENCH=N learners each in the veth lesson with its panels live
// at 1 Hz, idle; per learner RSS and PSS (every process of the account,
// plus serve's share) and CPU over 30 s.
func TestMeasureARoom(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("NSLAB_ROOM_BENCH"))
	if n == 0 {
		t.Skip("a measurement: NSLAB_ROOM_BENCH=30")
	}
	r := startRoom(t, n)
	conns := make([]*learnerConn, n)
	for i := range conns {
		conns[i] = join(t, r.addr, fmt.Sprintf("m%02d", i+1))
		defer conns[i].close()
	}
	for _, lc := range conns {
		if _, err := r.waitLearner(t, lc.name, "start", 120*time.Second, func(l learnerJSON) bool { return l.Reporting }); err != nil {
			t.Fatal(err)
		}
		lc.send("\x1b")
	}
	time.Sleep(time.Second)
	for _, lc := range conns {
		lc.send("veth\r")
	}
	for _, lc := range conns {
		r.waitLearner(t, lc.name, "veth", 120*time.Second, func(l learnerJSON) bool { return l.Lesson == "veth" && !l.Running })
		lc.send("\r")
	}
	for _, lc := range conns {
		r.waitLearner(t, lc.name, "step 1", 120*time.Second, func(l learnerJSON) bool { return l.StepPassed })
	}
	time.Sleep(10 * time.Second) // settle
	pids := map[int]bool{r.cmd.Process.Pid: true}
	for i := 1; i <= n; i++ {
		b, _ := exec.Command("ps", "-u", "nslab-learner"+strconv.Itoa(i), "-o", "pid=").Output()
		for _, f := range strings.Fields(string(b)) {
			p, _ := strconv.Atoi(f)
			pids[p] = true
		}
	}
	rss, pss, threads := 0, 0, 0
	ticks := func() int {
		total := 0
		for p := range pids {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
			if len(f) > 13 {
				u, _ := strconv.Atoi(f[11])
				s, _ := strconv.Atoi(f[12])
				total += u + s
			}
		}
		return total
	}
	for p := range pids {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p))
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 && f[0] == "Rss:" {
				v, _ := strconv.Atoi(f[1])
				rss += v
			}
			if len(f) >= 2 && f[0] == "Pss:" {
				v, _ := strconv.Atoi(f[1])
				pss += v
			}
		}
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		for _, l := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(l, "Threads:"); ok {
				x, _ := strconv.Atoi(strings.TrimSpace(v))
				threads += x
			}
		}
	}
	t0, c0 := time.Now(), ticks()
	time.Sleep(30 * time.Second)
	cpu := float64(ticks()-c0) / 100 / time.Since(t0).Seconds() * 100 // % of one core (USER_HZ 100)
	t.Logf("room of %d, veth step 1, panels at 1 Hz, idle: %d processes, %d threads; per learner RSS %.1f MiB, PSS %.1f MiB, threads %.1f, CPU %.2f %% of a core (room total %.1f %%)",
		n, len(pids), threads, float64(rss)/1024/float64(n), float64(pss)/1024/float64(n), float64(threads)/float64(n), cpu/float64(n), cpu)
}
