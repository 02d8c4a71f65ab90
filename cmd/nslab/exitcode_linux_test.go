package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitCodes runs the binary on every kind of wrong command line and
// every kind of failure, and checks the exit code a script would branch on:
// 2 for a usage error (with a pointer to the help), 1 for a failure, 0 for
// success. None of them may leave a lab session behind.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := scenarioFile(t, dir, "bad", "", "## Step\n```lab\nnetns ad x\n```\n```check\nexpect netns x exists\n```\n")
	failing := scenarioFile(t, dir, "failing", "", "## Step\n```check\nexpect threads self <= 1\n```\n")
	root := os.Geteuid() == 0
	tests := []struct {
		name string
		args []string
		code int
		says string // in stderr
		root bool   // needs root (to run a lab, or to drop privileges)
	}{
		// Usage errors: the command line is wrong; nothing runs.
		{"an unknown flag", []string{"--nosuch"}, 2, "unknown flag", false},
		{"an unknown command, with a suggestion", []string{"lis"}, 2, "did you mean list", false},
		{"an unknown subcommand", []string{"bench", "nosuch"}, 2, "unknown command", false},
		{"a flag value of the wrong type", []string{"list", "--json=maybe"}, 2, "invalid argument", false},
		{"a flag value out of range", []string{"bench", "netns", "--count", "0"}, 2, "--count 0", false},
		{"a count that is no number", []string{"bench", "netns", "--count", "abc"}, 2, "invalid argument", false},
		{"an empty proxy bench", []string{"bench", "proxy", "--count", "0"}, 2, "give at least", false},
		{"run with no scenario", []string{"run"}, 2, "give one scenario", false},
		{"run with two scenarios", []string{"run", "veth", "bridge"}, 2, "give one scenario", false},
		{"run --all with a scenario", []string{"run", "--all", "veth"}, 2, "give one scenario", false},
		{"run of a scenario that does not exist", []string{"run", "nosuch"}, 2, "no scenario", false},
		{"run of a file that does not exist", []string{"run", filepath.Join(dir, "nosuch.md")}, 2, "no such file", false},
		{"run --from a step number out of range", []string{"run", "hello", "--from", "99", "--yes"}, 2, "has steps 1 to", false},
		{"run --from a title no step has", []string{"run", "hello", "--from", "no such step", "--yes"}, 2, "no step of that title", false},
		{"lint with no file", []string{"lint"}, 2, "give one or more", false},
		{"lint of a file that does not exist", []string{"lint", filepath.Join(dir, "nosuch.md")}, 2, "no such file", false},
		{"list with an argument", []string{"list", "extra"}, 2, "unknown command", false},
		{"doctor with an argument", []string{"doctor", "extra"}, 2, "unknown command", false},
		{"cleanup with an argument", []string{"cleanup", "extra"}, 2, "unknown command", false},
		{"inspect of what is not a PID", []string{"inspect", "abc"}, 2, "not a PID", false},
		{"proxy without a control socket", []string{"proxy", "--route", "host/tcp/127.0.0.1:1=host/tcp/127.0.0.1:2"}, 2, "control socket", false},
		{"proxy with an unknown strategy", []string{"proxy", "--control", filepath.Join(dir, "p.sock"), "--strategy", "nosuch"}, 2, "--strategy", false},
		{"completion with no shell", []string{"completion"}, 2, "needs a subcommand", false},
		{"completion for an unknown shell", []string{"completion", "tcsh"}, 2, "unknown command", false},
		{"help of an unknown topic", []string{"help", "nosuch"}, 2, "no help topic", false},

		// Failures: the command ran and something did not work.
		{"lint of a file with errors", []string{"lint", bad}, 1, "bad.md:", false},
		{"run of a file with errors", []string{"run", bad, "--yes"}, 1, "bad.md:", false},
		{"run of a scenario whose check fails", []string{"run", failing, "--yes"}, 1, "failing checks", true},
		{"doctor on a machine the user cannot run the lab on", []string{"doctor"}, 1, "cannot run the lab", true},
		{"the TUI with no terminal", []string{"--open", "hello"}, 1, "", true},

		// Success.
		{"the version", []string{"--version"}, 0, "", false},
		{"help of a command", []string{"help", "run"}, 0, "", false},
		{"lint of a good file", []string{"lint", "../../scenarios/veth.md"}, 0, "", false},
		{"completion for bash", []string{"completion", "bash"}, 0, "", false},
		{"the manual page", []string{"man"}, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && !root {
				t.Skip("needs root")
			}
			runDir := t.TempDir()
			cmd := exec.Command(nslabBin(t), tt.args...)
			cmd.Env = append(os.Environ(), "NSLAB_RUN_DIR="+runDir)
			if tt.name == "doctor on a machine the user cannot run the lab on" {
				// As nobody: no privileges, which doctor must report.
				cmd = exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", nslabBin(t)}, tt.args...)...)
				cmd.Env = append(os.Environ(), "NSLAB_RUN_DIR="+dir)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			code := exitCodeOf(t, cmd.Run())
			if code != tt.code {
				t.Errorf("nslab %s: exit %d, want %d\n%s", strings.Join(tt.args, " "), code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.says) {
				t.Errorf("nslab %s: stderr lacks %q:\n%s", strings.Join(tt.args, " "), tt.says, stderr.String())
			}
			if left, _ := filepath.Glob(filepath.Join(runDir, "*.journal")); len(left) > 0 {
				t.Errorf("nslab %s left a lab session behind: %v", strings.Join(tt.args, " "), left)
			}
			if usage := strings.Contains(stderr.String(), "--help' for usage"); usage != (tt.code == 2) {
				t.Errorf("nslab %s: a pointer to --help only with a usage error (exit %d):\n%s", strings.Join(tt.args, " "), code, stderr.String())
			}
		})
	}
}
