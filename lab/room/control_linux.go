package room

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// accept takes the TUI's connection (one at a time, from the learner's
// account only) and reads its reports until it closes.
func (l *Learner) accept() {
	for {
		c, err := l.ln.AcceptUnix()
		if err != nil {
			return
		}
		if !peerIs(c, l.Account.UID) {
			c.Close()
			continue
		}
		// Connected: the name is no longer needed, and a server killed
		// with -9 leaves no socket behind.
		os.Remove(l.room.socketPath(l.Account))
		l.ctlMu.Lock()
		if l.ctl != nil {
			l.ctl.Close()
		}
		l.ctl = c
		l.ctlMu.Unlock()
		go l.read(c)
	}
}

// peerIs reports whether the process at the other end runs as uid.
func peerIs(c *net.UnixConn, uid int) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	return err == nil && int(cred.Uid) == uid
}

func (l *Learner) read(c net.Conn) {
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		var st Status
		if json.Unmarshal(sc.Bytes(), &st) != nil {
			continue
		}
		l.report(st, time.Now())
	}
}

// report records a status: when the step changed, when it started failing.
func (l *Learner) report(st Status, now time.Time) {
	l.mu.Lock()
	old := l.status
	if st.Lesson != old.Lesson || st.Step != old.Step {
		l.stepSince = now
		l.failSince = time.Time{}
	}
	switch {
	case !st.StepFailed:
		l.failSince = time.Time{}
	case l.failSince.IsZero():
		l.failSince = now
	}
	l.status, l.reported = st, true
	l.mu.Unlock()
	l.room.notify()
}

// send writes a command to the TUI.
func (l *Learner) send(cmd Command) error {
	b, _ := json.Marshal(cmd)
	l.ctlMu.Lock()
	defer l.ctlMu.Unlock()
	if l.ctl == nil {
		return errors.New(l.Name + "'s lab is not connected to the room yet")
	}
	l.ctl.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_, err := l.ctl.Write(append(b, '\n'))
	return err
}

// Goto moves the learner's TUI to a step of a lesson (from 0).
func (l *Learner) Goto(lesson string, step int) error {
	return l.send(Command{Goto: &Goto{Lesson: lesson, Step: step}})
}

// Repaint asks the TUI to draw its whole screen again.
func (l *Learner) Repaint() error { return l.send(Command{Repaint: true}) }
