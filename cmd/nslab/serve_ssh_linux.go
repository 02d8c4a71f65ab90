package main

import (
	"crypto/subtle"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/nslab/nslab/lab/room"
)

// server is nslab serve's SSH side: who may connect, and what each
// connection gets (a learner's lab, or the board).
type server struct {
	room           *room.Room
	roomCode       string
	instructorCode string
	idle           time.Duration
	addr           string
}

const (
	instructorUser = "instructor"
	keyCtx         = "nslab-key" // the learner's key fingerprint, for resuming
)

// learnerName is what a learner may call themselves (the SSH user name).
var learnerName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,31}$`) })

func codeIs(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// password: the instructor types the instructor code, a learner the room code.
func (s *server) password(ctx ssh.Context, pass string) bool {
	if ctx.User() == instructorUser {
		return codeIs(pass, s.instructorCode)
	}
	return codeIs(pass, s.roomCode)
}

// keyboard asks for the same code as password does.
func (s *server) keyboard(ctx ssh.Context, ask gossh.KeyboardInteractiveChallenge) bool {
	q := "room code: "
	if ctx.User() == instructorUser {
		q = "instructor code: "
	}
	ans, err := ask("", "nslab room", []string{q}, []bool{false})
	return err == nil && len(ans) == 1 && s.password(ctx, ans[0])
}

// publicKey lets a learner whose key is in the authorized keys file in
// (the instructor always types the code).
func (s *server) publicKey(path string) ssh.PublicKeyHandler {
	return func(ctx ssh.Context, key ssh.PublicKey) bool {
		if ctx.User() == instructorUser {
			return false
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		for len(b) > 0 {
			k, _, _, rest, err := ssh.ParseAuthorizedKey(b)
			if err != nil {
				return false
			}
			if ssh.KeysEqual(k, key) {
				ctx.SetValue(keyCtx, gossh.FingerprintSHA256(key))
				return true
			}
			b = rest
		}
		return false
	}
}

// refuse tells the client on its stderr why not, worded as every nslab
// error is, and ends the session with code (2: what was asked cannot be;
// 1: it failed). With a terminal, the session turns the \n into \r\n.
func refuse(sess ssh.Session, code int, format string, a ...any) {
	fmt.Fprintf(sess.Stderr(), "nslab: "+format+"\n", a...)
	sess.Exit(code)
}

// handle serves one SSH session.
func (s *server) handle(sess ssh.Session) {
	if sess.User() == instructorUser {
		s.instructor(sess)
		return
	}
	s.learner(sess)
}

// learner relays the learner's lab to this session until the lab ends,
// the connection drops, another connection takes over, or it is idle.
func (s *server) learner(sess ssh.Session) {
	name := sess.User()
	if !learnerName().MatchString(name) || name == "root" {
		refuse(sess, 2, "%q cannot be a learner's name: use lower-case letters, digits, . _ - (ssh -p PORT alice@HOST)", name)
		return
	}
	ptyReq, winCh, ok := sess.Pty()
	if !ok {
		refuse(sess, 2, "the lab is a terminal UI: connect with a terminal (ssh -t -p PORT NAME@HOST)")
		return
	}
	if len(sess.Command()) > 0 {
		refuse(sess, 2, "this room runs no commands, only the lab: connect without one")
		return
	}
	key, _ := sess.Context().Value(keyCtx).(string)
	l, err := s.room.Join(name, key, ptyReq.Term, ptyReq.Window.Width, ptyReq.Window.Height)
	if err != nil {
		refuse(sess, 1, "%v", err)
		return
	}
	kicked, detach := l.Attach(sess, ptyReq.Window.Width, ptyReq.Window.Height)
	defer detach()
	var mu sync.Mutex
	last := time.Now()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		buf := make([]byte, 4096)
		for {
			n, err := sess.Read(buf)
			if n > 0 {
				mu.Lock()
				last = time.Now()
				mu.Unlock()
				l.Input(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		for w := range winCh {
			l.Resize(w.Width, w.Height)
		}
	}()
	idle := time.NewTicker(min(s.idle/4+time.Second, 30*time.Second))
	defer idle.Stop()
	bye := func(msg string) {
		// Leave the TUI's alternate screen, show the cursor, say why.
		io.WriteString(sess, "\x1b[?1049l\x1b[?25h\r\n"+msg+"\r\n")
	}
	for {
		select {
		case <-l.Ended():
			bye("nslab: " + l.Why() + ".")
			sess.Exit(0)
			return
		case <-kicked:
			bye("nslab: you connected again from elsewhere; this connection is closed.")
			sess.Exit(0)
			return
		case <-gone:
			return
		case <-sess.Context().Done():
			return
		case <-idle.C:
			mu.Lock()
			quiet := time.Since(last)
			mu.Unlock()
			if quiet >= s.idle {
				bye(fmt.Sprintf("nslab: nothing typed for %s: disconnected. Your lab waits for you: connect again as %s.", s.idle.Round(time.Second), name))
				sess.Exit(0)
				return
			}
		}
	}
}
