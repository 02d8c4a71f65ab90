package panels

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nslab/nslab/internal/units"
	"github.com/nslab/nslab/ui/common"
)

// Results is the table a comparison lesson closes with (`compare`): one
// row per proxy, measured from the live workers (a stopped one from its
// last reading before it stopped).
type Results struct {
	Command string // the line that printed it: compare tss tst tsp
	Taken   time.Time
	Rows    []ResultRow
}

// ResultRow is one proxy's bill.
type ResultRow struct {
	Name, Strategy                   string
	Tenants, Processes, Threads, FDs int
	PSS                              uint64        // bytes, the process tree's
	Bind                             time.Duration // how long its tenants took to bind
	Stopped                          bool          // measured just before it stopped
	Err                              string
}

// ResultsView draws a results table in w x h cells: the widest headers and
// strategy names that fit, then per tenant what the ordering is about.
type ResultsView struct {
	st   *common.Styles
	w, h int
	r    *Results
}

// NewResults returns an empty results panel.
func NewResults(st *common.Styles) ResultsView { return ResultsView{st: st} }

// SetStyles changes the theme.
func (m *ResultsView) SetStyles(st *common.Styles) { m.st = st }

// SetSize sets the inner size.
func (m *ResultsView) SetSize(w, h int) { m.w, m.h = w, h }

// SetData takes the latest table (nil: none yet).
func (m *ResultsView) SetData(s *Snapshot) { m.r = s.Results }

// Has reports whether there is a table to show.
func (m ResultsView) Has() bool { return m.r != nil && len(m.r.Rows) > 0 }

// Want is the height the panel would like at width w.
func (m ResultsView) Want(w int) int {
	if !m.Has() {
		return 0
	}
	return 1 + len(m.r.Rows) + len(m.perTenant(w))
}

// columns are the table's columns, each with a long and a short header.
var resultCols = []struct{ long, short string }{
	{"proxy", "proxy"}, {"strategy", "strategy"}, {"tenants", "ten"}, {"processes", "proc"},
	{"threads", "thr"}, {"PSS", "PSS"}, {"fds", "fds"}, {"bind time", "bind"},
}

func (m ResultsView) cells(short bool) [][]string {
	var out [][]string
	for _, r := range m.r.Rows {
		strat := r.Strategy
		if short {
			strat = ShortKind(strat)
		}
		if r.Err != "" {
			out = append(out, []string{r.Name, strat, "", "", "", "", "", ""})
			continue
		}
		bind := ""
		if r.Bind > 0 {
			bind = FormatDuration(r.Bind)
		}
		out = append(out, []string{r.Name, strat, strconv.Itoa(r.Tenants), strconv.Itoa(r.Processes),
			strconv.Itoa(r.Threads), units.Bytes(r.PSS), strconv.Itoa(r.FDs), bind})
	}
	return out
}

// View draws the table.
func (m ResultsView) View() string {
	if !m.Has() {
		return m.st.Subtle.Render("no comparison yet (`compare PROXY...` makes one)")
	}
	var heads []string
	var cells [][]string
	var widths []int
	for _, v := range []struct{ shortHead, shortKind bool }{{false, false}, {true, false}, {true, true}} {
		heads, cells = nil, m.cells(v.shortKind)
		for _, c := range resultCols {
			if v.shortHead {
				heads = append(heads, c.short)
			} else {
				heads = append(heads, c.long)
			}
		}
		widths = make([]int, len(heads))
		total := 0
		for i, h := range heads {
			widths[i] = len(h)
			for _, row := range cells {
				widths[i] = max(widths[i], len([]rune(row[i])))
			}
			total += widths[i] + 1
		}
		if total-1 <= m.w {
			break
		}
	}
	line := func(cols []string, style func(i int, s string) string) string {
		var b strings.Builder
		for i, c := range cols {
			if i > 0 {
				b.WriteByte(' ')
			}
			if i < 2 {
				c += strings.Repeat(" ", widths[i]-len([]rune(c)))
			} else {
				c = pad(c, widths[i])
			}
			b.WriteString(style(i, c))
		}
		return Fit(b.String(), m.w)
	}
	var b strings.Builder
	b.WriteString(line(heads, func(_ int, s string) string { return m.st.Bold.Render(s) }))
	for i, row := range cells {
		r := m.r.Rows[i]
		l := line(row, func(c int, s string) string {
			if c == 0 {
				return m.st.Bold.Render(s)
			}
			return m.st.Text.Render(s)
		})
		if r.Err != "" {
			l = Fit(line(row[:2], func(_ int, s string) string { return s })+" "+m.st.Fail.Render(common.SymFail+" "+r.Err), m.w)
		} else if r.Stopped {
			l = Fit(strings.TrimRight(l, " ")+m.st.Subtle.Render(" (stopped)"), m.w)
		}
		b.WriteString("\n" + l)
	}
	for _, l := range m.perTenant(m.w) {
		b.WriteString("\n" + m.st.Subtle.Render(Fit(l, m.w)))
	}
	return b.String()
}

// perTenant says what the rows cost per tenant, wrapped at w: where the
// proxies serve different numbers of tenants, that is the fair comparison.
func (m ResultsView) perTenant(w int) []string {
	if !m.Has() {
		return nil
	}
	var th, pss []string
	for _, r := range m.r.Rows {
		if r.Err != "" || r.Tenants == 0 {
			continue
		}
		th = append(th, fmt.Sprintf("%s %s", r.Name, strconv.FormatFloat(float64(r.Threads)/float64(r.Tenants), 'f', 2, 64)))
		pss = append(pss, fmt.Sprintf("%s %s", r.Name, units.Bytes(r.PSS/uint64(r.Tenants))))
	}
	if len(th) == 0 {
		return nil
	}
	text := "per tenant: threads " + strings.Join(th, " · ") + "; PSS " + strings.Join(pss, " · ")
	return wrapWords(text, max(w, 20))
}

// wrapWords breaks text at spaces into lines of at most w cells.
func wrapWords(text string, w int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len([]rune(line))+1+len([]rune(word)) <= w:
			line += " " + word
		default:
			out = append(out, line)
			line = "  " + word
		}
	}
	return append(out, line)
}

// FormatDuration prints a duration as a learner reads it: 850 ms, 2.31 s.
func FormatDuration(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}
