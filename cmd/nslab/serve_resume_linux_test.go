package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// A learner whose connection drops finds their lab where they left it on
// connecting again; one who does not come back within --grace loses it.
func TestALearnerResumesWithinGraceAndNotAfter(t *testing.T) {
	r := startRoom(t, 1, "--grace", "4s")
	lc := join(t, r.addr, "dana")
	r.reporting(t, "dana")
	if err := openStep(r.boss, lc, "veth"); err != nil {
		t.Fatal(err)
	}
	before, _ := r.status(t).learner("dana")
	lc.close() // the connection drops
	if l, err := r.waitLearner(t, "dana", "the board to see the drop", 20*time.Second, func(l learnerJSON) bool { return !l.Connected }); err != nil || l.PID != before.PID {
		t.Fatalf("after the drop: %+v %v (lab pid was %d)", l, err, before.PID)
	}
	lc = join(t, r.addr, "dana")
	l, err := r.waitLearner(t, "dana", "the learner back", 20*time.Second, func(l learnerJSON) bool { return l.Connected })
	if err != nil || l.PID != before.PID || l.Lesson != "veth" || l.Step != 1 || !l.StepPassed {
		t.Fatalf("resumed: %+v %v; want the same lab (pid %d) in veth, step 1 passed", l, err, before.PID)
	}
	lc.close()
	// Gone for longer than --grace: the lab ends, and nothing is left.
	waitGone(t, r, 1)
}

// A name first taken with a key is that key's: the room code does not
// take it over.
func TestANameTakenWithAKeyStaysThatKeys(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	keys := filepath.Join(t.TempDir(), "authorized_keys")
	os.WriteFile(keys, ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o600)
	r := startRoom(t, 2, "--authorized-keys", keys)
	c, err := ssh.Dial("tcp", r.addr, &ssh.ClientConfig{User: "erin", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("erin with her key: %v", err)
	}
	defer c.Close()
	sess, _ := c.NewSession()
	sess.RequestPty("xterm", 40, 120, ssh.TerminalModes{})
	stdin, _ := sess.StdinPipe() // open: the end of a learner's input ends their session
	defer stdin.Close()
	sess.Shell()
	defer sess.Close()
	r.reporting(t, "erin")
	if errOut, _ := turnedAway(t, r.addr, "erin"); !strings.Contains(errOut, "taken in this room by someone with another key") {
		t.Errorf("the room code took over erin's lab; stderr: %q", errOut)
	}
	if l, _ := r.status(t).learner("erin"); !l.Connected {
		t.Errorf("erin lost her lab: %+v", l)
	}
}

// A learner who types nothing for --idle is disconnected (their lab
// waits); one past --session loses the lab.
func TestIdleAndSessionTimeOuts(t *testing.T) {
	r := startRoom(t, 2, "--idle", "3s", "--session", "20s")
	lc := join(t, r.addr, "fay")
	defer lc.close()
	first := r.reporting(t, "fay")
	select {
	case <-lc.closed:
	case <-time.After(30 * time.Second):
		t.Fatal("an idle learner was not disconnected")
	}
	if got := lc.screenTail(); !strings.Contains(got, "nothing typed for 3s: disconnected. Your lab waits for you") {
		t.Errorf("no word of the idle time-out:\n%s", got)
	}
	if l, ok := r.status(t).learner("fay"); !ok || l.Connected || l.PID != first.PID {
		t.Errorf("after the idle time-out the lab (pid %d) should wait, disconnected: %+v %v", first.PID, l, ok)
	}
	// Back, and typing: the session time ends the lab.
	lc = join(t, r.addr, "fay")
	defer lc.close()
	stop := time.NewTicker(time.Second)
	defer stop.Stop()
	deadline := time.After(40 * time.Second)
	for done := false; !done; {
		select {
		case <-lc.closed:
			done = true
		case <-stop.C:
			lc.send("\x1b") // keeps the learner from idling
		case <-deadline:
			t.Fatal("the session time did not end the lab")
		}
	}
	if got := lc.screenTail(); !strings.Contains(got, "the session time (20s) is up") {
		t.Errorf("no word of the session time:\n%s", got)
	}
	waitGone(t, r, 2)
}

// One learner more than --max-learners is told the room is full; the
// learners in it keep their labs.
func TestAFullRoomSaysSo(t *testing.T) {
	r := startRoom(t, 1)
	lc := join(t, r.addr, "gus")
	defer lc.close()
	r.reporting(t, "gus")
	errOut, err := turnedAway(t, r.addr, "hal")
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 1 || !strings.Contains(errOut, "the room is full: 1 learner(s) already (--max-learners)") {
		t.Errorf("a learner past --max-learners: %v, stderr %q", err, errOut)
	}
	st := r.status(t)
	if l, ok := st.learner("gus"); len(st.Learners) != 1 || !ok || !l.Connected {
		t.Errorf("the room after hal was turned away: %+v", st.Learners)
	}
}
