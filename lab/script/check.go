package script

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
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
	what, err := p.keyword("ping", "link", "netns", "ns", "threads", "rss", "sockets", "hostname", "pid", "output", "accepted", "received", "holders", "lsns", "uid", "gid", "procs", "mount", "compare")
	if err != nil {
		return nil, err
	}
	var c *check
	switch what.Text {
	case "ping":
		c, err = expectPing(p)
	case "link":
		c, err = expectLink(p)
	case "netns":
		c, err = expectNetns(p)
	case "ns":
		c, err = expectNs(p)
	case "threads", "rss":
		c, err = expectProcNumber(p, what.Text)
	case "sockets":
		c, err = expectSockets(p)
	case "hostname":
		c, err = expectHostname(p)
	case "pid":
		c, err = expectPID(p)
	case "output":
		c, err = expectOutput(p)
	case "accepted":
		c, err = expectAccepted(p)
	case "received":
		c, err = expectReceived(p)
	case "holders":
		c, err = expectHolders(p)
	case "lsns":
		c, err = expectLsns(p)
	case "uid", "gid":
		c, err = expectID(p, what.Text)
	case "procs":
		c, err = expectProcs(p)
	case "mount":
		c, err = expectMount(p)
	case "compare":
		c, err = expectCompare(p) // check_compare.go
	}
	if err != nil {
		return nil, err
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	c.what = what.Text
	c.within, c.asked = max(within, c.within), within
	return c, nil
}

func expectPing(p *parser) (*check, error) {
	t, err := p.word("an IP address")
	if err != nil {
		return nil, err
	}
	if _, err := lab.ParseIP(t.Text); err != nil {
		return nil, p.errAt(t, "%v", err)
	}
	want, err := p.keyword("ok", "fails")
	if err != nil {
		return nil, err
	}
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
	t, err := p.word("a link name")
	if err != nil {
		return nil, err
	}
	want, err := p.keyword("up", "down", "exists", "absent")
	if err != nil {
		return nil, err
	}
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
	t, err := p.word("a namespace name")
	if err != nil {
		return nil, err
	}
	want, err := p.keyword("exists", "absent")
	if err != nil {
		return nil, err
	}
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

// nsInode returns the inode of namespace typ of who: host, self, a PID, a
// spawned child, or (for net) a lab namespace.
func nsInode(env *Env, typ, who string) (uint64, error) {
	path := ""
	switch {
	case who == "host":
		path = "/proc/self/ns/" + typ // the lab runs in the host's namespaces
	default:
		if pid, err := resolvePID(env, who); err == nil {
			path = fmt.Sprintf("/proc/%d/ns/%s", pid, typ)
		} else if typ == "net" {
			path = filepath.Join(lab.NetnsDir, lab.SysName(who))
		} else {
			return 0, err
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("%s namespace of %s: %v", typ, who, err)
	}
	return st.Ino, nil
}

var nsTypes = []string{"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"}

func expectNs(p *parser) (*check, error) {
	typ, err := p.keyword(nsTypes...)
	if err != nil {
		return nil, err
	}
	a, err := p.word("a process (self, a PID or a spawned child)")
	if err != nil {
		return nil, err
	}
	op, err := p.keyword("==", "!=")
	if err != nil {
		return nil, err
	}
	b, err := p.word("what to compare with (host, a namespace, a process)")
	if err != nil {
		return nil, err
	}
	k := KindProc
	if typ.Text == "net" {
		k = KindNetOrProc // nsInode falls back to a lab namespace for net
	}
	p.ref(k, a)
	p.ref(k, b)
	t, who, other, same := typ.Text, a.Text, b.Text, op.Text == "=="
	return &check{desc: fmt.Sprintf("%s namespace of %s %s %s's", t, who, map[bool]string{true: "is", false: "is not"}[same], other),
		test: func(_ context.Context, env *Env) (bool, string, error) {
			x, err := nsInode(env, t, who)
			if err != nil {
				return false, "", err
			}
			y, err := nsInode(env, t, other)
			if err != nil {
				return false, "", err
			}
			return (x == y) == same, fmt.Sprintf("%s:[%d] vs %s:[%d]", t, x, t, y), nil
		},
		cond:   condNs(t, who, other, same),
		gocode: goExpectNs(t),
	}, nil
}

// proc takes a process argument (self, host, a PID, a spawned child or a
// proxy) and records it for Scope.
func (p *parser) proc() (Token, error) {
	t, err := p.word("a process (self, a PID or a spawned child)")
	if err == nil {
		p.ref(KindProc, t)
	}
	return t, err
}

func parseOp(p *parser) (string, error) {
	t, err := p.keyword("<=", ">=", "==", "!=", "<", ">")
	return t.Text, err
}

// opInt parses `OP N` with N a whole number of at least least; what names
// N in the error.
func (p *parser) opInt(what string, least int64) (string, int64, error) {
	op, err := parseOp(p)
	if err != nil {
		return "", 0, err
	}
	n, err := p.word("a number")
	if err != nil {
		return "", 0, err
	}
	v, err := strconv.ParseInt(n.Text, 10, 64)
	if err != nil || v < least {
		return "", 0, p.errAt(n, "want %s (a whole number from %d), found `%s`", what, least, n.Text)
	}
	return op, v, nil
}

func compare(a int64, op string, b int64) bool {
	switch op {
	case "<=":
		return a <= b
	case ">=":
		return a >= b
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	}
	return a > b
}

// parseSize reads 20MB, 512KB, 1GB or a plain number of bytes.
func parseSize(s string) (int64, error) {
	u := strings.ToUpper(s)
	mult := int64(1)
	for _, x := range []struct {
		suf string
		m   int64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(u, x.suf) {
			u, mult = strings.TrimSuffix(u, x.suf), x.m
			break
		}
	}
	f, err := strconv.ParseFloat(u, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("size %q: want a number with MB, KB or GB, like 20MB", s)
	}
	return int64(f * float64(mult)), nil
}

func expectProcNumber(p *parser, what string) (*check, error) {
	a, err := p.proc()
	if err != nil {
		return nil, err
	}
	if what == "threads" && p.accept("in") {
		return expectThreadsIn(p, a.Text)
	}
	op, err := parseOp(p)
	if err != nil {
		return nil, err
	}
	n, err := p.word("a number")
	if err != nil {
		return nil, err
	}
	var limit int64
	if what == "rss" {
		if limit, err = parseSize(n.Text); err != nil {
			return nil, p.errAt(n, "%v", err)
		}
	} else if limit, err = strconv.ParseInt(n.Text, 10, 64); err != nil {
		return nil, p.errAt(n, "want a whole number, found `%s`", n.Text)
	}
	who := a.Text
	return &check{desc: fmt.Sprintf("%s of %s %s %s", what, who, op, n.Text),
		test: func(_ context.Context, env *Env) (bool, string, error) {
			pid, err := resolvePID(env, who)
			if err != nil {
				return false, "", err
			}
			s, err := probe.Take(pid, probe.Options{})
			if err != nil {
				return false, "", err
			}
			if err := unread(s, who, "status"); err != nil {
				return false, "", err
			}
			if what == "rss" {
				return compare(int64(s.VmRSS), op, limit), fmt.Sprintf("RSS is %.1f MB", float64(s.VmRSS)/(1<<20)), nil
			}
			return compare(int64(s.NumThreads), op, limit), fmt.Sprintf("it has %d threads", s.NumThreads), nil
		},
		cond:   condProcNumber(what, who, op, limit),
		gocode: goProcStatus(),
	}, nil
}

// unread is the error for a check whose figure the probe could not read
// (the process exited meanwhile, no permission): a count it did not get is
// unknown, not zero, and must not pass or fail as a number.
func unread(s *probe.Snapshot, who string, fields ...string) error {
	for _, f := range append([]string{"process"}, fields...) {
		if why := s.Errors[f]; why != "" {
			return fmt.Errorf("cannot read the %s of %s: %s", f, who, why)
		}
	}
	return nil
}

// countIn parses `NS OP N` after `PROC in` and makes a check that counts
// something of PROC's in NS (what, read from a probe snapshot taken with
// opt) and compares it.
func countIn(p *parser, who, what string, opt probe.Options, count func(*probe.Snapshot, uint64) (int64, string, error)) (c *check, desc, ns string, err error) {
	nst, err := p.word("a namespace")
	if err != nil {
		return nil, "", "", err
	}
	p.ref(KindNetOrProc, nst)
	op, want, err := p.opInt("a "+what+" count", 0)
	if err != nil {
		return nil, "", "", err
	}
	ns = nst.Text
	return &check{cond: condCountIn(what, who, ns, op, want), test: func(_ context.Context, env *Env) (bool, string, error) {
		pid, err := resolvePID(env, who)
		if err != nil {
			return false, "", err
		}
		ino, err := nsInode(env, "net", ns)
		if err != nil {
			return false, "", err
		}
		s, err := probe.Take(pid, opt)
		if err != nil {
			return false, "", err
		}
		var fields []string
		if opt.Threads {
			fields = append(fields, "threads")
		}
		if opt.Sockets {
			fields = append(fields, "sockets")
		}
		if err := unread(s, who, fields...); err != nil {
			return false, "", err
		}
		got, seen, err := count(s, ino)
		if err != nil {
			return false, "", err
		}
		return compare(got, op, want), seen, nil
	}}, fmt.Sprintf("%s in %s %s %d", who, ns, op, want), ns, nil
}

// expectThreadsIn counts the threads of a process whose network namespace
// is NS (/proc/PID/task/TID/ns/net): a thread left in a tenant after an
// unlocked setns shows here.
func expectThreadsIn(p *parser, who string) (*check, error) {
	c, desc, _, err := countIn(p, who, "thread", probe.Options{Threads: true}, func(s *probe.Snapshot, ino uint64) (int64, string, error) {
		got := s.ThreadsByNetns()[ino]
		return int64(got), fmt.Sprintf("%d of its %d threads are there", got, len(s.Threads)), nil
	})
	if err != nil {
		return nil, err
	}
	c.desc = "threads of " + desc
	c.gocode = goWatch()
	return c, nil
}

func expectSockets(p *parser) (*check, error) {
	a, err := p.proc()
	if err != nil {
		return nil, err
	}
	if _, err := p.keyword("in"); err != nil {
		return nil, err
	}
	c, desc, _, err := countIn(p, a.Text, "socket", probe.Options{Sockets: true}, func(s *probe.Snapshot, ino uint64) (int64, string, error) {
		if e := s.Errors["sockets"]; e != "" {
			return 0, "", fmt.Errorf("cannot read its sockets: %s", e)
		}
		got := int64(0)
		for _, so := range s.Sockets {
			if so.NetNS == ino && isInet(so.Proto) {
				got++
			}
		}
		return got, fmt.Sprintf("%d TCP/UDP/SCTP/raw socket(s) there", got), nil
	})
	if err != nil {
		return nil, err
	}
	c.desc = "internet sockets of " + desc
	c.gocode = goExpectSockets()
	return c, nil
}

func expectHostname(p *parser) (*check, error) {
	a, err := p.proc()
	if err != nil {
		return nil, err
	}
	op, err := p.keyword("==", "!=")
	if err != nil {
		return nil, err
	}
	h, err := p.word("a hostname")
	if err != nil {
		return nil, err
	}
	who, want, same := a.Text, h.Text, op.Text == "=="
	return &check{desc: fmt.Sprintf("hostname of %s %s %s", who, op.Text, want),
		test: func(ctx context.Context, env *Env) (bool, string, error) {
			got, err := hostnameOf(ctx, env, who)
			if err != nil {
				return false, "", err
			}
			want := want
			if want == "host" { // the host's name, whatever it is
				if want, err = os.Hostname(); err != nil {
					return false, "", err
				}
			}
			return (got == want) == same, "it is " + got, nil
		},
		cond:   condHostname(who, want, same),
		gocode: goExpectHostname(),
	}, nil
}

// hostnameOf reads /proc/sys/kernel/hostname as seen from who's UTS
// namespace (through nsenter for another process).
func hostnameOf(ctx context.Context, env *Env, who string) (string, error) {
	pid, err := resolvePID(env, who)
	if err != nil && who != "host" {
		return "", err
	}
	if who == "host" || pid == os.Getpid() {
		h, err := os.Hostname()
		return h, err
	}
	out, err := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(pid), "-u", "cat", "/proc/sys/kernel/hostname").Output()
	if err != nil {
		return "", fmt.Errorf("read the hostname of %s: %v", who, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// containsText parses `contains|lacks TEXT`, TEXT being the rest of the
// line.
func (p *parser) containsText() (verb, text string, err error) {
	v, err := p.keyword("contains", "lacks")
	if err != nil {
		return "", "", err
	}
	if _, ok := p.peek(); !ok {
		return "", "", p.errAt(Token{Col: p.end}, "missing the text to look for")
	}
	return v.Text, strings.Join(p.rest(), " "), nil
}

func expectOutput(p *parser) (*check, error) {
	verb, text, err := p.containsText()
	if err != nil {
		return nil, err
	}
	want := verb == "contains"
	return &check{desc: fmt.Sprintf("the last output %s %q", verb, text),
		test: func(_ context.Context, env *Env) (bool, string, error) {
			out, of := env.LastOutput(), env.LastOutputOf()
			has := strings.Contains(out, text)
			seen := "it does"
			if !has {
				seen = "it does not"
			}
			if of != "" { // which output was read: the last command that printed
				seen = fmt.Sprintf("`%s` printed it", of)
				if !has {
					seen = fmt.Sprintf("`%s` did not print it", of)
				}
			}
			// The line that holds it (or the first): the answer a
			// prediction is set beside.
			line, _, _ := strings.Cut(out, "\n")
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, text) {
					line = l
					break
				}
			}
			if line = strings.TrimSpace(line); line != "" {
				seen += ": " + excerpt(line, 60)
			}
			if out == "" {
				seen = "there was no output"
			}
			return has == want, seen, nil
		},
		cond:        condOutput(text, want),
		readsOutput: true,
		gocode:      fmt.Sprintf("strings.Contains(out, %q)", text),
	}, nil
}

// isInet reports whether a probe protocol is an internet socket: what a
// lesson counts. (The lab's own netlink handle in a namespace is not.)
func isInet(proto string) bool {
	for _, p := range []string{"tcp", "udp", "sctp", "mptcp", "raw", "icmp"} {
		if strings.HasPrefix(proto, p) {
			return true
		}
	}
	return false
}
