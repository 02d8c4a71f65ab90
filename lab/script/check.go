package script

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// CheckError is a check that did not hold: Msg says what was seen.
type CheckError struct{ Msg string }

func (e *CheckError) Error() string { return e.Msg }

// check is an `expect` assertion. test reports whether it holds and what
// was seen; errors are problems checking, not a false claim.
type check struct {
	desc   string
	what   string // the word after expect: link, output, accepted...
	within time.Duration
	asked  time.Duration // the `within` the line gave (within may add a grace)
	test   func(ctx context.Context, env *Env) (bool, string, error)
	// still and want word the message of a waiting check that timed out,
	// seen first, then expected: "lo in demo is still down after 60 s;
	// expected up". Without them: "after 60 s: SEEN; expected DESC".
	still func(seen string) string
	want  string
	// cond is the same check as a shell condition (equiv_check.go);
	// readsOutput: it reads the last command's output.
	cond        func(x *Sh) string
	readsOutput bool
	gocode      string
	// traffic is the socket whose traffic the check reads, inodeOf the lab
	// namespace it finds by inode: the shell's listener logs, `netns add`
	// records the inode (Sh.Plan). settle is how long the shell form polls
	// even when the check does not wait: a socat logs what it got a moment
	// after it answers.
	traffic, inodeOf string
	settle           time.Duration
}

// pollEvery is how often a waiting check (`within`) looks again.
const pollEvery = 100 * time.Millisecond

func (c *check) Run(ctx context.Context, env *Env) (string, error) {
	deadline := time.Now().Add(c.within)
	for {
		ok, seen, err := c.test(ctx, env)
		if err == nil && ok {
			return "✓ " + c.desc + " (" + seen + ")", nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if err != nil {
				return "", &CheckError{Msg: fmt.Sprintf("%s: %v", c.desc, err)}
			}
			msg := fmt.Sprintf("%s, but %s", c.desc, seen)
			switch {
			case ctx.Err() != nil:
				msg += " (interrupted)"
			case c.asked > 0:
				msg = c.timedOut(seen)
			case c.within > 0:
				msg += fmt.Sprintf(" (waited %s)", c.within)
			}
			return "", &CheckError{Msg: msg}
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollEvery):
		}
	}
}

// timedOut words a waiting check that never held: what was seen, then what
// was expected.
func (c *check) timedOut(seen string) string {
	d := waitText(c.asked)
	if c.still != nil {
		return fmt.Sprintf("%s after %s; expected %s", c.still(seen), d, c.want)
	}
	return fmt.Sprintf("after %s: %s; expected %s", d, seen, c.desc)
}

// waitText says how long a check waited: "60 s", "5 min".
func waitText(d time.Duration) string {
	if d >= 2*time.Minute && d%time.Minute == 0 {
		return fmt.Sprintf("%d min", int(d/time.Minute))
	}
	return fmt.Sprintf("%g s", d.Seconds())
}

// CheckKind is the word after expect (link, output, accepted...), or "" for
// a command: lint tells a waiting check a learner can satisfy from one that
// only the lab's own commands can.
func (s Stmt) CheckKind() string {
	if c, ok := s.Action.(*check); ok {
		return c.what
	}
	return ""
}

// Within is how long the statement's check waits for its claim to hold
// (`within 60s`): a UI says "waiting" while it does. 0 for a check tested
// at once and for commands.
func (s Stmt) Within() time.Duration {
	if c, ok := s.Action.(*check); ok {
		return c.asked
	}
	return 0
}

func (c *check) Shell(x *Sh) string { return c.cond(x) }
func (c *check) Go() string         { return c.gocode }

var cmdExpect = &Command{
	Name: "expect", NS: true, IsCheck: true,
	Usage: "expect ping IP [-n NS] ok|fails | link NAME [-n NS] up|down|exists|absent | netns NAME exists|absent | " +
		"ns TYPE PROC ==|!= PROC|NS | threads PROC [in NS] OP N | rss PROC OP SIZE | sockets PROC in NS OP N | " +
		"hostname PROC ==|!= NAME|host | pid PROC OP N | output contains|lacks TEXT | accepted SOCKET OP N | " +
		"received SOCKET contains|lacks TEXT | holders NS [TYPE] [KIND] OP N | lsns NS [TYPE] lists|misses | uid|gid PROC OP N | " +
		"procs PROC OP N | mount PROC PATH [SOURCE] exists|absent | " +
		"compare threads|processes|pss|fds|bind [per tenant] PROXY <<|<|>|>> PROXY...   [within DURATION]",
	Summary: "assert what the kernel shows; with `within 60s` wait for it (hands-on steps)",
	Example: "expect ping 10.0.0.2 -n alpha ok",
	parse:   parseExpect,
}

// expectParsers parse what follows `expect KIND`, in the order an error
// lists the kinds. A check's parser lives in the file of its kind:
// check_net.go, check_ns.go, check_proc.go, check_pid.go, check_output.go,
// check_traffic.go, check_view.go, check_compare.go.
var expectParsers = []struct {
	kind  string
	parse func(p *parser) (*check, error)
}{
	{"ping", expectPing}, {"link", expectLink}, {"netns", expectNetns}, {"ns", expectNs},
	{"threads", func(p *parser) (*check, error) { return expectProcNumber(p, "threads") }},
	{"rss", func(p *parser) (*check, error) { return expectProcNumber(p, "rss") }},
	{"sockets", expectSockets}, {"hostname", expectHostname}, {"pid", expectPID},
	{"output", expectOutput}, {"accepted", expectAccepted}, {"received", expectReceived},
	{"holders", expectHolders}, {"lsns", expectLsns},
	{"uid", func(p *parser) (*check, error) { return expectID(p, "uid") }},
	{"gid", func(p *parser) (*check, error) { return expectID(p, "gid") }},
	{"procs", expectProcs}, {"mount", expectMount}, {"compare", expectCompare},
}

func parseExpect(p *parser) (Action, error) {
	// A trailing "within DUR" applies to any check.
	var within time.Duration
	if n := len(p.toks); n >= 2 && p.toks[n-2].Text == "within" {
		d, err := time.ParseDuration(p.toks[n-1].Text)
		if err != nil || d <= 0 || d > 30*time.Minute {
			return nil, p.errAt(p.toks[n-1], "`within` takes a duration like 30s or 2m, found `%s`", p.toks[n-1].Text)
		}
		within = d
		p.toks = p.toks[:n-2]
	}
	kinds := make([]string, len(expectParsers))
	for i, e := range expectParsers {
		kinds[i] = e.kind
	}
	what := p.keyword(kinds...)
	i := slices.Index(kinds, what.Text)
	if i < 0 {
		return nil, p.done() // the keyword's error
	}
	c, err := expectParsers[i].parse(p)
	if err == nil {
		err = p.done()
	}
	if err != nil {
		return nil, err
	}
	c.what = what.Text
	c.within, c.asked = max(within, c.within), within
	return c, nil
}
