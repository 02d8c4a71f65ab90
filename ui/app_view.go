package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/panels"
)

// minWidth and minHeight are the smallest screen the layout is made for;
// below it the UI says so instead of drawing a broken layout.
const minWidth, minHeight = 40, 10

// View draws header, body and footer; the help overlay replaces the body.
func (m *App) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "nslab"
	return v
}

// Render is the frame as a string (View wraps it; tests compare it).
func (m *App) Render() string {
	w, h := m.width, m.height
	if w == 0 || h == 0 {
		return ""
	}
	st := m.c.Styles
	if w < minWidth || h < minHeight {
		return panels.FitBlock(st.Warn.Render("nslab needs at least 40x10; make the terminal bigger"), w, h)
	}
	bh := h - 2
	var body string
	switch {
	case m.showHelp:
		body = panels.FitBlock(lipgloss.Place(w, bh, lipgloss.Center, lipgloss.Center, helpView(st, m.keys, w, bh)), w, bh)
	case m.screen == scCatalog:
		body = m.catalog.View()
	case m.screen == scLesson:
		body = m.withPanels(m.lesson.View, columnWidth(m.c), bh)
	case m.screen == scFree:
		body = m.withPanels(m.free.View, columnWidth(m.c), bh)
	}
	// Every screen draws exactly w x bh; PadLines only guards the height.
	return m.header(w) + "\n" + panels.PadLines(body, w, bh) + "\n" + m.footer(w)
}

// withPanels draws a screen beside the live panels when the terminal is
// wide; when narrow, the screen alone, or the panels alone after v (and
// the second half of them after v again: a short terminal cannot stack
// all four).
func (m *App) withPanels(screen func(w, h int) string, lw, h int) string {
	w := m.width
	if w < 120 {
		if m.panelPage > 0 {
			return m.live.Page(w, h, m.panelPage-1)
		}
		return screen(w, h)
	}
	// Both sides are exactly their size already: join them line by line
	// rather than measure every line again (the costly part of a frame).
	left := screen(lw, h)
	right := m.live.View(w-lw-1, h)
	gap := strings.TrimSuffix(strings.Repeat(" \n", h), "\n")
	return panels.JoinExact(h, left, gap, right)
}

func (m *App) header(w int) string {
	st := m.c.Styles
	title := "catalog"
	switch {
	case m.showHelp:
		title = "help"
	case m.screen == scLesson:
		title = m.lesson.sc.Title + " (" + m.lesson.sc.ID + ")"
	case m.screen == scFree:
		title = "free lab"
	}
	left := st.Header.Render("nslab") + " " + st.Bold.Render(title)
	var flags []string
	switch m.opt.Mode {
	case "sandbox":
		flags = append(flags, st.Title.Render("▣ sandbox"))
	case "host":
		flags = append(flags, st.Warn.Render("▲ host"))
	}
	if m.c.Frozen {
		flags = append(flags, st.Warn.Render(common.SymFrozen+" panels frozen"))
	}
	if m.c.Presenter {
		flags = append(flags, st.Title.Render("◉ presenter"))
	}
	right := strings.Join(flags, "  ")
	gap := w - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		// The flags matter more than the end of a long title: frozen
		// panels must never look live.
		if rw := ansi.StringWidth(right); rw > 0 && w-rw-1 >= 10 {
			return panels.Fit(left, w-rw-1) + " " + right
		}
		return panels.Fit(left, w)
	}
	return left + strings.Repeat(" ", gap) + right
}

// footer is a status message when there is one, else the screen's keys.
func (m *App) footer(w int) string {
	st := m.c.Styles
	if m.status != "" {
		return st.Warn.Render(panels.Fit(m.status, w))
	}
	var bs []key.Binding
	g := m.keys.Global
	switch {
	case m.showHelp:
		bs = []key.Binding{g.Back}
	case m.screen == scCatalog:
		c := m.keys.Catalog
		bs = []key.Binding{c.Open, c.HelpEmpty, c.QuitEmpty, c.Clear, g.FreeLab, g.Presenter, g.Quit}
	case m.screen == scLesson:
		l := m.keys.Lesson
		bs = []key.Binding{l.Help, l.Quit, g.Back, l.Run, l.Next, l.Prev}
		if m.width < 120 {
			bs = append(bs, l.Panels)
		}
		bs = append(bs, l.Tab, l.Retry, l.Skip, l.Freeze, l.Presenter, l.FreeLab)
	case m.screen == scFree:
		bs = []key.Binding{g.Help, g.Quit, g.Back}
		if m.width < 120 {
			bs = append(bs, g.Panels)
		}
		bs = append(bs, g.Freeze, g.Presenter)
	}
	return footerHelp(st, bs, w)
}
