package script

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nslab/nslab/internal/units"
	"github.com/nslab/nslab/lab/probe"
	"github.com/nslab/nslab/lab/proxy"
)

// `compare` is how a comparison lesson closes: one row per proxy, read from
// the live worker's process tree as the kernel counts it (the proxy, and
// for process-per-namespace its children): processes, threads, PSS (shared
// pages counted once), fds; with the tenants it serves (its control API)
// and the time its tenants took to bind (what `proxy start` and `proxy
// add` cost the lab). A proxy stopped since keeps the row measured just
// before it stopped.

// Table is a comparison, as `compare` printed it.
type Table struct {
	Command string    `json:"command"`
	Taken   time.Time `json:"taken"`
	Rows    []Row     `json:"rows"`
}

// Row is one proxy's bill.
type Row struct {
	Proxy     string  `json:"proxy"`
	Strategy  string  `json:"strategy"`
	Tenants   int     `json:"tenants"`
	Processes int     `json:"processes"`
	Threads   int     `json:"threads"`
	PSS       uint64  `json:"pss_bytes"`
	FDs       int     `json:"fds"`
	BindMs    float64 `json:"bind_ms"`           // proxy start and proxy add, summed
	Stopped   bool    `json:"stopped,omitempty"` // measured just before `proxy stop`
	Error     string  `json:"error,omitempty"`   // why it could not be measured
}

// Bind is BindMs as a duration.
func (r Row) Bind() time.Duration { return time.Duration(r.BindMs * float64(time.Millisecond)) }

// compareState is what the runner keeps for comparisons.
type compareState struct {
	mu    sync.Mutex
	table *Table
	final map[string]Row // rows of proxies measured as they stopped
}

// Results is the last table `compare` printed, or nil.
func (e *Env) Results() *Table {
	e.cmp.mu.Lock()
	defer e.cmp.mu.Unlock()
	if e.cmp.table == nil {
		return nil
	}
	t := *e.cmp.table
	t.Rows = slices.Clone(t.Rows)
	return &t
}

// ProxyStrategy is the strategy of a running proxy, "" if name is none.
func (e *Env) ProxyStrategy(name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	pc, ok := e.proxies[name]
	if !ok {
		return ""
	}
	if pc.cfg.Strategy == "" {
		return string(proxy.Shared)
	}
	return string(pc.cfg.Strategy)
}

// rememberFinal measures a proxy about to stop, for later comparisons.
func (e *Env) rememberFinal(name string, pc *proxyCtl) {
	r := measure(name, pc)
	r.Stopped = true
	e.cmp.mu.Lock()
	defer e.cmp.mu.Unlock()
	if e.cmp.final == nil {
		e.cmp.final = map[string]Row{}
	}
	e.cmp.final[name] = r
}

// measure reads one live proxy: its tree from the probe, its tenants from
// its control API.
func measure(name string, pc *proxyCtl) Row {
	r := Row{Proxy: name, Strategy: string(pc.cfg.Strategy), BindMs: float64(pc.bind.Load()) / 1e6}
	if r.Strategy == "" {
		r.Strategy = string(proxy.Shared)
	}
	st, err := pc.client.Stats()
	if err != nil {
		r.Error = "its control socket did not answer: " + err.Error()
		return r
	}
	r.Tenants = len(st.Tenants)
	s, err := probe.Take(pc.proc.PID, probe.Options{Tree: true})
	if err != nil {
		r.Error = err.Error()
		return r
	}
	if why := s.Errors["tree"]; why != "" {
		r.Error = why
		return r
	}
	t := s.Tree.Total
	r.Processes, r.Threads, r.PSS, r.FDs = t.Processes, t.Threads, t.PSS, t.FDs
	return r
}

// rowOf measures a proxy now, or returns the row it left when it stopped.
func rowOf(env *Env, name string) (Row, error) {
	env.mu.Lock()
	pc, live := env.proxies[name]
	env.mu.Unlock()
	if live {
		return measure(name, pc), nil
	}
	env.cmp.mu.Lock()
	r, ok := env.cmp.final[name]
	env.cmp.mu.Unlock()
	if ok {
		return r, nil
	}
	_, err := proxyOf(env, name)
	return Row{}, err
}

var cmdCompare = &Command{
	Name:    "compare",
	Usage:   "compare PROXY...",
	Summary: "a table of what each proxy costs: strategy, tenants, processes, threads, PSS, fds, bind time (its process tree, as the kernel counts it)",
	Example: "compare tss tst tsp",
	parse: func(p *parser) (Action, error) {
		// (No p.ref: a proxy stopped since still has its row, while the
		// lab has no process by that name any more. An unknown name is
		// refused when it runs, with a suggestion.)
		names := p.rest()
		if len(names) == 0 {
			return nil, p.errAt(Token{Col: p.end}, "name one or more proxies to compare")
		}
		line := "compare " + strings.Join(names, " ")
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				t := &Table{Command: line, Taken: time.Now()}
				for _, n := range names {
					r, err := rowOf(env, n)
					if err != nil {
						return "", err
					}
					t.Rows = append(t.Rows, r)
				}
				env.cmp.mu.Lock()
				env.cmp.table = t
				env.cmp.mu.Unlock()
				return t.Format(), nil
			},
			sh:     shCompare(names),
			gocode: "c, _ := tree(pid) // docs/examples/proctree: the proxy and every process it started\nfmt.Println(c.Processes, c.Threads, c.PSS, c.FDs)",
		}, p.done()
	},
}

// Format is the table as `compare` prints it, with what each proxy costs
// per tenant under it: where they serve different numbers of tenants,
// that is the fair comparison.
func (t *Table) Format() string {
	cells := [][]string{{"proxy", "strategy", "tenants", "processes", "threads", "PSS", "fds", "bind time"}}
	var notes []string
	for _, r := range t.Rows {
		if r.Error != "" {
			cells = append(cells, []string{r.Proxy, r.Strategy, "", "", "", "", "", ""})
			notes = append(notes, fmt.Sprintf("%s: not measured: %s", r.Proxy, r.Error))
			continue
		}
		bind := "-"
		if r.BindMs > 0 {
			bind = formatDur(r.Bind())
		}
		cells = append(cells, []string{r.Proxy, r.Strategy, strconv.Itoa(r.Tenants), strconv.Itoa(r.Processes),
			strconv.Itoa(r.Threads), units.Bytes(r.PSS), strconv.Itoa(r.FDs), bind})
		if r.Stopped {
			notes = append(notes, r.Proxy+": measured as it stopped")
		}
	}
	widths := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	var lines []string
	for _, row := range cells {
		var b strings.Builder
		for i, c := range row {
			switch {
			case i < 2: // names read best left-aligned, numbers right
				fmt.Fprintf(&b, "%-*s  ", widths[i], c)
			case i < len(row)-1:
				fmt.Fprintf(&b, "%*s  ", widths[i], c)
			default:
				fmt.Fprintf(&b, "%*s", widths[i], c)
			}
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
	}
	var th, pss []string
	for _, r := range t.Rows {
		if r.Error == "" && r.Tenants > 0 {
			th = append(th, fmt.Sprintf("%s %.2f", r.Proxy, float64(r.Threads)/float64(r.Tenants)))
			pss = append(pss, fmt.Sprintf("%s %s", r.Proxy, units.Bytes(r.PSS/uint64(r.Tenants))))
		}
	}
	if len(th) > 0 {
		lines = append(lines, "per tenant: threads "+strings.Join(th, " · ")+"; PSS "+strings.Join(pss, " · "))
	}
	return strings.Join(append(lines, notes...), "\n")
}

func formatDur(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}
