package panels

import (
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
)

// Sockets shows, for one watched process, how many of its internet sockets
// (TCP, UDP, SCTP, raw: what `expect sockets` counts) live in each network
// namespace, and where its threads are: the picture behind "one process,
// many namespaces, a handful of threads". Its other sockets — the netlink
// handles the lab keeps on each namespace it works in, unix control
// sockets — are counted apart and labelled, so "the count drops to zero"
// is what the panel shows when the check says so.
type Sockets struct {
	st   *common.Styles
	w, h int
	sel  int  // which watched process
	user bool // the learner picked it (else: the one with most sockets)
	page int  // which namespaces, when they do not all fit
	snap *Snapshot
	sum  []socketSummary // one per process, computed in SetData
}

type socketSummary struct {
	label    string
	pid      int
	total    int
	rows     []nsCount // by count, then name
	threads  int
	thNS     map[uint64]int // threads per netns
	hostNet  uint64
	procErr  string
	homeName string
	other    map[string]int // sockets not counted: netlink, unix... by protocol
	children int            // processes of its tree besides itself
}

type nsCount struct {
	name  string
	ino   uint64
	n     int
	proto map[string]int
}

// NewSockets returns an empty sockets panel.
func NewSockets(st *common.Styles) Sockets { return Sockets{st: st} }

// SetStyles changes the theme.
func (m *Sockets) SetStyles(st *common.Styles) { m.st = st }

// SetSize sets the inner size.
func (m *Sockets) SetSize(w, h int) { m.w, m.h = w, h }

// Next shows the next watched process.
func (m *Sockets) Next() {
	if len(m.sum) > 0 {
		m.sel = (m.sel + 1) % len(m.sum)
		m.user = true
	}
}

// More shows the next page of namespaces, when they do not all fit.
func (m *Sockets) More() { m.page++ }

// Selected is the label of the process shown.
func (m Sockets) Selected() string {
	if m.sel < len(m.sum) {
		return m.sum[m.sel].label
	}
	return ""
}

// SetData groups each process's sockets by namespace. It is the costly
// half of the panel (O(sockets)); View only prints the rows that fit.
func (m *Sockets) SetData(s *Snapshot) {
	m.snap = s
	m.sum = m.sum[:0]
	for _, p := range s.Procs {
		sm := socketSummary{label: p.Label, pid: p.PID, total: len(p.Sockets), threads: p.NumThreads, procErr: p.Err, hostNet: s.Init["net"]}
		if sm.threads == 0 {
			sm.threads = len(p.Threads)
		}
		sm.homeName = s.Name("net", p.NS["net"])
		if p.Tree != nil {
			sm.children = p.Tree.Total.Processes - 1
		}
		idx := map[uint64]int{}
		sm.total = 0
		for _, so := range p.Sockets {
			if !IsInet(so.Proto) {
				if sm.other == nil {
					sm.other = map[string]int{}
				}
				sm.other[so.Proto]++
				continue
			}
			sm.total++
			i, ok := idx[so.NetNS]
			if !ok {
				i = len(sm.rows)
				idx[so.NetNS] = i
				sm.rows = append(sm.rows, nsCount{ino: so.NetNS, name: s.Name("net", so.NetNS), proto: map[string]int{}})
			}
			sm.rows[i].n++
			sm.rows[i].proto[so.Proto]++
		}
		sort.Slice(sm.rows, func(i, j int) bool {
			if sm.rows[i].n != sm.rows[j].n {
				return sm.rows[i].n > sm.rows[j].n
			}
			return NaturalLess(sm.rows[i].name, sm.rows[j].name)
		})
		sm.thNS = map[uint64]int{}
		for _, th := range p.Threads {
			sm.thNS[th.NetNS]++
		}
		m.sum = append(m.sum, sm)
	}
	if m.sel >= len(m.sum) {
		m.sel = 0
	}
	if !m.user {
		for i, sm := range m.sum {
			if sm.total > m.sum[m.sel].total {
				m.sel = i
			}
		}
	}
}

// Headline is the one-line summary: "212 internet sockets in 100
// namespaces, all 6 threads in host".
func (m Sockets) Headline() string {
	if m.sel >= len(m.sum) {
		return ""
	}
	return m.sum[m.sel].headline(m.snap)
}

func (sm socketSummary) headline(s *Snapshot) string {
	sock := plural(sm.total, "internet socket")
	ns := plural(len(sm.rows), "namespace")
	var th string
	switch len(sm.thNS) {
	case 0:
		th = plural(sm.threads, "thread")
	case 1:
		for ino := range sm.thNS {
			th = fmt.Sprintf("all %s in %s", plural(sm.threads, "thread"), s.Name("net", ino))
		}
	default:
		th = fmt.Sprintf("%s in %d namespaces", plural(sm.threads, "thread"), len(sm.thNS))
	}
	return fmt.Sprintf("%s in %s, %s", sock, ns, th)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// View draws the panel.
func (m Sockets) View() string {
	if m.snap == nil {
		return m.st.Subtle.Render("waiting for the first snapshot…")
	}
	if len(m.sum) == 0 {
		return m.st.Subtle.Render("no process watched")
	}
	sm := m.sum[m.sel]
	var b strings.Builder
	who := fmt.Sprintf("%s %d", sm.label, sm.pid)
	if len(m.sum) > 1 {
		who += fmt.Sprintf("  (%d/%d, w: next)", m.sel+1, len(m.sum))
	}
	b.WriteString(m.st.Bold.Render(who))
	head := sm.headline(m.snap)
	if m.w > 0 {
		head = ansi.Wordwrap(head, m.w, "")
	}
	b.WriteString("\n" + m.st.Text.Render(head))
	lines := 2 + strings.Count(head, "\n")
	if len(sm.thNS) > 1 {
		b.WriteString("\n" + m.st.Warn.Render(common.SymDiff+" threads are not all in one namespace:"))
		lines++
		inos := make([]uint64, 0, len(sm.thNS))
		for ino := range sm.thNS {
			inos = append(inos, ino)
		}
		sort.Slice(inos, func(i, j int) bool { return inos[i] < inos[j] })
		for _, ino := range inos {
			b.WriteString(fmt.Sprintf("\n  %s %s", m.st.Diff.Render(m.snap.Name("net", ino)), plural(sm.thNS[ino], "thread")))
			lines++
		}
	}
	if sm.procErr != "" {
		b.WriteString("\n" + m.st.Fail.Render(common.SymFail+" "+sm.procErr))
		lines++
	}
	var notes []string
	if sm.children > 0 {
		notes = append(notes, fmt.Sprintf("this process only: its %s hold their own", plural(sm.children, "child process")))
	}
	if len(sm.other) > 0 {
		who := "its"
		if sm.label == "self" {
			who = "the lab's own"
		}
		notes = append(notes, fmt.Sprintf("not counted: %s control sockets (%s)", who, countList(sm.other)))
	}
	for _, n := range notes {
		if m.w > 0 {
			n = ansi.Wordwrap(n, m.w, "")
		}
		b.WriteString("\n" + m.st.Subtle.Render(n))
		lines += 1 + strings.Count(n, "\n")
	}
	room := m.h - lines
	if m.h <= 0 {
		room = len(sm.rows)
	}
	rows := sm.rows
	hidden := 0
	if room < len(rows) { // a page of them, and a line that says so
		per := max(room-1, 1)
		pages := (len(rows) + per - 1) / per
		start := (m.page % pages) * per
		rows = rows[start:min(start+per, len(rows))]
		hidden = len(sm.rows) - len(rows)
	}
	protoW := 3
	for _, r := range rows {
		protoW = max(protoW, len(protoList(r.proto)))
	}
	nameW := max(m.w-9-protoW, 8)
	for _, r := range rows {
		style := m.st.Text
		if r.ino != sm.hostNet {
			style = m.st.Code
		}
		b.WriteString("\n  " + Fit(style.Render(r.name), nameW) + fmt.Sprintf("%5d  %s", r.n, protoList(r.proto)))
	}
	if hidden > 0 {
		b.WriteString("\n" + m.st.Warn.Render(Fit(fmt.Sprintf("+%d more namespaces · m: next page", hidden), m.w)))
	}
	return b.String()
}

func protoList(p map[string]int) string {
	if len(p) == 1 {
		for k := range p {
			return k
		}
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, p[k]))
	}
	return strings.Join(parts, " ")
}

// IsInet reports whether a protocol (as lab/probe names it) is an internet
// socket: what the learner's `listen` and `connect` make, and what
// `expect sockets` counts. Netlink and unix sockets are the lab's plumbing.
func IsInet(proto string) bool {
	for _, p := range []string{"tcp", "udp", "sctp", "mptcp", "raw", "icmp"} {
		if strings.HasPrefix(proto, p) {
			return true
		}
	}
	return false
}

// countList is "301 netlink, 3 unix": every protocol with its count.
func countList(p map[string]int) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", p[k], k)
	}
	return strings.Join(parts, ", ")
}
