package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/panels"
)

// openLessonMsg asks the root to open a scenario.
type openLessonMsg struct{ id string }

// Catalog lists the scenarios: progress mark, title, level, minutes and
// tags; typing filters; unavailable ones are greyed with the reason.
type Catalog struct {
	c        *common.Common
	keys     CatalogKeys
	all      []Scenario
	shown    []int // indexes into all, after the filter
	filter   string
	cursor   int
	offset   int
	progress *Progress
	status   string
}

// NewCatalog returns an empty catalog.
func NewCatalog(c *common.Common, keys CatalogKeys, p *Progress) Catalog {
	return Catalog{c: c, keys: keys, progress: p}
}

// SetScenarios replaces the list, keeping the selection where it can.
func (m *Catalog) SetScenarios(s []Scenario) {
	sel := m.Selected()
	m.all = s
	m.applyFilter()
	for i, idx := range m.shown {
		if sel != nil && m.all[idx].ID == sel.ID {
			m.cursor = i
		}
	}
}

// Selected is the scenario under the cursor, or nil.
func (m Catalog) Selected() *Scenario {
	if m.cursor < 0 || m.cursor >= len(m.shown) {
		return nil
	}
	return &m.all[m.shown[m.cursor]]
}

// Filter is what the learner has typed.
func (m Catalog) Filter() string { return m.filter }

func (m *Catalog) applyFilter() {
	m.shown = m.shown[:0]
	words := strings.Fields(strings.ToLower(m.filter))
	for i, s := range m.all {
		hay := strings.ToLower(s.ID + " " + s.Title + " " + s.Summary + " " + s.Level + " " + strings.Join(s.Tags, " "))
		ok := true
		for _, w := range words {
			if !strings.Contains(hay, w) {
				ok = false
				break
			}
		}
		if ok {
			m.shown = append(m.shown, i)
		}
	}
	m.cursor = min(max(m.cursor, 0), max(len(m.shown)-1, 0))
}

// listHeight is the number of rows the list may use.
func (m Catalog) listHeight() int { return max(m.c.Height-8, 1) }

func (m *Catalog) move(d int) {
	m.cursor = min(max(m.cursor+d, 0), max(len(m.shown)-1, 0))
	h := m.listHeight()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+h {
		m.offset = m.cursor - h + 1
	}
}

// Update handles keys and clicks. Printable keys edit the filter.
func (m Catalog) Update(msg tea.Msg) (Catalog, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		m.status = ""
		switch {
		case key.Matches(msg, m.keys.Up):
			m.move(-1)
		case key.Matches(msg, m.keys.Down):
			m.move(1)
		case key.Matches(msg, m.keys.PageUp):
			m.move(-m.listHeight())
		case key.Matches(msg, m.keys.PageDown):
			m.move(m.listHeight())
		case key.Matches(msg, m.keys.Open):
			return m, m.open()
		case msg.String() == "backspace":
			if r := []rune(m.filter); len(r) > 0 {
				m.filter = string(r[:len(r)-1])
				m.applyFilter()
				m.move(0)
			}
		case key.Matches(msg, m.keys.Clear):
			m.filter = ""
			m.applyFilter()
			m.move(0)
		default:
			if t := msg.Key().Text; t != "" && msg.Mod&^tea.ModShift == 0 {
				m.filter += t
				m.applyFilter()
				m.offset = 0
				m.move(0)
			}
		}
	case tea.MouseClickMsg:
		row := msg.Mouse().Y - 3 // header, filter line and column titles
		if row >= 0 && row < m.listHeight() && m.offset+row < len(m.shown) {
			if m.cursor == m.offset+row {
				return m, m.open()
			}
			m.cursor = m.offset + row
		}
	case tea.MouseWheelMsg:
		if msg.Mouse().Button == tea.MouseWheelUp {
			m.move(-1)
		} else {
			m.move(1)
		}
	}
	return m, nil
}

func (m *Catalog) open() tea.Cmd {
	s := m.Selected()
	if s == nil {
		return nil
	}
	if s.Unavailable != "" {
		m.status = fmt.Sprintf("%s %s cannot run here: %s", common.SymNA, s.ID, s.Unavailable)
		return nil
	}
	id := s.ID
	return func() tea.Msg { return openLessonMsg{id} }
}

// View draws the filter line, the list and the selected scenario's details.
func (m Catalog) View() string {
	st := m.c.Styles
	w := m.c.Width
	var b strings.Builder
	filter := st.Prompt.Render("filter › ") + st.Text.Render(m.filter) + st.Cursor.Render("▏")
	count := st.Subtle.Render(fmt.Sprintf("%d of %d", len(m.shown), len(m.all)))
	if m.filter == "" {
		count = st.Subtle.Render(fmt.Sprintf("type to filter · %d scenarios", len(m.all)))
	}
	b.WriteString(panels.Fit(filter+"  "+count, w) + "\n")

	// The title column is as wide as the longest title (and a gap) and
	// the tags take the rest, when the terminal is wide enough for them.
	showTags := w >= 100
	levelW, minW, tagW := 13, 6, 0
	titleW := max(w-4-levelW-minW, 10)
	if showTags {
		longest := 0
		for _, s := range m.all {
			longest = max(longest, ansi.StringWidth(rowTitle(s)))
		}
		titleW = max(min(longest+2, titleW-20), 10)
		tagW = w - 4 - levelW - minW - titleW
	}
	head := "  " + panels.Fit("scenario", titleW) + panels.Fit("level", levelW) + panels.Fit("time", minW)
	if showTags {
		head += panels.Fit("tags", tagW)
	}
	b.WriteString(st.Bold.Render(panels.Fit(head, w)) + "\n")
	h := m.listHeight()
	for row := 0; row < h; row++ {
		i := m.offset + row
		if i >= len(m.shown) {
			switch {
			case row > 0:
			case len(m.all) == 0:
				b.WriteString(st.Subtle.Render(panels.Fit("  no scenarios in the catalog — F4 opens the free lab", w)))
			case len(m.shown) == 0:
				b.WriteString(st.Subtle.Render(panels.Fit("  nothing matches “"+m.filter+"” — esc clears the filter", w)))
			}
			b.WriteString("\n")
			continue
		}
		b.WriteString(m.row(m.all[m.shown[i]], i == m.cursor, titleW, levelW, minW, tagW) + "\n")
	}
	b.WriteString(m.details())
	return panels.FitBlock(b.String(), w, m.c.Height)
}

func (m Catalog) mark(s Scenario) string {
	st := m.c.Styles
	if s.Unavailable != "" {
		return st.Greyed.Render(common.SymNA)
	}
	switch m.progress.Mark(s.ID) {
	case "done":
		return st.OK.Render(common.SymDone)
	case "partial":
		return st.Warn.Render(common.SymPartial)
	}
	return st.Subtle.Render(common.SymTodo)
}

// rowTitle is how a scenario is named in the list.
func rowTitle(s Scenario) string {
	title := s.Title
	if title == "" {
		title = s.ID
	}
	title += " (" + s.ID + ")"
	if s.Unavailable != "" {
		title += " — unavailable"
	}
	return title
}

func (m Catalog) row(s Scenario, sel bool, titleW, levelW, minW, tagW int) string {
	st := m.c.Styles
	text := panels.Fit(rowTitle(s), titleW-1) + " " + panels.Fit(s.Level, levelW) + panels.Fit(fmt.Sprintf("%dm", s.Minutes), minW)
	if tagW > 0 {
		text += panels.Fit(strings.Join(s.Tags, " "), tagW)
	}
	cur := "  "
	if sel {
		cur = st.Cursor.Render(common.SymCursor) + " "
	}
	style := st.Text
	switch {
	case s.Unavailable != "":
		style = st.Greyed
	case sel:
		style = st.Selected
	}
	return cur + m.mark(s) + " " + style.Render(panels.Fit(text, m.c.Width-4))
}

// details shows the selected scenario's summary, progress and, if it
// cannot run here, why.
func (m Catalog) details() string {
	st := m.c.Styles
	w := m.c.Width
	s := m.Selected()
	lines := []string{st.Subtle.Render(strings.Repeat("─", w))}
	if s != nil {
		lines = append(lines, st.Title.Render(panels.Fit(s.Title, w)))
		lines = append(lines, panels.Fit(st.Text.Render(s.Summary), w))
		info := fmt.Sprintf("%d steps · %s · %d min · %s", len(s.Steps), s.Level, s.Minutes, strings.Join(s.Tags, ", "))
		if lp := m.progress.Scenarios[s.ID]; lp != nil && !lp.Done && lp.Step > 0 {
			info += fmt.Sprintf(" · resumes at step %d", lp.Step+1)
		} else if lp != nil && lp.Done {
			info += " · " + common.SymDone + " done"
		}
		lines = append(lines, st.Subtle.Render(panels.Fit(info, w)))
		if s.Unavailable != "" {
			lines = append(lines, st.Warn.Render(panels.Fit(common.SymNA+" unavailable here: "+s.Unavailable, w)))
		}
	}
	if m.status != "" {
		lines = append(lines, st.Warn.Render(panels.Fit(m.status, w)))
	}
	return strings.Join(lines, "\n")
}
