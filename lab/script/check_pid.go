package script

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nslab/nslab/lab/probe"
)

// expectPID parses `expect pid PROC OP N`: the PID a process has in its own
// PID namespace. From the host, a child in a new PID namespace has an
// ordinary PID; the NSpid line of /proc/PID/status lists one PID per
// nesting level, the last being what the process itself gets from
// getpid(2). It is the honest check for "the child is PID 1 in its
// namespace", readable without entering it and without trusting ps, which
// reads whatever /proc is mounted.
func expectPID(p *parser) (*check, error) {
	c := p.procCompare("a PID", 1)
	return &check{
		desc: fmt.Sprintf("the PID of %s in its own PID namespace %s %d", c.who, c.op, c.want),
		test: c.test(func(pid int) (int64, string, error) {
			levels, err := nsPIDs(pid)
			if err != nil {
				return 0, "", err
			}
			inner := levels[len(levels)-1]
			return inner, fmt.Sprintf("NSpid is %s: host PID %d, %d inside", joinInts(levels), pid, inner), nil
		}),
		cond:   condPID(c.who, c.op, c.want),
		gocode: "b, _ := os.ReadFile(fmt.Sprintf(\"/proc/%d/status\", pid))\n// NSpid:\\t4242\\t1 -- one PID per PID namespace, outermost first",
	}, nil
}

// nsPIDs reads the NSpid line of a process (through lab/probe): its PID
// in each PID namespace from the reader's down to its own.
func nsPIDs(pid int) ([]int64, error) {
	st, err := probe.ReadStatus(pid)
	if err != nil {
		return nil, fmt.Errorf("read the status of process %d: %v", pid, err)
	}
	if len(st.NSpid) == 0 {
		return nil, fmt.Errorf("process %d: no NSpid line in its status (a kernel older than 4.1?)", pid)
	}
	out := make([]int64, len(st.NSpid))
	for i, n := range st.NSpid {
		out[i] = int64(n)
	}
	return out, nil
}

func joinInts(ns []int64) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(s, " ")
}
