package script

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/nslab/nslab/internal/units"
)

// expect compare METRIC [per tenant] A OP B [OP C]... asserts the ordering a
// comparison lesson teaches, on the figures `compare` prints: each proxy's
// process tree measured now (a stopped one, as it stopped). An operand is
// a proxy or a number. `<<` means at most half (much less), `>>` at least
// double; `<`, `<=`, `>`, `>=`, `==` mean what they say.

var compareMetrics = []string{"threads", "processes", "pss", "fds", "bind"}

var compareOps = []string{"<<", ">>", "<=", ">=", "<", ">", "=="}

type cmpOperand struct {
	proxy string  // "" for a number
	num   float64 // the number
}

func (o cmpOperand) String() string {
	if o.proxy != "" {
		return o.proxy
	}
	return strconv.FormatFloat(o.num, 'g', -1, 64)
}

// metricOf is a row's figure for metric, per tenant when asked.
func metricOf(r Row, metric string, perTenant bool) (float64, error) {
	if r.Error != "" {
		return 0, fmt.Errorf("cannot measure %s: %s", r.Proxy, r.Error)
	}
	var v float64
	switch metric {
	case "threads":
		v = float64(r.Threads)
	case "processes":
		v = float64(r.Processes)
	case "pss":
		v = float64(r.PSS)
	case "fds":
		v = float64(r.FDs)
	case "bind":
		v = r.BindMs / 1000
	}
	if perTenant {
		if r.Tenants == 0 {
			return 0, fmt.Errorf("%s has no tenants: no cost per tenant", r.Proxy)
		}
		v /= float64(r.Tenants)
	}
	return v, nil
}

// showMetric prints a figure as the table does.
func showMetric(metric string, v float64, perTenant bool) string {
	switch {
	case metric == "pss":
		return units.Bytes(uint64(v))
	case metric == "bind":
		return strconv.FormatFloat(v*1000, 'f', 1, 64) + " ms"
	case perTenant:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func holds(a float64, op string, b float64) bool {
	switch op {
	case "<<":
		return a*2 <= b && a < b
	case ">>":
		return a >= b*2 && a > b
	case "<=":
		return a <= b
	case ">=":
		return a >= b
	case "<":
		return a < b
	case ">":
		return a > b
	}
	return a == b
}

func expectCompare(p *parser) (*check, error) {
	m := p.keyword(compareMetrics...)
	metric := m.Text
	perTenant := false
	if p.accept("per") {
		p.keyword("tenant")
		perTenant = true
	}
	operand := func() cmpOperand {
		t := p.word("a proxy or a number")
		if v, err := strconv.ParseFloat(t.Text, 64); err == nil {
			return cmpOperand{num: v}
		}
		return cmpOperand{proxy: t.Text} // (no p.ref: see compare)
	}
	ands := []cmpOperand{operand()}
	var ops []string
	for _, more := p.peek(); more; _, more = p.peek() {
		op := p.keyword(compareOps...)
		ops, ands = append(ops, op.Text), append(ands, operand())
	}
	if len(ops) == 0 {
		return nil, p.errAt(Token{Col: p.end}, "compare what with what: like `tss << tst` (<< is at most half)")
	}
	what := metric
	if metric == "pss" {
		what = "PSS"
	}
	if perTenant {
		what += " per tenant"
	}
	var chain strings.Builder
	chain.WriteString(ands[0].String())
	for i, op := range ops {
		fmt.Fprintf(&chain, " %s %s", op, ands[i+1])
	}
	return &check{desc: fmt.Sprintf("%s: %s", what, chain.String()),
		test: func(_ context.Context, env *Env) (bool, string, error) {
			vals := make([]float64, len(ands))
			var seen []string
			for i, o := range ands {
				if o.proxy == "" {
					vals[i] = o.num
					continue
				}
				r, err := rowOf(env, o.proxy)
				if err != nil {
					return false, "", err
				}
				if vals[i], err = metricOf(r, metric, perTenant); err != nil {
					return false, "", err
				}
				seen = append(seen, o.proxy+" "+showMetric(metric, vals[i], perTenant))
			}
			for i, op := range ops {
				if !holds(vals[i], op, vals[i+1]) {
					return false, fmt.Sprintf("now %s, and %s %s %s does not hold%s", strings.Join(seen, ", "),
						ands[i], op, ands[i+1], map[bool]string{true: " (<< is at most half, >> at least double)"}[op == "<<" || op == ">>"]), nil
				}
			}
			// Measured now, not copied from the table `compare` printed a
			// moment before: a Go runtime's thread count moves, so say so.
			return true, "now " + strings.Join(seen, ", "), nil
		},
		cond:   condCompare(metric, perTenant, ands, ops),
		gocode: "c, _ := tree(pid) // docs/examples/proctree\nthreads, pss := c.Threads, c.PSS",
	}, nil
}
