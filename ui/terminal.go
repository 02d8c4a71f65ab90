package ui

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
)

// terminalMsg says what opening a second terminal did.
type terminalMsg struct{ note string }

// openTerminal opens a second terminal on the lab for a hands-on step.
// Inside tmux: a split below, where `nslab shell` (shell, from Options)
// enters this lab — its sandbox, or the machine beside a host-mode lab —
// and the step's commands are then typed, waiting for the learner's enter.
// Elsewhere: the instructions to do the same. Under sudo the pane's shell
// is the learner's own, so nslab shell gets sudo.
func openTerminal(shell string, cmds []string) tea.Cmd {
	return func() tea.Msg {
		line := shellLine(cmds)
		if shell == "" {
			shell = "nslab shell"
		}
		if os.Geteuid() == 0 && os.Getenv("SUDO_USER") != "" {
			shell = "sudo " + shell // the pane's shell is the tmux server's user, not root
		}
		if os.Getenv("TMUX") == "" {
			if line == "" {
				return terminalMsg{note: "open a second terminal and run `" + shell + "`: a shell where this lab's namespaces are (`ip netns list`)"}
			}
			return terminalMsg{note: "open a second terminal, run `" + shell + "`, then type: " + line}
		}
		out, err := exec.Command("tmux", "split-window", "-v", "-l", "30%", "-P", "-F", "#{pane_id}").Output()
		if err != nil {
			return terminalMsg{note: fmt.Sprintf("tmux split-window: %v; open a second terminal yourself, run `%s`, then type: %s", err, shell, line)}
		}
		pane := strings.TrimSpace(string(out))
		if err := exec.Command("tmux", "send-keys", "-t", pane, "-l", "--", shell).Run(); err == nil {
			err = exec.Command("tmux", "send-keys", "-t", pane, "Enter").Run()
		}
		if err != nil {
			return terminalMsg{note: fmt.Sprintf("tmux send-keys: %v; in the pane below, run `%s`, then type: %s", err, shell, line)}
		}
		if line == "" {
			return terminalMsg{note: "a second terminal is open below (tmux pane " + pane + "), in this lab (" + shell + ")"}
		}
		// Type the command once the lab's shell is there: typed earlier,
		// it would land in the pane's first shell, or be echoed twice.
		if !paneShows(pane, "nslab shell: ", 10*time.Second) {
			return terminalMsg{note: "a second terminal is open below, but `" + shell + "` did not start there (read the pane); then type: " + line}
		}
		time.Sleep(300 * time.Millisecond) // its prompt
		if err := exec.Command("tmux", "send-keys", "-t", pane, "-l", "--", line).Run(); err != nil {
			return terminalMsg{note: fmt.Sprintf("tmux send-keys: %v; type it yourself: %s", err, line)}
		}
		return terminalMsg{note: "a second terminal is open below (tmux pane " + pane + "), in this lab, the command typed: press enter there"}
	}
}

// paneShows waits until a tmux pane's screen contains text.
func paneShows(pane, text string, wait time.Duration) bool {
	for end := time.Now().Add(wait); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		out, err := exec.Command("tmux", "capture-pane", "-p", "-t", pane).Output()
		if err != nil {
			return false
		}
		if strings.Contains(string(out), text) {
			return true
		}
	}
	return false
}

// shellLine joins the commands into one line for a shell prompt.
func shellLine(cmds []string) string {
	var parts []string
	for _, c := range cmds {
		if c = strings.TrimSpace(strings.ReplaceAll(c, "\n", "; ")); c != "" {
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, " && ")
}
