package ui

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// terminalMsg says what opening a second terminal did.
type terminalMsg struct{ note string }

// openTerminal opens a second terminal on the lab for a hands-on step:
// inside tmux, a split below with the step's commands typed and waiting for
// the learner's enter; elsewhere, the instructions to open one. Commands
// that need root get sudo when the learner's own shell is not root.
func openTerminal(cmds []string) tea.Cmd {
	return func() tea.Msg {
		line := shellLine(cmds)
		if os.Getenv("TMUX") == "" {
			if line == "" {
				return terminalMsg{note: "open a second terminal on this machine as root (sudo -i): the lab's namespaces are the nslab-* names in `ip netns list`"}
			}
			return terminalMsg{note: "open a second terminal on this machine as root (sudo -i) and type: " + line}
		}
		out, err := exec.Command("tmux", "split-window", "-v", "-l", "30%", "-P", "-F", "#{pane_id}").Output()
		if err != nil {
			return terminalMsg{note: fmt.Sprintf("tmux split-window: %v; open a second terminal yourself and type: %s", err, line)}
		}
		pane := strings.TrimSpace(string(out))
		if line == "" {
			return terminalMsg{note: "a second terminal is open below (tmux pane " + pane + ")"}
		}
		if os.Geteuid() == 0 && os.Getenv("SUDO_USER") != "" {
			line = "sudo " + line // the pane's shell is the tmux server's user, not root
		}
		if err := exec.Command("tmux", "send-keys", "-t", pane, "-l", "--", line).Run(); err != nil {
			return terminalMsg{note: fmt.Sprintf("tmux send-keys: %v; type it yourself: %s", err, line)}
		}
		return terminalMsg{note: "a second terminal is open below (tmux pane " + pane + "), the command typed: press enter there"}
	}
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
