package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"
	"golang.org/x/crypto/ssh"

	"github.com/nslab/nslab/lab/script"
	"github.com/nslab/nslab/scenarios"
)

// The client side of a room, as `nslab bench serve` and the tests use it:
// learners over SSH with a pty, and the board as data.

// startServe starts cmd, an nslab serve listening on port 0, and returns
// the address it says it listens on. Every line it prints goes to line
// (if not nil), its stderr too unless cmd has one. It fails if serve
// exits first or has not listened within 30 s.
func startServe(cmd *exec.Cmd, line func(string)) (string, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if cmd.Stderr == nil {
		cmd.Stderr = cmd.Stdout
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		found := false
		for sc.Scan() {
			if line != nil {
				line(sc.Text())
			}
			if a, ok := strings.CutPrefix(sc.Text(), "nslab serve: listening on "); ok && !found {
				found = true
				addr <- strings.Fields(a)[0]
			}
		}
		if !found {
			close(addr)
		}
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			return "", errors.New("nslab serve exited before it listened")
		}
		return a, nil
	case <-time.After(30 * time.Second):
		return "", errors.New("nslab serve did not listen within 30s")
	}
}

// dialRoom connects to a room as user with a code.
func dialRoom(addr, user, code string) (*ssh.Client, error) {
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(code)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 20 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("ssh %s@%s: %w", user, addr, err)
	}
	return c, nil
}

// roomStatus asks the board for the room (ssh instructor@HOST status).
func roomStatus(boss *ssh.Client) (roomJSON, error) {
	var st roomJSON
	sess, err := boss.NewSession()
	if err != nil {
		return st, fmt.Errorf("instructor session: %w", err)
	}
	defer sess.Close()
	out, err := sess.Output("status")
	if err != nil {
		return st, fmt.Errorf("status: %w (%s)", err, out)
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return st, fmt.Errorf("status is not JSON: %w", err)
	}
	return st, nil
}

// learner finds name in a status.
func (st roomJSON) learner(name string) (learnerJSON, bool) {
	for _, l := range st.Learners {
		if l.Name == name {
			return l, true
		}
	}
	return learnerJSON{}, false
}

// waitLearner polls the board until cond holds for name.
func waitLearner(boss *ssh.Client, name, what string, d time.Duration, cond func(learnerJSON) bool) (learnerJSON, error) {
	deadline := time.Now().Add(d)
	for {
		st, err := roomStatus(boss)
		if err != nil {
			return learnerJSON{}, err
		}
		l, ok := st.learner(name)
		if ok && cond(l) {
			return l, nil
		}
		if time.Now().After(deadline) {
			return l, fmt.Errorf("%s: waited %s for %s; last seen %+v", name, d, what, l)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// learnerConn is one learner's SSH session with a pty; what the screen
// is sent is read (and its tail kept) so that the relay never waits.
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

// joinRoom connects a learner on a 120x40 terminal.
func joinRoom(addr, name, code string) (*learnerConn, error) {
	c, err := dialRoom(addr, name, code)
	if err != nil {
		return nil, err
	}
	sess, err := c.NewSession()
	if err == nil {
		err = sess.RequestPty("xterm-256color", 40, 120, ssh.TerminalModes{})
	}
	if err != nil {
		c.Close()
		return nil, err
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
		c.Close()
		return nil, err
	}
	return lc, nil
}

func (lc *learnerConn) send(s string) { lc.in.Write([]byte(s)) }

// escKey is the escape key as a terminal with CSI u keys (fixterms,
// kitty) sends it: a bare ESC that reaches the TUI in one read with the
// next key (a loaded machine, a TUI slow to read) is alt+that key, and
// the escape is lost.
const escKey = "\x1b[27u"

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

// catalogLesson is lesson as the catalog has it (what `nslab list`
// reads): its steps, and what each asks of the learner.
func catalogLesson(id string) (*scenarios.Scenario, error) {
	list, _ := scenarios.Catalog()
	return scenarios.Find(list, id)
}

// openLesson opens sc from the catalog, as a learner at the keyboard does
// (types its id to filter, enter), and, on a lesson begun afresh, reads
// past its introduction to step 1.
func openLesson(boss *ssh.Client, lc *learnerConn, sc *scenarios.Scenario) error {
	lc.send(escKey) // clear the catalog's filter
	time.Sleep(500 * time.Millisecond)
	lc.send(sc.ID)
	time.Sleep(300 * time.Millisecond)
	lc.send("\r")
	if _, err := waitLearner(boss, lc.name, "the lesson to open", 120*time.Second, func(l learnerJSON) bool {
		return l.Lesson == sc.ID && l.Step == 1 && !l.Running
	}); err != nil {
		return err
	}
	if strings.TrimSpace(sc.Intro) != "" {
		lc.send("\r") // the introduction is read: on to step 1
		time.Sleep(300 * time.Millisecond)
	}
	return nil
}

// atPrompt types lines at the lab's prompt (l), as a learner does what a
// hands-on step or a challenge asks, and goes back to the lesson.
func atPrompt(lc *learnerConn, stmts []script.Stmt) {
	if len(stmts) == 0 {
		return
	}
	lc.send("l")
	time.Sleep(300 * time.Millisecond)
	for _, s := range stmts {
		lc.send(s.Text + "\r")
		time.Sleep(time.Second)
	}
	lc.send(escKey) // back to the lesson
	time.Sleep(500 * time.Millisecond)
}

// doStep does step (from 1) of sc, the learner on it, as the lesson asks:
// passes over its prediction (s), types at the lab's prompt what a
// hands-on step waits for, runs it (enter), and for a challenge types
// the solution while its check waits; then waits until it passed or
// failed, and says which.
func doStep(boss *ssh.Client, lc *learnerConn, sc *scenarios.Scenario, step int) (learnerJSON, error) {
	st := sc.Steps[step-1]
	if st.Predict != nil {
		lc.send("s")
		time.Sleep(300 * time.Millisecond)
	}
	if len(st.Solution) == 0 {
		atPrompt(lc, st.Unattended)
	}
	lc.send("\r") // run the step
	if len(st.Solution) > 0 {
		// The challenge's own commands first (they may show that the goal
		// is not yet reached), then the learner's answer.
		if _, err := waitLearner(boss, lc.name, fmt.Sprintf("step %d to wait for the challenge", step), 90*time.Second, func(l learnerJSON) bool {
			return l.Lesson == sc.ID && l.Step == step && (l.Running || l.StepPassed || l.StepFailed)
		}); err != nil {
			return learnerJSON{}, err
		}
		time.Sleep(time.Second)
		atPrompt(lc, st.Solution)
	}
	l, err := waitLearner(boss, lc.name, fmt.Sprintf("step %d to pass", step), 90*time.Second, func(l learnerJSON) bool {
		return l.Lesson == sc.ID && l.Step == step && !l.Running && (l.StepPassed || l.StepFailed)
	})
	if err == nil && l.StepFailed {
		err = fmt.Errorf("%s: %s step %d failed: %+v", lc.name, sc.ID, step, l)
	}
	return l, err
}

// openStep opens lesson from the catalog and does its first step, as a
// learner at the keyboard does.
func openStep(boss *ssh.Client, lc *learnerConn, lesson string) error {
	sc, err := catalogLesson(lesson)
	if err != nil {
		return err
	}
	if err := openLesson(boss, lc, sc); err != nil {
		return err
	}
	_, err = doStep(boss, lc, sc, 1)
	return err
}
