package ui

import (
	"strings"

	"charm.land/bubbles/v2/help"
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
		{"everywhere", []key.Binding{g.Help, g.Presenter, g.Freeze, g.FreeLab, g.Panels, g.Holders, g.More, g.Back, g.Quit}},
		{"catalog", []key.Binding{c.Up, c.Down, c.Open, c.Clear, c.QuitEmpty, c.HelpEmpty}},
		{"lesson", []key.Binding{l.Run, l.Next, l.Prev, l.Jump, l.Retry, l.Skip, l.Cancel, l.Restart, l.Tab, l.ScrollDown, l.ScrollUp, l.Quit}},
		{"your turn (lesson)", []key.Binding{l.Hint, l.Terminal, l.SkipQuestion, l.Holders}},
		{"panels (lesson)", []key.Binding{l.Threads, l.Trees, l.Sockets, l.More, l.LinkLocal, l.Panels, l.Freeze, l.Presenter, l.FreeLab}},
		{"free lab", []key.Binding{p.Run, p.Complete, p.HistPrev, p.HistNext, p.PageUp, p.PageDown, p.ClearOut}},
	}
}

// helpModel is bubbles' help in the UI's styles: the overlay lays out a
// section's keys and descriptions with it, the footer its one line.
func helpModel(st *common.Styles, w int) help.Model {
	h := help.New()
	h.ShortSeparator = " · "
	h.Styles = help.Styles{
		ShortKey: st.KeyStyle, ShortDesc: st.DescStyle, ShortSeparator: st.Footer, Ellipsis: st.Footer,
		FullKey: st.KeyStyle, FullDesc: st.DescStyle, FullSeparator: st.Footer,
	}
	h.SetWidth(w)
	return h
}

// footerHelp is the one-line list of a screen's keys, as many as fit in w
// (then "…"), each description cut to its first words: "quit, no filter"
// reads "quit" there.
func footerHelp(st *common.Styles, bs []key.Binding, w int) string {
	short := make([]key.Binding, 0, len(bs))
	for _, b := range bs {
		h := b.Help()
		short = append(short, key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(h.Key, footerDesc(h.Desc))))
	}
	hm := helpModel(st, w)
	// bubbles stops at the first key that does not fit, with "…", except
	// when no "…" fits either: then it adds the key anyway. Drop keys from
	// the end until the line fits, and say that some were dropped.
	for n := len(short); n > 0; n-- {
		line := hm.ShortHelpView(short[:n])
		lw := ansi.StringWidth(line)
		if lw > w {
			continue
		}
		if n < len(short) && !strings.HasSuffix(line, hm.Ellipsis) && lw+2 <= w {
			line += " " + st.Footer.Render(hm.Ellipsis)
		}
		return panels.Fit(line, w)
	}
	return panels.Fit("", w)
}

// footerDesc shortens a key's description for the one-line footer:
// "quit, no filter" → "quit", "quit (cleans up)" → "quit".
func footerDesc(d string) string {
	if i := strings.IndexAny(d, ",("); i > 0 {
		return strings.TrimSpace(d[:i])
	}
	return d
}

// helpView is the overlay listing every key, in columns that fit w: each
// section a title over bubbles' full help of its keys.
func helpView(st *common.Styles, km KeyMap, w, h int) string {
	secs := km.sections()
	ncol := 3
	if w < 80 {
		ncol = max(1, (w-6)/26)
	}
	colW := min((w-6)/ncol, 36)
	hm := helpModel(st, 0) // no width: each line is cut to its column below
	cols := make([][]string, ncol)
	for i, s := range secs {
		c := i % ncol
		if len(cols[c]) > 0 {
			cols[c] = append(cols[c], "")
		}
		cols[c] = append(cols[c], st.Title.Render(s.title))
		cols[c] = append(cols[c], strings.Split(hm.FullHelpView([][]key.Binding{s.keys}), "\n")...)
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
