package bench

import (
	"os"
	"os/exec"
	"testing"
)

// A peer that exited is seen as gone (so the bench stops waiting for its
// READY=1); a zombie not yet reaped counts as gone too.
func TestRunningSeesAnExitedProcess(t *testing.T) {
	if !running(os.Getpid()) {
		t.Fatal("this process is not running")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	pid := cmd.Process.Pid
	for range 500 { // a zombie until waited for
		if !running(pid) {
			break
		}
		exec.Command("sleep", "0.01").Run()
	}
	if running(pid) {
		t.Errorf("pid %d: exited (a zombie) but seen as running", pid)
	}
	cmd.Wait()
	if running(pid) {
		t.Errorf("pid %d: reaped but seen as running", pid)
	}
}
