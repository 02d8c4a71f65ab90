package ui

import (
	"fmt"
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
		// Said in full, however small: wrapped to the width, and the
		// numbers first, in case only a line or two show.
		msg := fmt.Sprintf("%dx%d is too small: nslab needs at least %dx%d. Make the terminal bigger (or the font smaller).", w, h, minWidth, minHeight)
		return panels.FitBlock(st.Warn.Render(ansi.Wordwrap(msg, w, "")), w, h)
	}
	bh := h - 2
	var body string
	switch {
	case m.showHelp:
		body = panels.FitBlock(lipgloss.Place(w, bh, lipgloss.Center, lipgloss.Center, helpView(st, m.keys, w, bh)), w, bh)
	case m.showHolders:
		body = m.holders.View(w, bh)
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

// wideMin is the narrowest screen that shows the panels beside the lesson.
const wideMin = 120

// columnWidth is the width of the lesson or prompt column: the whole screen
// when narrow; beside the panels when wide, narrower in presenter mode so
// the panels get the room, and never wider than a comfortable line of
// prose (on a 200-column screen the panels get the rest, as a grid).
func columnWidth(c *common.Common) int {
	if c.Width >= wideMin {
		if c.Presenter {
			return min(c.Width*2/5, 80)
		}
		return min(c.Width*11/20, 88)
	}
	return c.Width
}

// panelArea is the size the live panels get on this screen.
func (m *App) panelArea() (w, h int) {
	h = m.height - 2
	if m.width < wideMin {
		return m.width, h
	}
	return m.width - columnWidth(m.c) - 1, h
}

// nextPanels shows the next page of panels (v): on a narrow screen the
// lesson, then each page of panels in turn; on a wide one, the pages of
// the panels column (one page when they all fit, or in a grid).
func (m *App) nextPanels() {
	w, h := m.panelArea()
	pages := m.live.Pages(w, h)
	if m.width < wideMin {
		m.panelPage = (m.panelPage + 1) % (pages + 1)
		return
	}
	m.panelPage = (m.panelPage + 1) % pages
}

// panelsPaged reports whether v does anything: the panels are a page of
// their own (narrow screens), or more than one page beside the lesson.
func (m *App) panelsPaged() bool {
	if m.width < wideMin {
		return true
	}
	w, h := m.panelArea()
	return m.live.Pages(w, h) > 1
}

// withPanels draws a screen beside the live panels when the terminal is
// wide; when narrow, the screen alone, or a page of panels after v.
func (m *App) withPanels(screen func(w, h int) string, lw, h int) string {
	w := m.width
	if w < wideMin {
		if m.panelPage > 0 {
			return m.live.Page(w, h, m.panelPage-1)
		}
		return screen(w, h)
	}
	// Both sides are exactly their size already: join them line by line
	// rather than measure every line again (the costly part of a frame).
	left := screen(lw, h)
	right := m.live.Page(w-lw-1, h, m.panelPage)
	gap := strings.TrimSuffix(strings.Repeat(" \n", h), "\n")
	return panels.JoinExact(h, left, gap, right)
}

func (m *App) header(w int) string {
	st := m.c.Styles
	title := "catalog"
	switch {
	case m.showHelp:
		title = "help"
	case m.showHolders:
		title = "holders"
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
	if m.confirmQuit {
		return st.Warn.Render(panels.Fit("quit nslab? the lab and everything in it is removed — y: yes, any other key: no", w))
	}
	if m.status != "" {
		return st.Warn.Render(panels.Fit(m.status, w))
	}
	var bs []key.Binding
	g := m.keys.Global
	switch {
	case m.showHelp || m.showHolders:
		bs = []key.Binding{g.Back}
	case m.screen == scCatalog:
		c := m.keys.Catalog
		bs = []key.Binding{c.Open, c.HelpEmpty, c.QuitEmpty, c.Clear, g.FreeLab, g.Presenter, g.Quit}
	case m.screen == scLesson:
		l := m.keys.Lesson
		bs = []key.Binding{l.Help, l.Quit, g.Back, l.Run, l.Next, l.Prev}
		if m.panelsPaged() {
			bs = append(bs, l.Panels)
		}
		bs = append(bs, l.Tab, l.Retry, l.Skip, l.Freeze, l.Presenter, l.FreeLab)
	case m.screen == scFree:
		bs = []key.Binding{g.Help, g.Quit, g.Back}
		if m.panelsPaged() {
			bs = append(bs, g.Panels)
		}
		bs = append(bs, g.Freeze, g.Presenter)
	}
	return footerHelp(st, bs, w)
}
