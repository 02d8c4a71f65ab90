package panels

import (
	"fmt"
	"strings"

	"github.com/nslab/nslab/ui/common"
)

// NSTypes are the namespace types in the order the matrix shows them; when
// the panel is narrow, the ones at the end are dropped first.
var NSTypes = []string{"net", "pid", "mnt", "uts", "ipc", "user", "cgroup", "time", "pid_for_children", "time_for_children"}

// NSMatrix shows watched processes (and, expanded, their threads) against
// namespace types. Each cell names the namespace; equal namespaces share a
// colour; a namespace that differs from PID 1's is marked ≠.
type NSMatrix struct {
	st     *common.Styles
	w, h   int
	snap   *Snapshot
	expand bool
	groups map[NSKey]int // colour group of each namespace seen
}

// NewNSMatrix returns an empty matrix.
func NewNSMatrix(st *common.Styles) NSMatrix { return NSMatrix{st: st} }

// SetStyles changes the theme.
func (m *NSMatrix) SetStyles(st *common.Styles) { m.st = st }

// SetSize sets the inner size the matrix may use.
func (m *NSMatrix) SetSize(w, h int) { m.w, m.h = w, h }

// ToggleThreads expands or collapses the thread rows.
func (m *NSMatrix) ToggleThreads() { m.expand = !m.expand }

// Expanded reports whether thread rows are shown.
func (m NSMatrix) Expanded() bool { return m.expand }

// SetData takes a new snapshot. Colour groups are numbered per type in order
// of first appearance, PID 1's namespace first, so that colours are stable
// from one snapshot to the next.
func (m *NSMatrix) SetData(s *Snapshot) {
	m.snap = s
	if m.groups == nil {
		m.groups = map[NSKey]int{}
	}
	next := map[string]int{}
	for k, v := range m.groups {
		next[k.Type] = max(next[k.Type], v+1)
	}
	add := func(typ string, ino uint64) {
		k := NSKey{typ, ino}
		if _, ok := m.groups[k]; ok || ino == 0 {
			return
		}
		m.groups[k] = next[typ]
		next[typ]++
	}
	for _, t := range NSTypes {
		add(t, s.Init[t])
	}
	for _, p := range s.Procs {
		for _, t := range NSTypes {
			add(t, p.NS[t])
		}
		for _, th := range p.Threads {
			add("net", th.NetNS)
		}
	}
	if len(m.groups) > 4096 { // forget namespaces long gone
		m.groups = nil
		m.SetData(s)
	}
}

// cell renders one namespace: ≠ when it differs from PID 1, its name in
// the colour of its group.
func (m NSMatrix) cell(typ string, ino uint64, w int) string {
	if ino == 0 {
		return Fit(m.st.Subtle.Render(" ·"), w)
	}
	name := m.snap.Name(typ, ino)
	mark := " "
	style := m.st.Group(m.groups[NSKey{typ, ino}])
	if init, ok := m.snap.Init[typ]; ok && init != 0 && init != ino {
		mark = m.st.Diff.Render(common.SymDiff)
	}
	return mark + Fit(style.Render(name), w-1)
}

// View draws the matrix.
func (m NSMatrix) View() string {
	if m.snap == nil {
		return m.st.Subtle.Render("waiting for the first snapshot…")
	}
	if len(m.snap.Procs) == 0 {
		return m.st.Subtle.Render("no process watched yet (try `watch self`)")
	}
	s := m.snap
	const labelW = 16
	// Column width: the longest name in it, 6 to 14 cells plus the mark.
	colW := map[string]int{}
	for _, t := range NSTypes {
		w := len(t)
		for _, p := range s.Procs {
			w = max(w, len(s.Name(t, p.NS[t])))
		}
		colW[t] = min(max(w, 6), 14) + 2
	}
	var cols []string
	used := labelW
	for _, t := range NSTypes {
		if used+colW[t] > m.w {
			break
		}
		cols = append(cols, t)
		used += colW[t]
	}
	var b strings.Builder
	b.WriteString(Fit(m.st.Bold.Render("process"), labelW))
	for _, t := range cols {
		b.WriteString(Fit(m.st.Bold.Render(" "+shortType(t)), colW[t]))
	}
	// Every process gets its row; expanded, the rows left are shared
	// between them, so that a process with many threads does not push the
	// others off the panel.
	procs := s.Procs
	hidden := 0
	if room := m.h - 2; m.h > 0 && len(procs) > room {
		keep := max(room-1, 0)
		hidden = len(procs) - keep
		procs = procs[:keep]
	}
	share := 0
	if m.expand && len(procs) > 0 {
		share = max(m.h-2-len(procs), 0) / len(procs)
		if m.h <= 0 {
			share = 1 << 30
		}
	}
	for _, p := range procs {
		arrow := "▸ "
		if m.expand {
			arrow = "▾ "
		}
		b.WriteByte('\n')
		label := fmt.Sprintf("%s%s %d", arrow, p.Label, p.PID)
		b.WriteString(Fit(m.st.Text.Render(label), labelW))
		if p.Err != "" && len(p.NS) == 0 {
			b.WriteString(m.st.Fail.Render(common.SymFail + " " + p.Err))
			continue
		}
		for _, t := range cols {
			b.WriteString(m.cell(t, p.NS[t], colW[t]))
		}
		if !m.expand {
			continue
		}
		shown := p.Threads
		if len(shown) > share {
			shown = shown[:max(share-1, 0)]
		}
		for _, th := range shown {
			b.WriteByte('\n')
			b.WriteString(Fit(m.st.Subtle.Render(fmt.Sprintf("   └ %d", th.TID)), labelW))
			for _, t := range cols {
				if t == "net" {
					b.WriteString(m.cell(t, th.NetNS, colW[t]))
				} else {
					b.WriteString(Fit(m.st.Subtle.Render("  ·"), colW[t]))
				}
			}
		}
		if rest := p.Threads[len(shown):]; len(rest) > 0 && share > 0 {
			b.WriteString("\n" + m.st.Subtle.Render(Fit("    … "+m.restSummary(p, rest), m.w)))
		}
	}
	if hidden > 0 {
		b.WriteString("\n" + m.st.Subtle.Render(fmt.Sprintf("  … %d more processes (a taller panel shows them)", hidden)))
	}
	b.WriteString("\n" + m.st.Subtle.Render(common.SymDiff+" differs from PID 1 · same colour = same namespace"))
	return b.String()
}

// restSummary says where the threads that did not fit are: "8 more
// threads, all in host" or "8 more threads, 3 not in c".
func (m NSMatrix) restSummary(p Proc, rest []Thread) string {
	other := 0
	for _, th := range rest {
		if th.NetNS != p.NS["net"] {
			other++
		}
	}
	n := fmt.Sprintf("%d more threads", len(rest))
	if len(rest) == 1 {
		n = "1 more thread"
	}
	where := m.snap.Name("net", p.NS["net"])
	if other == 0 {
		return fmt.Sprintf("%s, all in %s", n, where)
	}
	return fmt.Sprintf("%s, %d not in %s", n, other, where)
}

// Want is the height the matrix would like: a row per process (and,
// expanded, per thread), the header and the legend.
func (m NSMatrix) Want() int {
	if m.snap == nil || len(m.snap.Procs) == 0 {
		return 3
	}
	n := len(m.snap.Procs) + 2
	if m.expand {
		for _, p := range m.snap.Procs {
			n += len(p.Threads)
		}
	}
	return n
}

func shortType(t string) string {
	switch t {
	case "pid_for_children":
		return "pid4c"
	case "time_for_children":
		return "time4c"
	}
	return t
}
