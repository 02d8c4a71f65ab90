package script

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/nslab/nslab/lab/probe"
)

// proc takes a process argument (self, host, a PID, a spawned child or a
// proxy) and records it for Scope.
func (p *parser) proc() Token {
	t := p.word("a process (self, a PID or a spawned child)")
	p.ref(KindProc, t)
	return t
}

// procCmp is a parsed `PROC OP N`: a figure of a process, compared with N.
type procCmp struct {
	who, op string
	want    int64
}

// procCompare parses `PROC OP N`, N a whole number of at least least (what
// names it in an error).
func (p *parser) procCompare(what string, least int64) procCmp {
	a := p.proc()
	op, want := p.opInt(what, least)
	return procCmp{a.Text, op, want}
}

// test is the test of a procCmp check: figure reads the figure from the
// process's PID and says what it saw.
func (c procCmp) test(figure func(pid int) (int64, string, error)) func(context.Context, *Env) (bool, string, error) {
	return ofProc(c.who, func(pid int) (bool, string, error) {
		got, seen, err := figure(pid)
		if err != nil {
			return false, "", err
		}
		return compare(got, c.op, c.want), seen, nil
	})
}

// ofProc is the test of a check on the process who (self, a PID, a spawned
// child or a proxy): it finds its PID, then tests.
func ofProc(who string, test func(pid int) (bool, string, error)) func(context.Context, *Env) (bool, string, error) {
	return func(_ context.Context, env *Env) (bool, string, error) {
		pid, err := resolvePID(env, who)
		if err != nil {
			return false, "", err
		}
		return test(pid)
	}
}

func parseOp(p *parser) string {
	return p.keyword("<=", ">=", "==", "!=", "<", ">").Text
}

// opInt parses `OP N` with N a whole number of at least least; what names
// N in the error.
func (p *parser) opInt(what string, least int64) (string, int64) {
	op := parseOp(p)
	n := p.word("a number")
	v, err := strconv.ParseInt(n.Text, 10, 64)
	if err != nil || v < least {
		p.errAt(n, "want %s (a whole number from %d), found `%s`", what, least, n.Text)
	}
	return op, v
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
	a := p.proc()
	if what == "threads" && p.accept("in") {
		return expectThreadsIn(p, a.Text)
	}
	op := parseOp(p)
	n := p.word("a number")
	var limit int64
	var err error
	if what == "rss" {
		if limit, err = parseSize(n.Text); err != nil {
			return nil, p.errAt(n, "%v", err)
		}
	} else if limit, err = strconv.ParseInt(n.Text, 10, 64); err != nil {
		return nil, p.errAt(n, "want a whole number, found `%s`", n.Text)
	}
	who := a.Text
	return &check{desc: fmt.Sprintf("%s of %s %s %s", what, who, op, n.Text),
		test: ofProc(who, func(pid int) (bool, string, error) {
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
		}),
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

// countIn parses `NS OP N` after `PROC in` and makes the check "LABEL of
// PROC in NS OP N": count counts what (thread, socket) of PROC's is in NS,
// from a probe snapshot taken with opt, and says what it saw.
func countIn(p *parser, who, what, label, gocode string, opt probe.Options, count func(*probe.Snapshot, uint64) (int64, string)) (*check, error) {
	nst := p.word("a namespace")
	p.ref(KindNetOrProc, nst)
	op, want := p.opInt("a "+what+" count", 0)
	ns := nst.Text
	var fields []string // what the snapshot must have read for a count
	if opt.Threads {
		fields = append(fields, "threads")
	}
	if opt.Sockets {
		fields = append(fields, "sockets")
	}
	return &check{desc: fmt.Sprintf("%s of %s in %s %s %d", label, who, ns, op, want),
		test: func(_ context.Context, env *Env) (bool, string, error) {
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
			if err := unread(s, who, fields...); err != nil {
				return false, "", err
			}
			got, seen := count(s, ino)
			return compare(got, op, want), seen, nil
		},
		cond:   condCountIn(what, who, ns, op, want),
		gocode: gocode,
	}, nil
}

// expectThreadsIn counts the threads of a process whose network namespace
// is NS (/proc/PID/task/TID/ns/net): a thread left in a tenant after an
// unlocked setns shows here.
func expectThreadsIn(p *parser, who string) (*check, error) {
	return countIn(p, who, "thread", "threads", goWatch(), probe.Options{Threads: true}, func(s *probe.Snapshot, ino uint64) (int64, string) {
		got := s.ThreadsByNetns()[ino]
		return int64(got), fmt.Sprintf("%d of its %d threads are there", got, len(s.Threads))
	})
}

func expectSockets(p *parser) (*check, error) {
	a := p.proc()
	p.keyword("in")
	return countIn(p, a.Text, "socket", "internet sockets", goExpectSockets(), probe.Options{Sockets: true}, func(s *probe.Snapshot, ino uint64) (int64, string) {
		got := int64(0)
		for _, so := range s.Sockets {
			if so.NetNS == ino && isInet(so.Proto) {
				got++
			}
		}
		return got, fmt.Sprintf("%d TCP/UDP/SCTP/raw socket(s) there", got)
	})
}

func expectHostname(p *parser) (*check, error) {
	a := p.proc()
	op := p.keyword("==", "!=")
	h := p.word("a hostname")
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
