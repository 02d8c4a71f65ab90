package script

import (
	"fmt"
	"strings"
)

// The shell form of compare and expect compare: a process tree summed as
// the probe sums it (the process and every descendant, through
// /proc/PID/task/*/children), per tenant divided by the proxy's own count
// (nslab_proxy_tenants on its control socket's /metrics).

// shCompareHelpers are the functions the shell form calls; a script
// defines them once, before its first step (Sh.Helpers).
const shCompareHelpers = `tree_sum() { # PID METRIC: the process and its descendants, summed
	local level=$1 all=$1 p
	while [ -n "$level" ]; do
		level=$(for p in $level; do cat /proc/$p/task/*/children 2>/dev/null; done)
		all="$all $level"
	done
	for p in $all; do
		case $2 in
		threads) awk '/^Threads:/ {print $2}' /proc/$p/status ;;
		processes) echo 1 ;;
		pss) awk '/^Pss:/ {print $2 * 1024}' /proc/$p/smaps_rollup ;;
		fds) ls /proc/$p/fd | wc -l ;;
		esac
	done 2>/dev/null | awk '{s += $1} END {print s + 0}'
}
cmp_value() { # PROXY PID METRIC [tenant]: what compare measures
	local v t
	v=$(tree_sum "$2" "$3")
	if [ "${4:-}" = tenant ]; then
		t=$(curl -sf --unix-socket "$RUN/$1.sock" http://proxy/metrics | awk '$1 ~ /^nslab_proxy_tenants({|$)/ {print $2}')
		v=$(awk -v v="$v" -v t="${t:-0}" 'BEGIN {if (t > 0) print v / t; else print "none"}')
	fi
	echo "$v"
}
cmp_holds() { # A OP B; << is at most half, >> at least double
	case "$1$3" in *[!0-9.e+-]*) return 1 ;; esac # a figure that could not be read
	awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
		ok = op == "<<" ? a * 2 <= b && a < b : op == ">>" ? a >= b * 2 && a > b : op == "<=" ? a <= b : op == ">=" ? a >= b : op == "<" ? a < b : op == ">" ? a > b : a == b
		exit !ok
	}'
}
`

func shCompare(names []string) func(*Sh) string {
	return func(x *Sh) string {
		pids := make([]string, len(names))
		for i, n := range names {
			pids[i] = x.pid(n)
		}
		return "nslab inspect --tree " + strings.Join(pids, " ") + "   # each proxy with its children: threads, RSS, PSS, fds"
	}
}

func condCompare(metric string, perTenant bool, ands []cmpOperand, ops []string) func(*Sh) string {
	return func(x *Sh) string {
		if metric == "bind" {
			return "true # the bind time is nslab's own timing of proxy add; the shell has no record of it"
		}
		x.helper("compare", shCompareHelpers)
		value := func(o cmpOperand) string {
			if o.proxy == "" {
				return o.String()
			}
			tenant := ""
			if perTenant {
				tenant = " tenant"
			}
			return fmt.Sprintf(`"$(cmp_value %s %s %s%s)"`, o.proxy, x.pid(o.proxy), metric, tenant)
		}
		var parts []string
		for i, op := range ops {
			parts = append(parts, fmt.Sprintf("cmp_holds %s '%s' %s", value(ands[i]), op, value(ands[i+1])))
		}
		return strings.Join(parts, " && ")
	}
}
