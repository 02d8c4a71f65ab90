package room

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"

	"github.com/nslab/nslab/lab"
)

// Status is what a learner's TUI reports (the JSON of ui.RoomStatus).
type Status struct {
	Lesson     string `json:"lesson,omitempty"`
	Title      string `json:"title,omitempty"`
	Step       int    `json:"step"`
	Steps      int    `json:"steps"`
	Passed     int    `json:"passed"`
	Failed     int    `json:"failed"`
	StepFailed bool   `json:"step_failed,omitempty"`
	StepPassed bool   `json:"step_passed,omitempty"`
	Running    bool   `json:"running,omitempty"`
	Done       bool   `json:"done,omitempty"`
}

// Info is one learner as the board shows them.
type Info struct {
	Name      string
	Account   string
	Status    Status
	Connected bool
	Joined    time.Time
	StepSince time.Time // on this step since
	FailSince time.Time // the step has failed since (zero: it has not)
	Stuck     bool      // failing for longer than the room's Stuck
	LastInput time.Time
	Cols      int
	Rows      int
	PID       int  // the learner's TUI, as the machine sees it
	Reporting bool // the TUI has reported to the room (it is up)
}

// Learner is one learner's lab: the TUI in a sandbox on a pty.
type Learner struct {
	room    *Room
	Name    string
	Account Account
	key     string
	joined  time.Time

	// started is closed once start has returned; master and sb are set
	// (under mu) only if it succeeded, and never change after.
	started chan struct{}
	master  *os.File
	sb      *lab.Sandbox
	ln      *net.UnixListener

	ctlMu sync.Mutex
	ctl   net.Conn

	mu         sync.Mutex
	out        io.Writer
	outID      int
	kick       chan struct{} // closed when another connection takes over
	followers  map[int]chan []byte
	nextID     int
	status     Status
	reported   bool
	stepSince  time.Time
	failSince  time.Time
	lastInput  time.Time
	connected  bool
	grace      *time.Timer
	session    *time.Timer // ends the lab at the room's Session
	cols, rows int
	why        string
	ended      chan struct{}
}

// start starts the learner's lab on a new pty. The learner is in the
// room (the board lists them) while it runs: what other goroutines read
// is set under mu, and started is closed when it returns.
func (l *Learner) start(term string, cols, rows int) error {
	defer close(l.started)
	r := l.room
	sock := r.socketPath(l.Account)
	os.Remove(sock)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return fmt.Errorf("control socket for %s: %w", l.Name, err)
	}
	os.Chown(sock, l.Account.UID, l.Account.GID)
	os.Chmod(sock, 0o600)
	l.ln = ln
	master, tty, err := pty.Open()
	if err != nil {
		ln.Close()
		return fmt.Errorf("a terminal for %s: %w", l.Name, err)
	}
	cols, rows = max(cols, 20), max(rows, 10)
	l.mu.Lock()
	l.cols, l.rows = cols, rows
	l.mu.Unlock()
	pty.Setsize(master, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if term == "" {
		term = "xterm-256color"
	}
	env := append([]string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"TERM=" + term, "LANG=C.UTF-8", "HOME=/tmp", "XDG_STATE_HOME=/tmp",
		"USER=" + l.Account.Name, "LOGNAME=" + l.Account.Name,
		ControlEnv + "=" + sock,
	}, r.opt.Env...)
	limits := r.opt.Limits
	sb, err := lab.StartSandbox(lab.SandboxOptions{
		Args: r.opt.Args, Stdin: tty, Stdout: tty, Stderr: tty, Setsid: true, Setctty: true,
		Credential: l.Account.credential(), Env: env, Dir: "/", Limits: &limits,
		Why: "nslab serve: every learner's lab is a sandbox of its own, as an account of its own",
	})
	tty.Close()
	if err != nil {
		master.Close()
		ln.Close()
		os.Remove(sock)
		return fmt.Errorf("start %s's lab as %s: %w", l.Name, l.Account.Name, err)
	}
	l.mu.Lock()
	l.master, l.sb = master, sb
	l.stepSince, l.lastInput = time.Now(), time.Now()
	if d := r.opt.Session; d > 0 {
		l.session = time.AfterFunc(d, func() { l.End(fmt.Sprintf("the session time (%s) is up", d)) })
	}
	l.mu.Unlock()
	go l.pump()
	go l.accept()
	go l.wait()
	return nil
}

// pump copies the TUI's output to the learner's connection and followers.
func (l *Learner) pump() {
	buf := make([]byte, 32<<10)
	for {
		n, err := l.master.Read(buf)
		if n > 0 {
			l.mu.Lock()
			out := l.out
			for _, f := range l.followers {
				select {
				case f <- append([]byte(nil), buf[:n]...):
				default: // a slow follower loses frames; a repaint catches up
				}
			}
			l.mu.Unlock()
			if out != nil {
				out.Write(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}

// wait forgets the learner once their lab has ended.
func (l *Learner) wait() {
	<-l.sb.Done()
	l.ln.Close()
	os.Remove(l.room.socketPath(l.Account))
	l.ctlMu.Lock()
	if l.ctl != nil {
		l.ctl.Close()
	}
	l.ctlMu.Unlock()
	l.mu.Lock()
	if l.why == "" {
		l.why = "the lab ended"
	}
	for id, f := range l.followers {
		close(f)
		delete(l.followers, id)
	}
	if l.grace != nil {
		l.grace.Stop()
	}
	if l.session != nil {
		l.session.Stop() // an ended lab is not held for the rest of the session time
	}
	l.mu.Unlock()
	l.master.Close()
	l.room.remove(l)
	close(l.ended)
}

// Attach makes w the learner's screen at cols x rows (a new or resumed
// SSH session). kicked is closed if another connection takes over; call
// detach when the session ends.
func (l *Learner) Attach(w io.Writer, cols, rows int) (kicked <-chan struct{}, detach func()) {
	l.mu.Lock()
	if l.kick != nil {
		close(l.kick)
	}
	l.nextID++
	id := l.nextID
	l.out, l.outID, l.kick, l.connected = w, id, make(chan struct{}), true
	kick := l.kick
	if l.grace != nil {
		l.grace.Stop()
		l.grace = nil
	}
	l.mu.Unlock()
	l.Resize(cols, rows)
	l.Repaint()
	l.room.notify()
	return kick, func() { l.detach(id) }
}

func (l *Learner) detach(id int) {
	l.mu.Lock()
	if l.outID != id {
		l.mu.Unlock()
		return
	}
	l.out, l.connected = nil, false
	grace := l.room.opt.Grace
	l.grace = time.AfterFunc(grace, func() {
		l.End(fmt.Sprintf("%s did not come back within %s", l.Name, grace))
	})
	l.mu.Unlock()
	l.room.notify()
}

// Follow copies the learner's screen to w, read-only, until stop; the
// TUI repaints at once so that w starts from a whole screen.
func (l *Learner) Follow(w io.Writer) (stop func()) {
	ch := make(chan []byte, 256)
	l.mu.Lock()
	if l.followers == nil {
		l.followers = map[int]chan []byte{}
	}
	l.nextID++
	id := l.nextID
	l.followers[id] = ch
	l.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range ch {
			w.Write(b)
		}
	}()
	l.Repaint()
	return func() {
		l.mu.Lock()
		if f, ok := l.followers[id]; ok {
			delete(l.followers, id)
			close(f)
		}
		l.mu.Unlock()
		<-done
	}
}

// Input types b at the learner's terminal.
func (l *Learner) Input(b []byte) error {
	l.mu.Lock()
	l.lastInput = time.Now()
	l.mu.Unlock()
	_, err := l.master.Write(b)
	return err
}

// Resize sets the learner's terminal size (the TUI gets SIGWINCH).
func (l *Learner) Resize(cols, rows int) {
	if cols <= 0 || rows <= 0 {
		return
	}
	l.mu.Lock()
	l.cols, l.rows = cols, rows
	l.mu.Unlock()
	pty.Setsize(l.master, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
}

// End ends the learner's lab (why is told to their connection): the TUI
// is asked to quit, and the sandbox is killed if it has not within 3s.
func (l *Learner) End(why string) {
	<-l.started
	l.mu.Lock()
	if l.why == "" {
		l.why = why
	}
	sb := l.sb
	l.mu.Unlock()
	if sb == nil { // the lab never started: nothing to end
		return
	}
	sb.Signal(syscall.SIGTERM)
	go func() {
		select {
		case <-l.ended:
		case <-time.After(3 * time.Second):
			sb.Kill()
		}
	}()
}

// Ended is closed when the learner's lab has ended; Why then says why.
func (l *Learner) Ended() <-chan struct{} { return l.ended }

// Why says why the lab ended.
func (l *Learner) Why() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.why
}

// Info is the learner as the board shows them.
func (l *Learner) Info() Info {
	l.mu.Lock()
	defer l.mu.Unlock()
	in := Info{Name: l.Name, Account: l.Account.Name, Status: l.status, Connected: l.connected, Joined: l.joined,
		StepSince: l.stepSince, FailSince: l.failSince, LastInput: l.lastInput, Cols: l.cols, Rows: l.rows, Reporting: l.reported}
	if l.sb != nil {
		in.PID, _ = lab.SandboxLab(l.sb.InitPID)
	}
	in.Stuck = !l.failSince.IsZero() && time.Since(l.failSince) >= l.room.opt.Stuck
	return in
}

// Sandbox is the learner's sandbox (for tests and the benchmark), nil
// while it starts or if it did not.
func (l *Learner) Sandbox() *lab.Sandbox {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb
}

func lookupUser(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}
