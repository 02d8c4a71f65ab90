package panels

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

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
	page   int
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

// cell renders one namespace in w cells: ≠ when it differs from PID 1,
// then its name (or, in a column too narrow for names, the letter the key
// gives its inode) in the colour of its group.
func (m NSMatrix) cell(typ string, ino uint64, w int, tag bool) string {
	if ino == 0 {
		return Fit(m.st.Subtle.Render(" ·"), w)
	}
	name := m.snap.Name(typ, ino)
	if tag {
		name = m.tag(typ, ino)
	}
	mark := " "
	style := m.st.Group(m.groups[NSKey{typ, ino}])
	if init, ok := m.snap.Init[typ]; ok && init != 0 && init != ino {
		mark = m.st.Diff.Render(common.SymDiff)
	}
	return mark + Fit(style.Render(name), w-1)
}

// tag is the letter of a namespace in a narrow column: one per name the
// matrix shows (host is A), explained by the key.
func (m NSMatrix) tag(typ string, ino uint64) string { return m.tagOf(m.snap.Name(typ, ino)) }

func (m NSMatrix) tagOf(name string) string {
	seen := map[string]bool{}
	n := 0
	visit := func(t string, ino uint64) bool {
		if ino == 0 {
			return false
		}
		x := m.snap.Name(t, ino)
		if x == name {
			return true
		}
		if !seen[x] {
			seen[x] = true
			n++
		}
		return false
	}
	for _, t := range NSTypes {
		if visit(t, m.snap.Init[t]) {
			return string(rune('A' + n%26))
		}
	}
	for _, p := range m.snap.Procs {
		for _, t := range NSTypes {
			if visit(t, p.NS[t]) {
				return string(rune('A' + n%26))
			}
		}
	}
	return "?"
}

// More shows the next page of processes, when they do not all fit.
func (m *NSMatrix) More() { m.page++ }

// differing lists the types in which the watched processes are not all in
// PID 1's namespace: the columns the matrix is about.
func (m NSMatrix) differing() []string {
	var out []string
	for _, t := range NSTypes {
		ref := m.snap.Init[t]
		for _, p := range m.snap.Procs {
			if ino := p.NS[t]; ino != 0 && (ref == 0 || ino != ref) {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// columns chooses the columns for width w: every type in which the
// processes differ from PID 1, at their names' width if they fit, else
// narrower, else as key letters; then the others while they fit. It
// returns the widths, whether cells are letters, and the types left out.
func (m NSMatrix) columns(labelW int) (cols []string, colW map[string]int, tag bool, dropped []string) {
	s := m.snap
	colW = map[string]int{}
	natural := func(t string) int {
		w := len(shortType(t))
		for _, p := range s.Procs {
			w = max(w, len(s.Name(t, p.NS[t])))
		}
		return min(max(w, 4), 14) + 2
	}
	diff := m.differing()
	room := m.w - labelW
	used := 0
	for _, t := range diff {
		colW[t] = natural(t)
		used += colW[t]
	}
	if used > room && len(diff) > 0 {
		// Narrower: the names are cut, the key below still names them.
		each := room / len(diff)
		if each >= 8 {
			for _, t := range diff {
				colW[t] = min(colW[t], each)
			}
		} else {
			tag = true
			for _, t := range diff {
				colW[t] = 4
			}
		}
		used = 0
		for _, t := range diff {
			used += colW[t]
		}
	}
	cols = append(cols, diff...)
	for _, t := range NSTypes {
		if slices.Contains(diff, t) {
			continue
		}
		w := natural(t)
		if tag {
			w = 4
		}
		if used+w > room {
			dropped = append(dropped, t)
			continue
		}
		colW[t] = w
		used += w
		cols = append(cols, t)
	}
	// Back in the kernel's order, so a column is where the learner saw it.
	slices.SortStableFunc(cols, func(a, b string) int { return slices.Index(NSTypes, a) - slices.Index(NSTypes, b) })
	return cols, colW, tag, dropped
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
	labelW := m.labelWidth()
	cols, colW, tag, dropped := m.columns(labelW)
	if need := 4 * len(m.differing()); tag && labelW+need > m.w {
		// Very narrow: the labels give way before a differing column.
		labelW = max(m.w-need, 8)
		cols, colW, tag, dropped = m.columns(labelW)
	}
	var b strings.Builder
	var head strings.Builder
	head.WriteString(Fit(m.st.Bold.Render("process"), labelW))
	for _, t := range cols {
		name := shortType(t)
		if tag {
			name = tinyType(t)
		}
		head.WriteString(Fit(m.st.Bold.Render(" "+name), colW[t]))
	}
	b.WriteString(Fit(head.String(), m.w))
	key := m.key(cols, tag, dropped)
	// Every process gets its row; expanded, the rows left are shared
	// between them, so that a process with many threads does not push
	// the others off the panel. What does not fit (processes first, then
	// the key) is paged: "+N more lines · m".
	procs := s.Procs
	share := 0
	if m.expand && len(procs) > 0 {
		share = max(m.h-2-len(key)-len(procs), 0) / len(procs)
		if m.h <= 0 {
			share = 1 << 30
		}
	}
	var body []string
	for _, p := range procs {
		arrow := "▸ "
		if m.expand {
			arrow = "▾ "
		}
		var l strings.Builder
		l.WriteString(Fit(m.st.Text.Render(fmt.Sprintf("%s%s %d", arrow, p.Label, p.PID)), labelW))
		if p.Err != "" && len(p.NS) == 0 {
			l.WriteString(m.st.Fail.Render(common.SymFail + " " + p.Err))
			body = append(body, l.String())
			continue
		}
		for _, t := range cols {
			l.WriteString(m.cell(t, p.NS[t], colW[t], tag))
		}
		body = append(body, Fit(l.String(), m.w))
		if !m.expand {
			continue
		}
		shown := p.Threads
		if len(shown) > share {
			shown = shown[:max(share-1, 0)]
		}
		for _, th := range shown {
			var l strings.Builder
			l.WriteString(Fit(m.st.Subtle.Render(fmt.Sprintf("   └ %d", th.TID)), labelW))
			for _, t := range cols {
				if t == "net" {
					l.WriteString(m.cell(t, th.NetNS, colW[t], tag))
				} else {
					l.WriteString(Fit(m.st.Subtle.Render("  ·"), colW[t]))
				}
			}
			body = append(body, Fit(l.String(), m.w))
		}
		if rest := p.Threads[len(shown):]; len(rest) > 0 && share > 0 {
			body = append(body, m.st.Subtle.Render(Fit("    … "+m.restSummary(p, rest), m.w)))
		}
	}
	body = append(body, key...)
	if room := m.h - 1; m.h > 0 && len(body) > room {
		per := max(room-1, 1)
		pages := (len(body) + per - 1) / per
		first := (m.page % pages) * per
		shown := body[first:min(first+per, len(body))]
		body = append(shown, m.st.Warn.Render(Fit(fmt.Sprintf("+%d more lines (page %d/%d) · m: next page", len(body)-len(shown), m.page%pages+1, pages), m.w)))
	}
	for _, l := range body {
		b.WriteString("\n" + l)
	}
	return b.String()
}

// key explains the colours (they are the inodes): for each namespace the
// processes are in, by name, its inode in each column where they are not
// all in PID 1's; then which columns did not fit.
func (m NSMatrix) key(cols []string, tag bool, dropped []string) []string {
	st := m.st
	diff := m.differing()
	if len(diff) == 0 {
		out := []string{st.Subtle.Render(Fit("all in PID 1's namespaces (host)", m.w))}
		if len(dropped) > 0 {
			out = append(out, m.droppedLine(dropped))
		}
		return out
	}
	out := []string{st.Subtle.Render(Fit(common.SymDiff+" differs from PID 1 · same colour = same inode:", m.w))}
	type entry struct {
		name  string
		style int
		parts []string
	}
	var entries []*entry
	byName := map[string]*entry{}
	seen := map[NSKey]bool{}
	add := func(t string, ino uint64) {
		k := NSKey{t, ino}
		if ino == 0 || seen[k] {
			return
		}
		seen[k] = true
		name := m.snap.Name(t, ino)
		e := byName[name]
		if e == nil {
			e = &entry{name: name, style: m.groups[k]}
			byName[name] = e
			entries = append(entries, e)
		}
		e.parts = append(e.parts, shortType(t)+" "+strconv.FormatUint(ino, 10))
	}
	for _, t := range cols {
		if !slices.Contains(diff, t) {
			continue
		}
		add(t, m.snap.Init[t])
		for _, p := range m.snap.Procs {
			add(t, p.NS[t])
		}
	}
	for _, e := range entries {
		head := e.name
		if tag {
			head = m.tagOf(e.name) + " " + head
		}
		line := st.Group(e.style).Render(head) + st.Subtle.Render(": "+strings.Join(e.parts, ", "))
		out = append(out, strings.Split(wrapStyled(line, m.w), "\n")...)
	}
	if len(dropped) > 0 {
		out = append(out, m.droppedLine(dropped))
	}
	return out
}

func (m NSMatrix) droppedLine(dropped []string) string {
	var names []string
	for _, t := range dropped {
		names = append(names, shortType(t))
	}
	return m.st.Subtle.Render(Fit("not shown, all as PID 1: "+strings.Join(names, " "), m.w))
}

// wrapStyled wraps a styled line at w cells, continuing indented.
func wrapStyled(s string, w int) string {
	if w <= 8 || ansi.StringWidth(s) <= w {
		return s
	}
	return strings.ReplaceAll(ansi.Wordwrap(s, w-2, " "), "\n", "\n  ")
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

// Want is the height the matrix would like at width w: the header, a row
// per process (and, expanded, per thread) and the key.
func (m NSMatrix) Want(w int) int {
	if m.snap == nil || len(m.snap.Procs) == 0 {
		return 3
	}
	m.w = w
	cols, _, tag, dropped := m.columns(m.labelWidth())
	n := 1 + len(m.snap.Procs) + len(m.key(cols, tag, dropped))
	if m.expand {
		for _, p := range m.snap.Procs {
			n += len(p.Threads)
		}
	}
	return n
}

// labelWidth is the width of the process column.
func (m NSMatrix) labelWidth() int {
	w := 8
	for _, p := range m.snap.Procs {
		w = max(w, len(p.Label)+len(strconv.Itoa(p.PID))+4)
	}
	return min(w, 17)
}

// tinyType is a type's name in three letters, for columns of key letters.
func tinyType(t string) string {
	switch t {
	case "pid_for_children":
		return "p4c"
	case "time_for_children":
		return "t4c"
	case "cgroup":
		return "cgr"
	case "user":
		return "usr"
	case "time":
		return "tim"
	}
	return t
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
