package main

import (
	"fmt"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/lab"
)

// SIGTERM twice in a row (an impatient kill, a supervisor): bubbletea quits
// on the first and stops listening, so without a hold the second killed
// nslab in the middle of removing the lab.
func TestTUITerminatedTwiceStillRemovesTheLab(t *testing.T) {
	s, _, _, runDir := tuiInTmux(t, "term2", func(bin, dir, runDir string) string {
		return fmt.Sprintf("XDG_STATE_HOME=%s NSLAB_RUN_DIR=%s %s; echo nslab-exited=$?; sleep 60", dir, runDir, bin)
	})
	s.waitFor(`type to filter`, 10*time.Second)
	s.keys("F4")
	s.waitFor(`lab ›`, 10*time.Second)
	tag := fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
	for _, line := range []string{
		"netns add t2" + tag,
		"link add t2" + tag + " type veth peer eth0 netns t2" + tag,
		"spawn t2c" + tag + " net",
	} {
		// One at a time: the prompt takes the next command once the last
		// one has run.
		s.keys(line, "Enter")
		s.waitFor(`▶ lab › `+regexp.QuoteMeta(line), 20*time.Second)
		s.waitFor(`(?m)lab › type a command`, 20*time.Second)
	}
	s.waitFor(`t2c`+tag+` is pid`, 20*time.Second)
	jfs, err := lab.ReadJournals(runDir)
	if err != nil || len(jfs) != 1 || len(jfs[0].Live) != 4 {
		t.Fatalf("the free lab's journal: %+v %v", jfs, err)
	}
	made, pid := jfs[0].Live, jfs[0].Session.PID
	syscall.Kill(pid, syscall.SIGTERM)
	syscall.Kill(pid, syscall.SIGTERM)
	s.waitFor(`nslab-exited=\d+`, 20*time.Second)
	if left := lab.StillThere(made); len(left) > 0 {
		t.Errorf("left behind after two SIGTERMs: %v", left)
	}
	if jfs, _ := lab.ReadJournals(runDir); len(jfs) != 0 {
		t.Errorf("journal left after two SIGTERMs: %+v", jfs)
	}
}
