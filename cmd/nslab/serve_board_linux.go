package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/term"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab/room"
	"github.com/nslab/nslab/lab/script"
	"github.com/nslab/nslab/scenarios"
	"github.com/nslab/nslab/ui/board"
)

// boardRoom shows a room.Room to the board.
type boardRoom struct{ r *room.Room }

func (b boardRoom) Learners() []board.Learner {
	infos := b.r.Snapshot()
	out := make([]board.Learner, 0, len(infos))
	now := time.Now()
	for _, in := range infos {
		l := board.Learner{Name: in.Name, Lesson: in.Status.Lesson, Step: in.Status.Step, Steps: in.Status.Steps,
			Passed: in.Status.Passed, Failed: in.Status.Failed, StepFailed: in.Status.StepFailed, Done: in.Status.Done,
			Connected: in.Connected, Stuck: in.Stuck, OnStep: now.Sub(in.StepSince), Cols: in.Cols, Rows: in.Rows}
		if !in.FailSince.IsZero() {
			l.Failing = now.Sub(in.FailSince)
		}
		out = append(out, l)
	}
	return out
}

func (b boardRoom) Changed() <-chan struct{} { return b.r.Changed() }
func (b boardRoom) Move(lesson string, step int) (int, error) {
	if err := checkMove(lesson, step); err != nil {
		return 0, err
	}
	return b.r.Move(lesson, step), nil
}

// checkMove refuses a move to a lesson the catalog lacks or a step it
// does not have (step from 0), saying what there is.
func checkMove(lesson string, step int) error {
	list, _ := scenarios.Catalog(scenarioDirs...)
	var ids []string
	for _, sc := range list {
		if sc.ID == lesson {
			if step < 0 || step >= len(sc.Steps) {
				return fmt.Errorf("%s has %d steps: move %s 1 to %d", lesson, len(sc.Steps), lesson, len(sc.Steps))
			}
			return nil
		}
		ids = append(ids, sc.ID)
	}
	hint := script.DidYouMean(lesson, ids)
	if hint == "" {
		hint = " (lessons: " + strings.Join(ids, ", ") + ")"
	}
	return fmt.Errorf("no lesson %q%s", lesson, hint)
}

// screen is where a board runs: an SSH session or the server's terminal.
type screen struct {
	out     io.Writer
	env     []string
	profile colorprofile.Profile

	mu         sync.Mutex
	sink       func([]byte) // who gets what is typed now
	cols, rows int
	resize     func(cols, rows int)
}

// pump reads what is typed and gives it to the current sink.
func (s *screen) pump(in io.Reader, done chan<- struct{}) {
	defer close(done)
	buf := make([]byte, 1024)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			s.mu.Lock()
			sink := s.sink
			s.mu.Unlock()
			if sink != nil {
				sink(append([]byte(nil), buf[:n]...))
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *screen) setSize(cols, rows int) {
	s.mu.Lock()
	s.cols, s.rows = cols, rows
	f := s.resize
	s.mu.Unlock()
	if f != nil {
		f(cols, rows)
	}
}

// run shows the board, and a learner's screen each time one is chosen to
// follow, until the board is quit or the input ends.
func (s *server) runBoard(sc *screen, inputDone <-chan struct{}) {
	for {
		pr, pw := io.Pipe()
		m := board.New(board.Options{Room: boardRoom{s.room}, Title: s.addr, Stuck: s.room.Stuck()})
		sc.mu.Lock()
		cols, rows := sc.cols, sc.rows
		sc.sink = func(b []byte) { pw.Write(b) }
		sc.mu.Unlock()
		p := tea.NewProgram(m, tea.WithInput(pr), tea.WithOutput(sc.out), tea.WithEnvironment(sc.env),
			tea.WithColorProfile(sc.profile), tea.WithWindowSize(cols, rows), tea.WithoutSignalHandler())
		sc.mu.Lock()
		sc.resize = func(c, r int) { p.Send(tea.WindowSizeMsg{Width: c, Height: r}) }
		sc.mu.Unlock()
		ran := make(chan struct{})
		go func() {
			select {
			case <-inputDone:
				p.Quit()
			case <-ran:
			}
		}()
		p.Run()
		close(ran)
		pw.Close()
		who := m.Follow()
		if who == "" {
			return
		}
		l := s.room.Learner(who)
		if l == nil {
			continue
		}
		if !s.follow(sc, l, inputDone) {
			return
		}
	}
}

// follow copies l's screen to sc, read-only, until q (true: back to the
// board) or the input ends (false).
func (s *server) follow(sc *screen, l *room.Learner, inputDone <-chan struct{}) bool {
	in := l.Info()
	back := make(chan struct{}, 1)
	sc.mu.Lock()
	sc.sink = func(b []byte) {
		for _, c := range b {
			if c == 'q' || c == 3 || c == 27 {
				select {
				case back <- struct{}{}:
				default:
				}
			}
		}
	}
	mismatch := sc.cols < in.Cols || sc.rows < in.Rows
	sc.resize = nil
	sc.mu.Unlock()
	// The learner's screen at the learner's size: a smaller window
	// shows part of it (the status line says so).
	fmt.Fprintf(sc.out, "\x1b[?1049h\x1b[2J\x1b[H")
	if mismatch {
		fmt.Fprintf(sc.out, "\x1b]2;nslab: following %s (%dx%d): enlarge this window to see all of it\x07", in.Name, in.Cols, in.Rows)
	} else {
		fmt.Fprintf(sc.out, "\x1b]2;nslab: following %s, read-only; q: back to the board\x07", in.Name)
	}
	stop := l.Follow(sc.out)
	defer func() {
		stop()
		fmt.Fprint(sc.out, "\x1b[2J\x1b[H")
	}()
	select {
	case <-back:
		return true
	case <-l.Ended():
		return true
	case <-inputDone:
		return false
	}
}

// instructor serves the board to an SSH session.
func (s *server) instructor(sess ssh.Session) {
	if len(sess.Command()) > 0 {
		s.instructorCommand(sess)
		return
	}
	ptyReq, winCh, ok := sess.Pty()
	if !ok {
		refuse(sess, 2, "the board is a terminal UI: connect with a terminal (ssh -t)")
		return
	}
	env := append(sess.Environ(), "TERM="+ptyReq.Term)
	sc := &screen{out: sess, env: env, profile: colorprofile.Env(env), cols: ptyReq.Window.Width, rows: ptyReq.Window.Height}
	done := make(chan struct{})
	go sc.pump(sess, done)
	go func() {
		for w := range winCh {
			sc.setSize(w.Width, w.Height)
		}
	}()
	s.runBoard(sc, done)
	io.WriteString(sess, "\x1b[?1049l\x1b[?25h")
	sess.Exit(0)
}

// localBoard runs the board on the server's own terminal (--board).
func (s *server) localBoard() {
	cols, rows, err := term.GetSize(os.Stdout.Fd())
	if err != nil {
		cols, rows = 100, 30
	}
	st, err := term.MakeRaw(os.Stdin.Fd())
	if err == nil {
		defer term.Restore(os.Stdin.Fd(), st)
	}
	// Raw for keys, but \n still ends a line (as charm's SSH sessions
	// translate it): bubbletea does not own this terminal, so it draws
	// as on an SSH channel.
	if tio, err := unix.IoctlGetTermios(int(os.Stdout.Fd()), unix.TCGETS); err == nil {
		tio.Oflag |= unix.OPOST | unix.ONLCR
		unix.IoctlSetTermios(int(os.Stdout.Fd()), unix.TCSETS, tio)
	}
	sc := &screen{out: os.Stdout, env: os.Environ(), profile: colorprofile.Detect(os.Stdout, os.Environ()), cols: cols, rows: rows}
	done := make(chan struct{})
	go sc.pump(os.Stdin, done)
	s.runBoard(sc, done)
	fmt.Fprint(os.Stdout, "\x1b[?1049l\x1b[?25h")
}
