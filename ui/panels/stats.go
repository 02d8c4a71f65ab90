package panels

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/nslab/nslab/internal/units"
	"github.com/nslab/nslab/ui/common"
)

// historyLen is how many samples a sparkline keeps (two minutes at 1 Hz).
const historyLen = 120

// Stats draws the threads and memory of every watched process tree on one
// scale: a row per process, counting its descendants (a proxy's
// per-namespace children, a child's shell) as the kernel does — processes,
// threads, PSS (shared pages counted once) and fds. Each column has one
// axis for every row, now and over the last two minutes: a bar for the
// current value and, where there is room, a sparkline of its history,
// both scaled to the largest value any row has shown, so 6 threads beside
// 1006 look like 6 beside 1006.
type Stats struct {
	st     *common.Styles
	w, h   int
	order  []string // keys, compared processes first and self last
	hist   map[string]*series
	expand bool // a tree's parent alone under it
	page   int
}

// series is one process over time.
type series struct {
	label, kind  string
	pid          int
	now, parent  Usage
	tree         bool
	partial, err string
	threads, pss ring
	seen         bool
}

type ring struct {
	v    [historyLen]float64
	n    int // samples held
	next int
}

func (r *ring) push(x float64) {
	r.v[r.next] = x
	r.next = (r.next + 1) % historyLen
	r.n = min(r.n+1, historyLen)
}

// last returns the newest k samples, oldest first.
func (r *ring) last(k int) []float64 {
	k = min(k, r.n)
	out := make([]float64, k)
	for i := 0; i < k; i++ {
		out[i] = r.v[(r.next-k+i+historyLen)%historyLen]
	}
	return out
}

// max is the largest of the newest k samples.
func (r *ring) max(k int) float64 {
	hi := 0.0
	for i := 0; i < min(k, r.n); i++ {
		hi = max(hi, r.v[(r.next-1-i+historyLen)%historyLen])
	}
	return hi
}

// NewStats returns an empty stats panel.
func NewStats(st *common.Styles) Stats { return Stats{st: st, hist: map[string]*series{}} }

// SetStyles changes the theme.
func (m *Stats) SetStyles(st *common.Styles) { m.st = st }

// SetSize sets the inner size.
func (m *Stats) SetSize(w, h int) { m.w, m.h = w, h }

// ToggleExpand shows or hides each tree's parent alone.
func (m *Stats) ToggleExpand() { m.expand = !m.expand }

// Expanded reports whether the parents alone are shown.
func (m Stats) Expanded() bool { return m.expand }

// More shows the next page of rows, when they do not all fit.
func (m *Stats) More() { m.page++ }

// Push adds one sample per watched process. Processes no longer watched
// are dropped; a restarted one (same label, new PID) starts over.
func (m *Stats) Push(s *Snapshot) {
	for _, se := range m.hist {
		se.seen = false
	}
	m.order = m.order[:0]
	var selfs []string
	for _, p := range s.Procs {
		key := p.Label + "\x00" + strconv.Itoa(p.PID)
		se := m.hist[key]
		if se == nil {
			se = &series{label: p.Label, pid: p.PID}
			m.hist[key] = se
		}
		se.seen, se.kind, se.err = true, p.Kind, p.Err
		se.now, se.tree, se.partial = p.Usage(), p.Tree != nil, ""
		se.parent = se.now
		if p.Tree != nil {
			se.parent, se.partial = p.Tree.Parent, p.Tree.Partial
		}
		se.threads.push(float64(se.now.Threads))
		se.pss.push(float64(se.now.PSS))
		if p.Label == "self" {
			selfs = append(selfs, key)
		} else {
			m.order = append(m.order, key)
		}
	}
	// Cheapest strategy first, so the bars grow down the panel; then
	// spawned children, then nslab itself.
	slices.SortStableFunc(m.order, func(a, b string) int { return kindRank(m.hist[a].kind) - kindRank(m.hist[b].kind) })
	m.order = append(m.order, selfs...)
	for k, se := range m.hist {
		if !se.seen {
			delete(m.hist, k)
		}
	}
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws vals (oldest first) in w cells, scaled from 0 to the
// largest value shown, so a flat line reads as flat and growth as growth.
func Sparkline(vals []float64, w int) string {
	hi := 0.0
	for _, v := range vals[max(len(vals)-w, 0):] {
		hi = max(hi, v)
	}
	return ScaledSparkline(vals, w, hi)
}

// ScaledSparkline draws vals (oldest first) in w cells on an axis from 0
// to hi, shared with other sparklines: a value of hi/100 sits on the
// bottom line beside one of hi at the top.
func ScaledSparkline(vals []float64, w int, hi float64) string {
	if len(vals) > w {
		vals = vals[len(vals)-w:]
	}
	var b strings.Builder
	for i := len(vals); i < w; i++ {
		b.WriteByte(' ')
	}
	for _, v := range vals {
		i := 0
		if hi > 0 {
			i = min(int(v/hi*float64(len(sparkRunes)-1)+0.5), len(sparkRunes)-1)
		}
		b.WriteRune(sparkRunes[max(i, 0)])
	}
	return b.String()
}

var eighths = []rune("▏▎▍▌▋▊▉")

// Bar draws v on an axis from 0 to hi as a horizontal bar of at most w
// cells, to an eighth of a cell. Anything above zero shows at least ▏, so
// a small value is small, not absent.
func Bar(v, hi float64, w int) string {
	if hi <= 0 || v <= 0 || w <= 0 {
		return ""
	}
	e := int(v / hi * float64(w*8))
	e = min(max(e, 1), w*8)
	out := strings.Repeat("█", e/8)
	if e%8 > 0 {
		out += string(eighths[e%8-1])
	}
	return out
}

// Want is the height the panel would like: a header, a row per process
// (and, expanded, one more per tree), and the scale line.
func (m Stats) Want(w int) int {
	n := len(m.order)
	if m.expand {
		for _, k := range m.order {
			if se := m.hist[k]; se.tree && se.now.Processes > 1 {
				n++
			}
		}
	}
	return n + 2
}

// kindW is the room for a proxy's strategy beside its name, when wide.
const kindW = 9

// statsLayout is how the columns share the width: the numbers as wide as
// the widest value, the bars (and, with room, the sparklines) the rest.
type statsLayout struct {
	name, procs, thNum, thBar, thSpark, pssNum, pssBar, pssSpark, fds int
	kind                                                              bool
}

func (m Stats) layout() statsLayout {
	l := statsLayout{name: 4, procs: 2, thNum: 3, pssNum: 6}
	for _, k := range m.order {
		se := m.hist[k]
		l.name = max(l.name, len(se.label)+1+len(strconv.Itoa(se.pid)))
		for _, u := range []Usage{se.now, se.parent} {
			l.procs = max(l.procs, len(strconv.Itoa(u.Processes)))
			l.thNum = max(l.thNum, len(strconv.Itoa(u.Threads)))
			l.pssNum = max(l.pssNum, len(units.Bytes(u.PSS))+1)
			l.fds = max(l.fds, len(strconv.Itoa(u.FDs)))
		}
	}
	l.name = min(l.name, 18)
	fixed := func() int { return l.name + 1 + l.procs + 1 + l.thNum + 1 + 1 + l.pssNum + 1 + 1 }
	if m.w-fixed() >= 28 {
		l.procs = max(l.procs, 5) // room for the word
	}
	if m.w-fixed() >= 24 {
		l.fds = max(l.fds, 3) + 1
	} else {
		l.fds = 0
	}
	if m.w-fixed()-l.fds >= 70 {
		l.kind = true
		l.name += kindW
	}
	room := max(m.w-fixed()-l.fds, 2)
	if room >= 48 { // room for history: a bar and a sparkline per column
		l.thBar, l.pssBar = room/5, room/5
		l.thSpark = (room - l.thBar - l.pssBar - 2) / 2
		l.pssSpark = room - l.thBar - l.pssBar - 2 - l.thSpark
	} else {
		l.thBar = room / 2
		l.pssBar = room - l.thBar
	}
	return l
}

// View draws the table.
func (m Stats) View() string {
	if len(m.order) == 0 {
		return m.st.Subtle.Render("no process watched")
	}
	l := m.layout()
	// One axis per column for every row: the largest value any of them
	// has shown within the history drawn (at least the bars' now).
	window := max(l.thSpark, l.pssSpark, 1)
	var thHi, pssHi float64
	for _, k := range m.order {
		se := m.hist[k]
		thHi = max(thHi, se.threads.max(window))
		pssHi = max(pssHi, se.pss.max(window))
	}
	rows := m.rows(l, thHi, pssHi)
	room := len(rows)
	if m.h > 0 {
		room = max(m.h-2, 1)
	}
	var b strings.Builder
	b.WriteString(m.header(l))
	shown, more := rows, 0
	if len(rows) > room {
		per := max(room-1, 1)
		pages := (len(rows) + per - 1) / per
		first := (m.page % pages) * per
		shown = rows[first:min(first+per, len(rows))]
		more = len(rows) - len(shown)
	}
	for _, r := range shown {
		b.WriteString("\n" + r)
	}
	if more > 0 {
		b.WriteString("\n" + m.st.Warn.Render(Fit(fmt.Sprintf("+%d more · m: next page", more), m.w)))
	}
	b.WriteString("\n" + m.st.Subtle.Render(Fit(m.scale(thHi, pssHi), m.w)))
	return b.String()
}

// header names the columns; "threads" and "PSS" sit over their number and
// bar (and sparkline) together.
func (m Stats) header(l statsLayout) string {
	procs := "procs"
	if l.procs < 5 {
		procs = "pr"
	}
	thW := l.thNum + 1 + l.thBar
	if l.thSpark > 0 {
		thW += 1 + l.thSpark
	}
	pssW := l.pssNum + 1 + l.pssBar
	if l.pssSpark > 0 {
		pssW += 1 + l.pssSpark
	}
	var b strings.Builder
	b.WriteString(Fit("tree", l.name) + " ")
	b.WriteString(pad(procs, l.procs) + " ")
	b.WriteString(Fit(pad("threads", l.thNum), thW) + " ")
	b.WriteString(Fit(pad("PSS", l.pssNum), pssW) + " ")
	if l.fds > 0 {
		b.WriteString(pad("fds", l.fds))
	}
	return m.st.Bold.Render(Fit(b.String(), m.w))
}

// rows draws one line per process and, expanded, one per tree's parent.
func (m Stats) rows(l statsLayout, thHi, pssHi float64) []string {
	var out []string
	for _, k := range m.order {
		se := m.hist[k]
		name := Fit(m.st.Bold.Render(se.label)+" "+m.st.Subtle.Render(strconv.Itoa(se.pid)), min(l.name, len(se.label)+1+len(strconv.Itoa(se.pid))))
		if l.kind && se.kind != "" {
			name = Fit(name, l.name-kindW) + " " + m.st.Subtle.Render(ShortKind(se.kind))
		}
		out = append(out, m.row(l, name, se.now, se, thHi, pssHi, true))
		if m.expand && se.tree && se.now.Processes > 1 {
			out = append(out, m.row(l, m.st.Subtle.Render(" └ parent"), se.parent, se, thHi, pssHi, false))
		}
	}
	return out
}

func (m Stats) row(l statsLayout, name string, u Usage, se *series, thHi, pssHi float64, history bool) string {
	st := m.st
	var b strings.Builder
	b.WriteString(Fit(name, l.name) + " ")
	if se.err != "" && u.Threads == 0 {
		b.WriteString(st.Fail.Render(common.SymFail + " " + se.err))
		return Fit(b.String(), m.w)
	}
	b.WriteString(st.Text.Render(pad(strconv.Itoa(u.Processes), l.procs)) + " ")
	// One column: the number, its bar and (with room) the history, all on
	// the column's scale.
	column := func(num string, numW int, v, hi float64, barW, sparkW int, hist *ring, style lipgloss.Style) {
		b.WriteString(st.Bold.Render(pad(num, numW)) + " ")
		b.WriteString(Fit(style.Render(Bar(v, hi, barW)), barW))
		if sparkW > 0 {
			sp := ""
			if history {
				sp = style.Render(ScaledSparkline(hist.last(sparkW), sparkW, hi))
			}
			b.WriteString(" " + Fit(sp, sparkW))
		}
	}
	column(strconv.Itoa(u.Threads), l.thNum, float64(u.Threads), thHi, l.thBar, l.thSpark, &se.threads, st.Spark)
	pss := units.Bytes(u.PSS)
	switch {
	case !se.tree:
		pss = "?"
	case se.partial != "":
		pss = "≥" + pss
	}
	b.WriteString(" ")
	column(pss, l.pssNum, float64(u.PSS), pssHi, l.pssBar, l.pssSpark, &se.pss, st.SparkAlt)
	if l.fds > 0 {
		b.WriteString(" " + st.Text.Render(pad(strconv.Itoa(u.FDs), l.fds)))
	}
	return Fit(b.String(), m.w)
}

// scale is the legend: what a full bar is, and the key that expands.
func (m Stats) scale(thHi, pssHi float64) string {
	key := "e: each parent alone"
	if m.expand {
		key = "e: trees only"
	}
	long := fmt.Sprintf("one scale per column: full bar = %d threads, %s PSS · %s", int(thHi), units.Bytes(uint64(pssHi)), key)
	if len(long) <= m.w+4 { // (the dot and the ≠ are 3 bytes, 1 cell)
		return long
	}
	key = "e: parents"
	if m.expand {
		key = "e: trees"
	}
	return fmt.Sprintf("full bar = %d threads, %s · %s", int(thHi), units.Bytes(uint64(pssHi)), key)
}

// pad right-aligns s in w cells.
func pad(s string, w int) string {
	if len(s) >= w {
		return s
	}
	return strings.Repeat(" ", w-len(s)) + s
}

// kindRank orders rows: the proxy strategies from cheapest to dearest,
// then anything else.
func kindRank(kind string) int {
	switch kind {
	case "shared":
		return 0
	case "thread-per-namespace":
		return 1
	case "blocking-accept":
		return 2
	case "process-per-namespace":
		return 3
	}
	return 4
}

// ShortKind abbreviates a proxy strategy for a narrow column.
func ShortKind(kind string) string {
	switch kind {
	case "thread-per-namespace":
		return "thr/ns"
	case "process-per-namespace":
		return "proc/ns"
	case "blocking-accept":
		return "blocking"
	}
	return kind
}
