package script

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nslab/nslab/lab"
)

func expectPing(p *parser) (*check, error) {
	t := p.checked("an IP address", isIP)
	want := p.keyword("ok", "fails")
	ip, ns, ok := t.Text, p.ns, want.Text == "ok"
	desc := fmt.Sprintf("ping %s from %s %s", ip, nsLabel(ns), map[bool]string{true: "answers", false: "gets no answer"}[ok])
	// A link just set up has no carrier for a moment and the first echo
	// waits for ARP: a reachable peer gets a few seconds, as a person
	// retrying ping would give it.
	var grace time.Duration
	if ok {
		grace = 3 * time.Second
	}
	return &check{desc: desc, within: grace,
		test: func(_ context.Context, env *Env) (bool, string, error) {
			n := 2
			if !ok {
				n = 1
			}
			r, err := env.S.Ping(ns, ip, lab.PingOptions{Count: n, Timeout: 700 * time.Millisecond})
			if err != nil {
				return false, "", err
			}
			return r.OK() == ok, r.String(), nil
		},
		cond:   condPing(ns, ip, ok),
		gocode: goPing(ns, ip),
	}, nil
}

func expectLink(p *parser) (*check, error) {
	t := p.word("a link name")
	want := p.keyword("up", "down", "exists", "absent")
	name, ns, w := t.Text, p.ns, want.Text
	verb := "is " + w
	if w == "exists" {
		verb = "exists"
	}
	still := func(seen string) string {
		switch {
		case seen == "there is no such link":
			return fmt.Sprintf("%s in %s still does not exist", name, nsLabel(ns))
		case seen == "it exists":
			return fmt.Sprintf("%s in %s still exists", name, nsLabel(ns))
		}
		return fmt.Sprintf("%s in %s is still %s", name, nsLabel(ns), strings.TrimPrefix(seen, "it is "))
	}
	wantText := map[string]string{"up": "up", "down": "down", "exists": "it to exist", "absent": "it gone"}[w]
	return &check{desc: fmt.Sprintf("link %s in %s %s", name, nsLabel(ns), verb), still: still, want: wantText,
		test: func(_ context.Context, env *Env) (bool, string, error) {
			links, err := env.S.Links(ns)
			if err != nil {
				return false, "", err
			}
			for _, l := range links {
				if l.Name != name {
					continue
				}
				state := "down"
				if l.Up {
					state = "up"
				}
				switch w {
				case "up":
					return l.Up, "it is " + state, nil
				case "down":
					return !l.Up, "it is " + state, nil
				case "absent":
					return false, "it exists", nil
				}
				return true, "it exists", nil
			}
			return w == "absent", "there is no such link", nil
		},
		cond:   condLink(ns, name, w),
		gocode: goExpectLink(ns, name),
	}, nil
}

func expectNetns(p *parser) (*check, error) {
	t := p.word("a namespace name")
	want := p.keyword("exists", "absent")
	if want.Text == "exists" && lab.ValidateNetnsName(t.Text) == nil {
		p.define(KindNetns, t) // it holds only if the namespace exists: later lines may use it
	}
	sys, exists := lab.SysName(t.Text), want.Text == "exists"
	still := func(string) string {
		if exists {
			return sys + " still does not exist"
		}
		return sys + " still exists"
	}
	return &check{desc: fmt.Sprintf("network namespace %s %s", sys, want.Text), still: still, want: map[bool]string{true: "it to exist", false: "it gone"}[exists],
		test: func(context.Context, *Env) (bool, string, error) {
			n, err := lab.OpenNetns(sys)
			if err != nil {
				return !exists, "it does not exist", nil
			}
			n.Close()
			return exists, fmt.Sprintf("it exists (net:[%d])", n.Inode()), nil
		},
		cond:   condNetns(t.Text, exists),
		gocode: fmt.Sprintf("ns, err := netns.GetFromName(%q) // exists if err == nil", sys),
	}, nil
}
