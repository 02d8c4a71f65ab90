package ui

import (
	"fmt"
	"strings"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/panels"
)

// Live holds the live panels and lays them out in whatever space the
// screen gives it. It is fed snapshots by the root model; while frozen it
// keeps showing the last one.
type Live struct {
	c       *common.Common
	matrix  panels.NSMatrix
	socks   panels.Sockets
	stats   panels.Stats
	topo    panels.Topology
	results panels.ResultsView
	snap    *panels.Snapshot
	err     string

	// The panels change only when their data or layout does: the last
	// drawing is kept and reused until then (View runs after every message).
	gen       int
	cacheKey  liveKey
	cacheView string
}

type liveKey struct {
	gen, w, h, page int
	frozen          bool
	styles          *common.Styles
}

// NewLive returns the panels, empty until the first snapshot.
func NewLive(c *common.Common) Live {
	return Live{
		c:       c,
		matrix:  panels.NewNSMatrix(c.Styles),
		socks:   panels.NewSockets(c.Styles),
		stats:   panels.NewStats(c.Styles),
		topo:    panels.NewTopology(c.Styles),
		results: panels.NewResults(c.Styles),
	}
}

// SetStyles passes a new theme to every panel.
func (m *Live) SetStyles(st *common.Styles) {
	m.gen++
	m.matrix.SetStyles(st)
	m.socks.SetStyles(st)
	m.stats.SetStyles(st)
	m.topo.SetStyles(st)
	m.results.SetStyles(st)
}

// SetSnapshot feeds a snapshot to every panel: the snapshot-to-panel path.
func (m *Live) SetSnapshot(s *panels.Snapshot, err error) {
	m.gen++
	if err != nil {
		m.err = err.Error()
		return
	}
	m.err = s.Err
	m.snap = s
	m.matrix.SetData(s)
	m.socks.SetData(s)
	m.stats.Push(s)
	m.topo.SetData(s)
	m.results.SetData(s)
}

// ToggleThreads expands the matrix to threads.
func (m *Live) ToggleThreads() { m.matrix.ToggleThreads(); m.gen++ }

// ToggleTrees shows each process tree's parent alone under it.
func (m *Live) ToggleTrees() { m.stats.ToggleExpand(); m.gen++ }

// ToggleLinkLocal shows or hides fe80:: addresses in the topology.
func (m *Live) ToggleLinkLocal() { m.topo.ToggleLinkLocal(); m.gen++ }

// More shows the next page of every panel whose rows do not all fit.
func (m *Live) More() {
	m.matrix.More()
	m.stats.More()
	m.socks.More()
	m.topo.More()
	m.gen++
}

// NextProcess shows the next process in the sockets panel.
func (m *Live) NextProcess() { m.socks.Next(); m.gen++ }

// Headline is the sockets panel's summary, for a one-line status.
func (m Live) Headline() string { return m.socks.Headline() }

type panelBox struct {
	title string
	view  func(w, h int) string
	want  func(w int) int // preferred inner height at inner width w
}

// gridMin is the smallest area laid out as a grid of two columns.
const gridMinW, gridMinH = 110, 24

// boxes are the panels in the order they matter: the matrix and the
// process trees, the results of a comparison once there are some, then
// sockets and topology.
func (m *Live) boxes() []panelBox {
	st := m.c.Styles
	frozen := ""
	if m.c.Frozen {
		frozen = " " + common.SymFrozen + " frozen"
	}
	threads := ""
	if m.matrix.Expanded() {
		threads = " · threads"
	}
	sockTitle := "sockets by namespace"
	if sel := m.socks.Selected(); sel != "" {
		sockTitle += " · " + sel
	}
	_ = st
	out := []panelBox{
		{"namespaces" + threads + frozen, func(w, h int) string { m.matrix.SetSize(w, h); return m.matrix.View() },
			func(w int) int {
				want := m.matrix.Want(w)
				if m.matrix.Expanded() { // threads may take up to half the screen
					want = min(want, max(m.c.Height/2, 8))
				}
				return want
			}},
		{"threads & memory · process trees" + frozen, func(w, h int) string { m.stats.SetSize(w, h); return m.stats.View() },
			func(w int) int { return m.stats.Want(w) }},
	}
	if m.results.Has() {
		title := "results"
		if m.snap != nil && m.snap.Results != nil && m.snap.Results.Command != "" {
			title += " · " + m.snap.Results.Command
		}
		out = append(out, panelBox{title + frozen, func(w, h int) string { m.results.SetSize(w, h); return m.results.View() },
			func(w int) int { return m.results.Want(w) }})
	}
	return append(out,
		panelBox{sockTitle + frozen, func(w, h int) string { m.socks.SetSize(w, h); return m.socks.View() },
			func(int) int { return 8 }},
		panelBox{"topology" + frozen, func(w, h int) string { m.topo.SetSize(w, h); return m.topo.View() },
			func(int) int { return 9 }},
	)
}

// View lays the panels out in w x h: a grid when the area is large, else
// as many as fit in a column.
func (m *Live) View(w, h int) string { return m.Page(w, h, 0) }

// Pages is how many pages the panels take at w x h: 1 in a grid; in a
// column, as many as it takes to show every panel.
func (m *Live) Pages(w, h int) int {
	if w >= gridMinW && h >= gridMinH {
		return 1
	}
	n := 0
	boxes := m.boxes()
	for start := 0; start < len(boxes); n++ {
		k := m.fits(boxes[start:], w, m.bodyH(h))
		if k == 0 {
			return max(n, 1)
		}
		start += k
	}
	return max(n, 1)
}

// Page draws page p (modulo Pages) of the panels in w x h.
func (m *Live) Page(w, h, page int) string {
	k := liveKey{m.gen, w, h, page, m.c.Frozen, m.c.Styles}
	if k == m.cacheKey && m.cacheView != "" {
		return m.cacheView
	}
	m.cacheKey, m.cacheView = k, m.draw(w, h, page)
	return m.cacheView
}

// bodyH is the height left for panels under the probe's error line.
func (m *Live) bodyH(h int) int {
	if m.err != "" {
		return h - 1
	}
	return h
}

func (m *Live) draw(w, h, page int) string {
	st := m.c.Styles
	boxes := m.boxes()
	bh := m.bodyH(h)
	var out string
	if w >= gridMinW && bh >= gridMinH {
		out = m.grid(boxes, w, bh)
	} else {
		pages := m.Pages(w, h)
		start := 0
		for p := 0; p < page%pages; p++ {
			start += max(m.fits(boxes[start:], w, bh), 1)
		}
		start = min(start, len(boxes)-1)
		out = m.column(boxes[start:], w, bh, pages > 1)
	}
	if m.err != "" {
		out = st.Warn.Render(panels.Fit("⚠ probe: "+m.err, w)) + "\n" + out
	}
	return out
}

func (m *Live) frame(b panelBox, w, h int) string {
	st := m.c.Styles
	return panels.Frame(st.Panel, st.PanelTitle, b.title, b.view(w-4, h-2), w, h)
}

// minPanelH is the smallest panel worth drawing: a border and two lines.
// minPagedH is the least the last panel of a page is given when it cannot
// have all it wants: enough to show some rows and its own "+N more".
const minPanelH, minPagedH = 4, 8

// heights gives each box its preferred height while room lasts; the last
// one shown takes what is left. A box that would be cut short waits for
// the next page (unless it is the first, or the last box of all: a
// panel's own "+N more" then says what it left out). It returns the
// heights of the boxes shown.
func (m *Live) heights(boxes []panelBox, w, h int) []int {
	var out []int
	left := h
	for i, b := range boxes {
		want := max(b.want(w-4), 1) + 2
		if left < minPanelH || (i > 0 && want > left && (i < len(boxes)-1 || left < minPagedH)) {
			break // cut short, it would hide its rows: it goes on the next page
		}
		bh := min(want, left)
		if i == len(boxes)-1 || left-bh < minPanelH {
			bh = left
		}
		out = append(out, bh)
		left -= bh
	}
	return out
}

// fits is how many boxes a column of w x h shows, one line kept for the
// note that names the rest.
func (m *Live) fits(boxes []panelBox, w, h int) int {
	n := len(m.heights(boxes, w, h))
	if n < len(boxes) {
		n = len(m.heights(boxes, w, h-1))
	}
	return n
}

// column stacks the boxes; those that do not fit are named on the last
// line, with the key that shows them.
func (m *Live) column(boxes []panelBox, w, h int, paged bool) string {
	hs := m.heights(boxes, w, h)
	if len(hs) < len(boxes) {
		hs = m.heights(boxes, w, h-1)
	}
	if len(hs) == 0 {
		return panels.FitBlock(m.c.Styles.Subtle.Render(fmt.Sprintf("(%dx%d is too small for the panels)", w, h)), w, h)
	}
	var parts []string
	for i, bh := range hs {
		parts = append(parts, m.frame(boxes[i], w, bh))
	}
	if rest := boxes[len(hs):]; len(rest) > 0 {
		var names []string
		for _, b := range rest {
			title, _, _ := strings.Cut(b.title, " · ")
			names = append(names, strings.TrimSuffix(title, " "+common.SymFrozen+" frozen"))
		}
		parts = append(parts, m.c.Styles.Warn.Render(panels.Fit(fmt.Sprintf("+%d more: %s · v: next panels", len(rest), strings.Join(names, ", ")), w)))
	} else if paged {
		parts = append(parts, m.c.Styles.Subtle.Render(panels.Fit("v: back to the first panels", w)))
	}
	return panels.PadLines(strings.Join(parts, "\n"), w, h)
}

// grid puts the namespaces and sockets on the left, the process trees,
// the results and the topology on the right, each column stacked.
func (m *Live) grid(boxes []panelBox, w, h int) string {
	lw := w / 2
	rw := w - lw
	var left, right []panelBox
	for i, b := range boxes {
		switch {
		case i == 0 || strings.HasPrefix(b.title, "sockets"):
			left = append(left, b)
		default:
			right = append(right, b)
		}
	}
	return panels.JoinExact(h, m.column(left, lw, h, false), m.column(right, rw, h, false))
}
