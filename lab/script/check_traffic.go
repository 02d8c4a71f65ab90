package script

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Checks on what a lab listener received: they see the learner's own
// traffic. A learner's `curl` or `socat` from a second terminal, or a
// `connect` at the lab prompt, reaches the socket, and the check holds the
// moment it does; the kernel's answer is the listener's own count.

func expectAccepted(p *parser) (*check, error) {
	t := p.socket()
	op, want := p.opInt("a connection count", 0)
	name := t.Text
	seenOf := func(n int) string { return fmt.Sprintf("%s has accepted %s", name, plural(n, "connection")) }
	return &check{desc: fmt.Sprintf("%s accepted %s %d connection(s)", name, op, want),
		test: func(_ context.Context, env *Env) (bool, string, error) {
			tr, err := env.trafficOf(name)
			if err != nil {
				return false, "", err
			}
			n, _ := tr.read()
			return compare(int64(n), op, want), seenOf(n), nil
		},
		still:   func(seen string) string { return strings.Replace(seen, " has ", " has still ", 1) },
		want:    fmt.Sprintf("%s %d", op, want),
		cond:    condAccepted(name, op, want),
		traffic: name, settle: 2 * time.Second,
		gocode: "var accepted atomic.Int64\nfor {\n\tc, err := l.Accept()\n\tif err != nil {\n\t\treturn\n\t}\n\taccepted.Add(1)\n\tgo serve(c)\n}",
	}, nil
}

func expectReceived(p *parser) (*check, error) {
	t := p.socket()
	verb, text := p.containsText()
	name, has := t.Text, verb == "contains"
	return &check{desc: fmt.Sprintf("%s received %s %q", name, map[bool]string{true: "text containing", false: "nothing containing"}[has], text),
		test: func(_ context.Context, env *Env) (bool, string, error) {
			tr, err := env.trafficOf(name)
			if err != nil {
				return false, "", err
			}
			n, got := tr.read()
			switch {
			case n == 0:
				return !has, name + " has received no connection", nil
			case got == "":
				return !has, fmt.Sprintf("%s has received %s, and no bytes", name, plural(n, "connection")), nil
			}
			return strings.Contains(got, text) == has, fmt.Sprintf("%s has received %s", name, excerpt(got, 60)), nil
		},
		still:   func(seen string) string { return strings.Replace(seen, " has ", " has still ", 1) },
		want:    fmt.Sprintf("%s %q", verb, text),
		cond:    condReceived(name, text, has),
		traffic: name, settle: 2 * time.Second,
		gocode: "n, _ := c.Read(buf)\nreceived = append(received, buf[:n]...)\nstrings.Contains(string(received), " + fmt.Sprintf("%q", text) + ")",
	}, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
