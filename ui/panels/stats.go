package panels

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nslab/nslab/ui/common"
)

// historyLen is how many samples a sparkline keeps (two minutes at 1 Hz).
const historyLen = 120

// Stats draws threads and RSS over time for each watched process, as
// sparklines with the current value, side by side so that compared proxy
// workers can be read at a glance.
type Stats struct {
	st    *common.Styles
	w, h  int
	order []string
	hist  map[string]*series
}

// series is the history of one process: a fixed ring of samples.
type series struct {
	label   string
	pid     int
	threads ring
	rss     ring
	seen    bool // present in the latest snapshot
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

func (r *ring) cur() float64 {
	if r.n == 0 {
		return 0
	}
	return r.v[(r.next-1+historyLen)%historyLen]
}

// NewStats returns an empty stats panel.
func NewStats(st *common.Styles) Stats { return Stats{st: st, hist: map[string]*series{}} }

// SetStyles changes the theme.
func (m *Stats) SetStyles(st *common.Styles) { m.st = st }

// SetSize sets the inner size.
func (m *Stats) SetSize(w, h int) { m.w, m.h = w, h }

// Push adds one sample per watched process. Processes no longer watched
// are dropped; a restarted one (same label, new PID) starts over.
func (m *Stats) Push(s *Snapshot) {
	for _, se := range m.hist {
		se.seen = false
	}
	m.order = m.order[:0]
	for _, p := range s.Procs {
		key := p.Label + "\x00" + strconv.Itoa(p.PID)
		se := m.hist[key]
		if se == nil {
			se = &series{label: p.Label, pid: p.PID}
			m.hist[key] = se
		}
		se.seen = true
		n := p.NumThreads
		if n == 0 {
			n = len(p.Threads)
		}
		se.threads.push(float64(n))
		se.rss.push(float64(p.RSS))
		m.order = append(m.order, key)
	}
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
	if len(vals) > w {
		vals = vals[len(vals)-w:]
	}
	hi := 0.0
	for _, v := range vals {
		hi = max(hi, v)
	}
	var b strings.Builder
	for i := len(vals); i < w; i++ {
		b.WriteByte(' ')
	}
	for _, v := range vals {
		i := 0
		if hi > 0 {
			i = int(v / hi * float64(len(sparkRunes)-1))
		}
		b.WriteRune(sparkRunes[i])
	}
	return b.String()
}

// shown picks the processes that get a column, in watch order: all when
// they fit, else the watched ones before nslab itself ("self"), whose
// threads are the UI's, so that compared proxies stay side by side.
func (m Stats) shown(ncol int) []string {
	if len(m.order) <= ncol {
		return m.order
	}
	var out, selfs []string
	for _, k := range m.order {
		if m.hist[k].label == "self" {
			selfs = append(selfs, k)
			continue
		}
		out = append(out, k)
	}
	return append(out, selfs...)[:ncol]
}

// columns is how many processes fit side by side in w cells.
func (m Stats) columns(w int) int {
	const minCol = 16 // "threads 1008", "RSS 123.4 MB" and a sparkline
	return max(1, min(len(m.order), (w+1)/(minCol+1)))
}

// Want is the height the panel would like at width w: five rows, and one
// more to say which processes did not fit.
func (m Stats) Want(w int) int {
	if len(m.order) > m.columns(w) {
		return 6
	}
	return 5
}

// View draws one column per process (as many as fit), each with a threads
// and an RSS sparkline and the current values.
func (m Stats) View() string {
	if len(m.order) == 0 {
		return m.st.Subtle.Render("no process watched")
	}
	ncol := m.columns(m.w)
	colW := (m.w - (ncol - 1)) / ncol
	sparkW := max(colW-1, 4)
	var cols [][]string
	for _, k := range m.shown(ncol) {
		se := m.hist[k]
		th := se.threads.cur()
		col := []string{
			Fit(m.st.Bold.Render(fmt.Sprintf("%s %d", se.label, se.pid)), colW),
			Fit(m.st.Subtle.Render("threads ")+m.st.Bold.Render(strconv.Itoa(int(th))), colW),
			Fit(m.st.Spark.Render(Sparkline(se.threads.last(sparkW), sparkW)), colW),
			Fit(m.st.Subtle.Render("RSS ")+m.st.Bold.Render(HumanBytes(uint64(se.rss.cur()))), colW),
			Fit(m.st.SparkAlt.Render(Sparkline(se.rss.last(sparkW), sparkW)), colW),
		}
		cols = append(cols, col)
	}
	var b strings.Builder
	for r := 0; r < 5; r++ {
		if r > 0 {
			b.WriteByte('\n')
		}
		for c := range cols {
			if c > 0 {
				b.WriteString(" ")
			}
			b.WriteString(cols[c][r])
		}
	}
	if len(m.order) > ncol {
		var rest []string
		shown := map[string]bool{}
		for _, k := range m.shown(ncol) {
			shown[k] = true
		}
		for _, k := range m.order {
			if !shown[k] {
				rest = append(rest, m.hist[k].label)
			}
		}
		b.WriteString("\n" + m.st.Subtle.Render(Fit(fmt.Sprintf("+%d more (widen the terminal): %s", len(rest), strings.Join(rest, " ")), m.w)))
	}
	return b.String()
}
