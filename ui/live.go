package ui

import (
	"fmt"
	"strings"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/panels"
)

// Live holds the four live panels and lays them out in whatever space the
// screen gives it. It is fed snapshots by the root model; while frozen it
// keeps showing the last one.
type Live struct {
	c      *common.Common
	matrix panels.NSMatrix
	socks  panels.Sockets
	stats  panels.Stats
	topo   panels.Topology
	snap   *panels.Snapshot
	err    string

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
		c:      c,
		matrix: panels.NewNSMatrix(c.Styles),
		socks:  panels.NewSockets(c.Styles),
		stats:  panels.NewStats(c.Styles),
		topo:   panels.NewTopology(c.Styles),
	}
}

// SetStyles passes a new theme to every panel.
func (m *Live) SetStyles(st *common.Styles) {
	m.gen++
	m.matrix.SetStyles(st)
	m.socks.SetStyles(st)
	m.stats.SetStyles(st)
	m.topo.SetStyles(st)
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
}

// ToggleThreads expands the matrix to threads.
func (m *Live) ToggleThreads() { m.matrix.ToggleThreads(); m.gen++ }

// NextProcess shows the next process in the sockets panel.
func (m *Live) NextProcess() { m.socks.Next(); m.gen++ }

// Headline is the sockets panel's summary, for a one-line status.
func (m Live) Headline() string { return m.socks.Headline() }

type panelBox struct {
	title string
	view  func(w, h int) string
	want  int // preferred inner height
}

// View lays the panels out in w x h: a 2x2 grid when wide enough, else a
// column; panels that do not fit are left out, most important first.
func (m *Live) View(w, h int) string { return m.Page(w, h, 0) }

// Page is View for narrow screens that page through the panels: page 0
// starts with the matrix, page 1 with the sockets.
func (m *Live) Page(w, h, page int) string {
	k := liveKey{m.gen, w, h, page, m.c.Frozen, m.c.Styles}
	if k == m.cacheKey && m.cacheView != "" {
		return m.cacheView
	}
	m.cacheKey, m.cacheView = k, m.draw(w, h, page)
	return m.cacheView
}

func (m *Live) draw(w, h, page int) string {
	st := m.c.Styles
	nprocs := 0
	if m.snap != nil {
		nprocs = len(m.snap.Procs)
	}
	threads := ""
	if m.matrix.Expanded() {
		threads = " · threads"
	}
	sockTitle := "sockets by namespace"
	if sel := m.socks.Selected(); sel != "" {
		sockTitle += " · " + sel
	}
	frozen := ""
	if m.c.Frozen {
		frozen = " " + common.SymFrozen + " frozen"
	}
	grid := w >= 150 && h >= 20
	statsW := w - 4 // inside the frame
	if grid {
		statsW = w - w/2 - 4
	}
	// Expanded to threads, the matrix may take up to half the height.
	matrixH := min(m.matrix.Want()+1, max(nprocs+3, h/2))
	boxes := []panelBox{
		{"namespaces" + threads + frozen, func(w, h int) string { m.matrix.SetSize(w, h); return m.matrix.View() }, matrixH},
		{"threads & RSS" + frozen, func(w, h int) string { m.stats.SetSize(w, h); return m.stats.View() }, m.stats.Want(statsW)},
		{sockTitle + frozen, func(w, h int) string { m.socks.SetSize(w, h); return m.socks.View() }, 8},
		{"topology" + frozen, func(w, h int) string { m.topo.SetSize(w, h); return m.topo.View() }, 9},
	}
	var errLine string
	if m.err != "" {
		errLine = st.Warn.Render(panels.Fit("⚠ probe: "+m.err, w))
		h--
	}
	var out string
	switch {
	case grid:
		out = m.grid(boxes, w, h)
	case page > 0:
		out = m.column(boxes[2:], w, h)
	default:
		out = m.column(boxes, w, h)
	}
	if errLine != "" {
		out = errLine + "\n" + out
	}
	return out
}

func (m *Live) frame(b panelBox, w, h int) string {
	st := m.c.Styles
	return panels.Frame(st.Panel, st.PanelTitle, b.title, b.view(w-4, h-2), w, h)
}

// column stacks the panels, each at its preferred height while room lasts;
// the last one shown takes what is left.
func (m *Live) column(boxes []panelBox, w, h int) string {
	var parts []string
	left := h
	for i, b := range boxes {
		if left < 4 {
			break
		}
		bh := min(b.want+2, left)
		if i == len(boxes)-1 || left-bh < 4 {
			bh = left
		}
		parts = append(parts, m.frame(b, w, bh))
		left -= bh
	}
	if len(parts) == 0 {
		return panels.FitBlock(m.c.Styles.Subtle.Render(fmt.Sprintf("(%dx%d is too small for the panels)", w, h)), w, h)
	}
	return panels.PadLines(strings.Join(parts, "\n"), w, h)
}

// grid puts matrix and stats on top, sockets and topology below.
func (m *Live) grid(boxes []panelBox, w, h int) string {
	lw := w / 2
	rw := w - lw
	top := min(max(boxes[0].want, boxes[1].want)+2, h/2)
	bot := h - top
	row1 := panels.JoinExact(top, m.frame(boxes[0], lw, top), m.frame(boxes[1], rw, top))
	row2 := panels.JoinExact(bot, m.frame(boxes[2], lw, bot), m.frame(boxes[3], rw, bot))
	return row1 + "\n" + row2
}
