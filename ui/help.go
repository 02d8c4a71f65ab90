package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/panels"
)

// helpSection is one titled group of the help overlay.
type helpSection struct {
	title string
	keys  []key.Binding
}

func (k KeyMap) sections() []helpSection {
	g, c, l, p := k.Global, k.Catalog, k.Lesson, k.Prompt
	return []helpSection{
		{"everywhere", []key.Binding{g.Help, g.Presenter, g.Freeze, g.FreeLab, g.Panels, g.More, g.Back, g.Quit}},
		{"catalog", []key.Binding{c.Up, c.Down, c.Open, c.Clear, c.QuitEmpty, c.HelpEmpty}},
		{"lesson", []key.Binding{l.Run, l.Next, l.Prev, l.Jump, l.Retry, l.Skip, l.Cancel, l.Restart, l.Tab, l.ScrollDown, l.ScrollUp, l.Quit}},
		{"panels (lesson)", []key.Binding{l.Threads, l.Trees, l.Sockets, l.More, l.LinkLocal, l.Panels, l.Freeze, l.Presenter, l.FreeLab}},
		{"free lab", []key.Binding{p.Run, p.Complete, p.HistPrev, p.HistNext, p.PageUp, p.PageDown, p.ClearOut}},
	}
}

// helpView is the overlay listing every key, in columns that fit w.
func helpView(st *common.Styles, km KeyMap, w, h int) string {
	secs := km.sections()
	ncol := 3
	if w < 80 {
		ncol = max(1, (w-6)/26)
	}
	colW := min((w-6)/ncol, 36)
	cols := make([][]string, ncol)
	for i, s := range secs {
		c := i % ncol
		if len(cols[c]) > 0 {
			cols[c] = append(cols[c], "")
		}
		cols[c] = append(cols[c], st.Title.Render(s.title))
		for _, b := range s.keys {
			hp := b.Help()
			cols[c] = append(cols[c], panels.Fit(st.KeyStyle.Render(hp.Key), 7)+st.DescStyle.Render(hp.Desc))
		}
	}
	rows := 0
	for _, c := range cols {
		rows = max(rows, len(c))
	}
	var lines []string
	lines = append(lines, st.Bold.Render("nslab — keys")+st.Subtle.Render("   (esc, ? or F1 closes)"))
	for r := 0; r < rows; r++ {
		var line strings.Builder
		for _, c := range cols {
			cell := ""
			if r < len(c) {
				cell = c[r]
			}
			line.WriteString(panels.Fit(cell, colW-1) + " ")
		}
		lines = append(lines, line.String())
	}
	syms := common.SymOK + " passed  " + common.SymFail + " failed  " + common.SymWait + " waiting  " +
		common.SymDone + " done  " + common.SymPartial + " in progress  " + common.SymNA + " unavailable  " + common.SymDiff + " differs from PID 1"
	lines = append(lines, "")
	for _, l := range strings.Split(ansi.Wordwrap(syms, ncol*colW, ""), "\n") {
		lines = append(lines, st.Subtle.Render(l))
	}
	inner := strings.Join(lines, "\n")
	bw := min(w, ncol*colW+6)
	bh := min(h, len(lines)+2)
	return panels.Frame(st.Overlay, st.Title, "help", inner, bw, bh)
}
