package ui

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/list"
	"charm.land/bubbles/v2/paginator"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/panels"
)

// openLessonMsg asks the root to open a scenario.
type openLessonMsg struct{ id string }

// Catalog is the course: the lessons in teaching order under the titles of
// the course's parts, each with its progress; on a first run, where to
// start. Typing filters, ranking lessons whose id or title matches first;
// unavailable ones are greyed with the reason. The list itself is a
// bubbles list: its pagination, cursor and filtering; the part titles are
// items the cursor steps over, and the filter never returns.
type Catalog struct {
	c        *common.Common
	keys     CatalogKeys
	all      []Scenario
	list     list.Model
	filter   string
	progress *Progress
	status   string
	rows     *catalogRows // what the list's delegate draws rows with
}

// catalogRows is what the delegate needs to draw a row; the catalog sets
// it (the filter as it changes, the widths when it draws) and the
// delegate, which the list holds, reads it.
type catalogRows struct {
	c        *common.Common
	progress *Progress
	filter   string
	title    int // column widths
	level    int
	minutes  int
	doneW    int
	tags     int
}

// catalogItem is a lesson, or the title of a part of the course.
type catalogItem struct {
	s    *Scenario // nil for a part's title
	part string
}

// FilterValue is what rankFilter reads: id, title and the rest, apart. A
// part's title is never matched.
func (i catalogItem) FilterValue() string {
	if i.s == nil {
		return ""
	}
	s := i.s
	return strings.ToLower(s.ID + "\x00" + s.Title + "\x00" + s.Summary + " " + s.Level + " " + strings.Join(s.Tags, " ") + " " + s.Group)
}

// NewCatalog returns an empty catalog.
func NewCatalog(c *common.Common, keys CatalogKeys, p *Progress) Catalog {
	m := Catalog{c: c, keys: keys, progress: p, rows: &catalogRows{c: c, progress: p}}
	l := list.New(nil, catalogDelegate{r: m.rows}, 80, 10)
	l.SetShowTitle(false)
	l.SetShowFilter(false)
	l.SetShowStatusBar(false)
	l.SetShowHelp(false)
	l.DisableQuitKeybindings()
	l.Filter = rankFilter
	// The page count takes a line under the rows (page draws it: page
	// numbers, not the list's dots, which differ only by colour).
	l.SetShowPagination(true)
	l.Paginator.Type = paginator.Arabic
	m.list = l
	return m
}

// SetScenarios replaces the list, in course order under the parts' titles,
// keeping the selection where it can.
func (m *Catalog) SetScenarios(s []Scenario) {
	sel := m.Selected()
	m.all = s
	var items []list.Item
	part := "\x00"
	for i := range m.all {
		if g := m.all[i].Group; g != part && g != "" {
			items = append(items, catalogItem{part: g})
			part = g
		}
		items = append(items, catalogItem{s: &m.all[i]})
	}
	m.list.SetItems(items)
	m.applyFilter()
	if sel != nil {
		for i, it := range m.list.VisibleItems() {
			if ci := it.(catalogItem); ci.s != nil && ci.s.ID == sel.ID {
				m.list.Select(i)
			}
		}
	}
	m.skipPart(1)
}

// Selected is the scenario under the cursor, or nil.
func (m Catalog) Selected() *Scenario {
	it, ok := m.list.SelectedItem().(catalogItem)
	if !ok {
		return nil
	}
	return it.s
}

// Filter is what the learner has typed.
func (m Catalog) Filter() string { return m.filter }

func (m *Catalog) applyFilter() {
	m.rows.filter = m.filter
	if strings.TrimSpace(m.filter) == "" {
		m.list.ResetFilter()
	} else {
		m.list.SetFilterText(strings.ToLower(m.filter))
	}
	m.list.GoToStart()
	m.skipPart(1)
}

// rankFilter keeps the lessons that match every word typed, best first:
// the id itself, then the start of an id, a word in the id, the title,
// and last the summary, level and tags. Equal ranks keep course order.
func rankFilter(term string, targets []string) []list.Rank {
	words := strings.Fields(strings.ToLower(term))
	type scored struct{ idx, score int }
	var found []scored
	for i, t := range targets {
		if t == "" {
			continue // a part's title
		}
		f := strings.SplitN(t, "\x00", 3)
		if len(f) < 3 {
			continue
		}
		id, title, rest := f[0], f[1], f[2]
		score, ok := 0, true
		for _, w := range words {
			switch {
			case id == w:
			case strings.HasPrefix(id, w):
				score++
			case strings.Contains(id, w):
				score += 2
			case strings.Contains(title, w):
				score += 3
			case strings.Contains(rest, w):
				score += 6
			default:
				ok = false
			}
		}
		if ok {
			found = append(found, scored{i, score})
		}
	}
	slices.SortStableFunc(found, func(a, b scored) int { return cmp.Compare(a.score, b.score) })
	out := make([]list.Rank, len(found))
	for i, f := range found {
		out[i] = list.Rank{Index: f.idx}
	}
	return out
}

// listHeight is the number of rows the list may use.
func (m Catalog) listHeight() int { return max(m.c.Height-8, 2) }

// skipPart moves the cursor off a part's title, in direction d (or the
// other way at an end).
func (m *Catalog) skipPart(d int) {
	items := m.list.VisibleItems()
	for _, dir := range []int{d, -d} {
		for i := m.list.Index(); i >= 0 && i < len(items); i += dir {
			if items[i].(catalogItem).s != nil {
				m.list.Select(i)
				return
			}
		}
	}
}

func (m *Catalog) move(d int) {
	items := m.list.VisibleItems()
	i := min(max(m.list.Index()+d, 0), max(len(items)-1, 0))
	if len(items) > 0 {
		m.list.Select(i)
		m.skipPart(cmp.Compare(d, 0) | 1)
	}
}

// Update handles keys and clicks. Printable keys edit the filter.
func (m Catalog) Update(msg tea.Msg) (Catalog, tea.Cmd) {
	m.list.SetSize(m.c.Width, m.listHeight())
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		m.status = ""
		switch {
		case key.Matches(msg, m.keys.Up):
			m.move(-1)
		case key.Matches(msg, m.keys.Down):
			m.move(1)
		case key.Matches(msg, m.keys.PageUp):
			m.move(-m.list.Paginator.PerPage)
		case key.Matches(msg, m.keys.PageDown):
			m.move(m.list.Paginator.PerPage)
		case key.Matches(msg, m.keys.Open):
			return m, m.open()
		case msg.String() == "backspace":
			if r := []rune(m.filter); len(r) > 0 {
				m.filter = string(r[:len(r)-1])
				m.applyFilter()
			}
		case key.Matches(msg, m.keys.Clear):
			m.filter = ""
			m.applyFilter()
		default:
			if t := msg.Key().Text; t != "" && msg.Mod&^tea.ModShift == 0 {
				m.filter += t
				m.applyFilter()
			}
		}
	case tea.MouseClickMsg:
		row := msg.Mouse().Y - 3 // header, filter line and column titles
		start, end := m.list.Paginator.GetSliceBounds(len(m.list.VisibleItems()))
		if i := start + row; row >= 0 && i < end {
			if it := m.list.VisibleItems()[i].(catalogItem); it.s != nil {
				if m.list.Index() == i {
					return m, m.open()
				}
				m.list.Select(i)
			}
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
	lessons := len(m.all)
	count := st.Subtle.Render(fmt.Sprintf("%d of %d", len(m.list.VisibleItems()), lessons))
	if m.filter == "" {
		count = st.Subtle.Render(fmt.Sprintf("type to filter · %d lessons, in order", lessons))
	}
	b.WriteString(panels.Fit(filter+"  "+count, w) + "\n")

	// The title column is as wide as the longest title (and a gap) and
	// the tags take the rest, when the terminal is wide enough for them.
	c := m.rows
	c.level, c.minutes, c.doneW, c.tags = 13, 5, 6, 0
	c.title = max(w-4-c.level-c.minutes-c.doneW, 10)
	if w >= 100 {
		longest := 0
		for _, s := range m.all {
			longest = max(longest, ansi.StringWidth(rowTitle(s))+len(startHere))
		}
		c.title = max(min(longest+2, c.title-20), 10)
		c.tags = w - 4 - c.level - c.minutes - c.doneW - c.title
	}
	head := "  " + panels.Fit("lesson", c.title) + panels.Fit("level", c.level) + panels.Fit("time", c.minutes) + panels.Fit("done", c.doneW)
	if c.tags > 0 {
		head += panels.Fit("tags", c.tags)
	}
	b.WriteString(st.Bold.Render(panels.Fit(head, w)) + "\n")
	h := m.listHeight()
	switch {
	case len(m.all) == 0:
		b.WriteString(panels.FitBlock(st.Subtle.Render("  no scenarios in the catalog — F4 opens the free lab"), w, h) + "\n")
	case len(m.list.VisibleItems()) == 0:
		b.WriteString(panels.FitBlock(st.Subtle.Render("  nothing matches “"+m.filter+"” — esc clears the filter"), w, h) + "\n")
	default:
		b.WriteString(m.page(w, h) + "\n")
	}
	b.WriteString(m.details())
	// Every line is exactly w wide already (Fit): only the height is guarded.
	return panels.PadLines(b.String(), w, m.c.Height)
}

// page draws the list's current page as exactly h lines of w cells: the
// rows (exactly w wide already, from the delegate), then the page number
// when there are several. The list keeps the cursor, the pages and the filter; its own
// View would lay the same rows out again with lipgloss, measuring every
// line twice over (three times the cost of the frame).
func (m Catalog) page(w, h int) string {
	l := m.list
	l.SetSize(w, h)
	items := l.VisibleItems()
	start, end := l.Paginator.GetSliceBounds(len(items))
	d := catalogDelegate{r: m.rows}
	blank := strings.Repeat(" ", w)
	var b strings.Builder
	for row, i := 0, start; row < h; row, i = row+1, i+1 {
		if row > 0 {
			b.WriteByte('\n')
		}
		switch {
		case row == h-1 && l.Paginator.TotalPages > 1:
			b.WriteString(m.c.Styles.Subtle.Render(panels.Fit(fmt.Sprintf("  page %d of %d — pgdn/pgup", l.Paginator.Page+1, l.Paginator.TotalPages), w)))
		case i < end:
			d.Render(&b, l, i, items[i])
		default:
			b.WriteString(blank)
		}
	}
	return b.String()
}

// startHere marks the first lesson on a first run.
const startHere = "  ← start here"

// catalogDelegate draws one row of the list.
type catalogDelegate struct{ r *catalogRows }

func (d catalogDelegate) Height() int                         { return 1 }
func (d catalogDelegate) Spacing() int                        { return 0 }
func (d catalogDelegate) Update(tea.Msg, *list.Model) tea.Cmd { return nil }

func (d catalogDelegate) Render(w io.Writer, l list.Model, index int, item list.Item) {
	it := item.(catalogItem)
	r := d.r
	if it.s == nil {
		io.WriteString(w, r.c.Styles.Title.Render(panels.Fit(rule(" "+it.part+" ", r.c.Width-2), r.c.Width)))
		return
	}
	io.WriteString(w, r.row(*it.s, index == l.Index(), index == firstLesson(l)))
}

// firstLesson is the index of the first lesson in the list.
func firstLesson(l list.Model) int {
	for i, it := range l.VisibleItems() {
		if it.(catalogItem).s != nil {
			return i
		}
	}
	return -1
}

func (m *catalogRows) mark(s Scenario) string {
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

// done is a lesson's progress in a few cells: steps passed of all, or ✓.
func (m *catalogRows) done(s Scenario) string {
	lp := m.progress.Scenarios[s.ID]
	switch {
	case lp == nil:
		return ""
	case lp.Done:
		return common.SymOK
	case lp.Count(len(s.Steps)) > 0:
		return fmt.Sprintf("%d/%d", lp.Count(len(s.Steps)), len(s.Steps))
	}
	return ""
}

func (m *catalogRows) row(s Scenario, sel, first bool) string {
	st := m.c.Styles
	c := m
	title := rowTitle(s)
	if first && m.filter == "" && !m.progress.Started() {
		title += startHere
	}
	text := panels.Fit(title, c.title-1) + " " + panels.Fit(s.Level, c.level) + panels.Fit(fmt.Sprintf("%dm", s.Minutes), c.minutes) + panels.Fit(m.done(s), c.doneW)
	if c.tags > 0 {
		text += panels.Fit(strings.Join(s.Tags, " "), c.tags)
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
		info := fmt.Sprintf("%s · %d steps · %s · %d min · %s", s.Group, len(s.Steps), s.Level, s.Minutes, strings.Join(s.Tags, ", "))
		if lp := m.progress.Scenarios[s.ID]; lp != nil && !lp.Done && lp.Step > 0 {
			info += fmt.Sprintf(" · %d of %d passed, resumes at step %d", lp.Count(len(s.Steps)), len(s.Steps), lp.Step+1)
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
