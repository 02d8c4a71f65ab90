// Package ui is nslab's terminal UI: a catalog of scenarios, step-by-step
// lessons, a free-lab prompt, and live panels showing what the kernel sees.
//
// The root model (App) owns the layout and routes messages to one model per
// screen (Catalog, Lesson, FreeLab) and to the panels (Live). Nothing here
// touches the kernel: commands run through a Lab (the lab/script runner)
// and panels read a Source (lab/probe), both called only from tea.Cmds, so
// Update and View stay pure and fast and tests run on fakes.
package ui

import (
	"context"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/panels"
)

// Options configure the UI.
type Options struct {
	Lab          Lab
	Source       Source
	ProgressPath string        // where progress is kept; "" keeps none
	Interval     time.Duration // panel refresh; default 1s
	Presenter    bool          // start in presenter mode
	Light        bool          // assume a light terminal until it answers
	Open         string        // open this scenario at start
	// Mode is where the lab runs, shown in the header: "sandbox" (a
	// sandbox of its own) or "host" (the machine itself); "" shows none.
	Mode string
	// Shell is what a second terminal runs to enter this lab (nslab shell
	// PID); "" is plain `nslab shell`.
	Shell string

	// tick schedules the next refresh: tea.Tick, unless a test has one
	// that never fires (the refresh is the one command that waits on
	// the clock, so a test can wait on every other one without a limit).
	tick func(time.Duration, func(time.Time) tea.Msg) tea.Cmd
}

type screen int

const (
	scCatalog screen = iota
	scLesson
	scFree
)

type (
	tickMsg     struct{ id int }
	snapshotMsg struct {
		snap *panels.Snapshot
		err  error
	}
	scenariosMsg struct {
		list []Scenario
		errs []error
	}
)

// App is the root model.
type App struct {
	opt      Options
	c        *common.Common
	keys     KeyMap
	screen   screen
	catalog  Catalog
	lesson   Lesson
	inLesson bool
	free     FreeLab
	live     Live
	md       *markdown
	progress *Progress
	store    *store

	isDark      bool
	showHelp    bool
	showHolders bool
	holders     HoldersView
	confirmQuit bool // q in a lesson asks first
	panelPage   int  // narrow screens: 0 the lesson, then each page of panels; wide: the page of panels
	tickID      int
	inflight    bool
	status      string
	width       int
	height      int
}

// New builds the UI; run it with tea.NewProgram(ui.New(opt)).
func New(opt Options) *App {
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	m := &App{opt: opt, keys: DefaultKeyMap(), isDark: !opt.Light, progress: &Progress{}, md: newMarkdown(), store: &store{path: opt.ProgressPath}}
	m.c = &common.Common{Presenter: opt.Presenter}
	m.c.Styles = m.styles()
	m.catalog = NewCatalog(m.c, m.keys.Catalog, m.progress)
	m.free = NewFreeLab(m.c, m.keys.Prompt, opt.Lab)
	m.live = NewLive(m.c)
	m.holders = HoldersView{c: m.c}
	return m
}

func (m *App) styles() *common.Styles {
	if m.c.Presenter {
		return common.PresenterStyles(m.isDark)
	}
	return common.DefaultStyles(m.isDark)
}

func (m *App) restyle() {
	m.c.Styles = m.styles()
	m.live.SetStyles(m.c.Styles)
	m.free.SetStyles(m.c.Styles)
}

// Init asks the terminal for its background, loads the catalog and the
// progress, and takes the first snapshot.
func (m *App) Init() tea.Cmd {
	lab := m.opt.Lab
	return tea.Batch(
		tea.RequestBackgroundColor,
		func() tea.Msg {
			msg := scenariosMsg{list: lab.Scenarios()}
			if le, ok := lab.(loadErrors); ok {
				msg.errs = le.LoadErrors()
			}
			return msg
		},
		loadProgress(m.opt.ProgressPath),
		m.snapshot(),
	)
}

// snapshot reads the source in a command; one at a time.
func (m *App) snapshot() tea.Cmd {
	if m.inflight || m.opt.Source == nil {
		return nil
	}
	m.inflight = true
	src := m.opt.Source
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := src.Snapshot(ctx)
		return snapshotMsg{s, err}
	}
}

func (m *App) tick() tea.Cmd {
	id, d := m.tickID, m.opt.Interval
	if m.opt.tick != nil {
		return m.opt.tick(d, func(time.Time) tea.Msg { return tickMsg{id} })
	}
	return tea.Tick(d, func(time.Time) tea.Msg { return tickMsg{id} })
}

// Update routes messages: window and theme here, keys by screen, the
// commands' results to whoever started them.
func (m *App) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.c.Width, m.c.Height = msg.Width, max(msg.Height-2, 1)
		return m, nil
	case tea.BackgroundColorMsg:
		m.isDark = msg.IsDark()
		m.restyle()
		return m, nil
	case scenariosMsg:
		m.catalog.SetScenarios(msg.list)
		if n := len(msg.errs); n > 0 {
			m.status = fmt.Sprintf("%d scenario file(s) did not load (nslab lint shows why): %v", n, msg.errs[0])
		}
		if m.opt.Open != "" {
			id := m.opt.Open
			m.opt.Open = ""
			return m, func() tea.Msg { return openLessonMsg{id} }
		}
		return m, nil
	case progressLoadedMsg:
		*m.progress = msg.p
		if msg.err != nil {
			m.status = msg.err.Error()
		}
		return m, nil
	case progressSavedMsg:
		if msg.err != nil {
			m.status = msg.err.Error()
		}
		return m, nil
	case tickMsg:
		if msg.id != m.tickID || m.c.Frozen {
			return m, nil
		}
		if m.showHolders {
			return m, tea.Batch(m.snapshot(), m.holders.fetch(m.opt.Lab))
		}
		return m, m.snapshot()
	case holdersMsg:
		m.holders.set(msg)
		return m, nil
	case terminalMsg:
		var cmd tea.Cmd
		m.lesson, cmd = m.lesson.Update(msg)
		return m, cmd
	case snapshotMsg:
		m.inflight = false
		if !m.c.Frozen {
			m.live.SetSnapshot(msg.snap, msg.err)
			return m, m.tick()
		}
		return m, nil
	case refreshMsg:
		m.tickID++
		if m.c.Frozen {
			return m, nil
		}
		if m.inflight { // the snapshot in flight will tick with the new id
			return m, nil
		}
		return m, m.snapshot()
	case openLessonMsg:
		return m, m.open(msg.id)
	case prepareDoneMsg, stepEventMsg, stepDoneMsg:
		var cmd tea.Cmd
		m.lesson, cmd = m.lesson.Update(msg)
		return m, cmd
	case execDoneMsg, completionsMsg:
		var cmd tea.Cmd
		m.free, cmd = m.free.Update(msg)
		return m, cmd
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.MouseMsg:
		return m.mouse(msg)
	}
	return m, nil
}

// open starts a lesson, resuming where the learner left it.
func (m *App) open(id string) tea.Cmd {
	for _, s := range m.catalog.all {
		if s.ID != id {
			continue
		}
		if s.Unavailable != "" {
			m.status = s.ID + " cannot run here: " + s.Unavailable
			return nil
		}
		if m.inLesson {
			m.lesson.Cancel()
		}
		start := 0
		if lp := m.progress.Scenarios[id]; lp != nil && !lp.Done {
			start = lp.Step
		}
		var cmd tea.Cmd
		m.lesson, cmd = NewLesson(m.c, m.keys.Lesson, m.opt.Lab, m.md, m.progress, m.store, s, start)
		m.lesson.shell = m.opt.Shell
		m.inLesson, m.screen, m.panelPage, m.status = true, scLesson, 0, ""
		return cmd
	}
	m.status = "no scenario " + id + " in the catalog"
	return nil
}

// Wait gives the progress saves still running up to d to finish; call it
// after the program has returned, before exiting.
func (m *App) Wait(d time.Duration) { m.store.wait(d) }

func (m *App) quit() tea.Cmd {
	if m.inLesson {
		m.lesson.Cancel()
	}
	return tea.Quit
}

func (m *App) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	g, lk := m.keys.Global, m.keys.Lesson
	if key.Matches(msg, g.Quit) {
		if m.screen == scFree && m.free.Running() {
			// Ctrl-C at a prompt stops what runs, as in a shell; a
			// second one quits.
			m.free.Cancel()
			return m, nil
		}
		return m, m.quit()
	}
	if m.confirmQuit {
		m.confirmQuit = false
		if key.Matches(msg, lk.Yes) {
			return m, m.quit()
		}
		m.status = "not quitting"
		return m, nil
	}
	if m.showHolders {
		switch {
		case key.Matches(msg, g.Back, g.Holders, lk.Holders):
			m.showHolders = false
		case key.Matches(msg, lk.ScrollDown):
			m.holders.scroll++
		case key.Matches(msg, lk.ScrollUp):
			m.holders.scroll = max(m.holders.scroll-1, 0)
		}
		return m, nil
	}
	// In a lesson nothing is typed, so a letter does what a global key
	// does (f is F3, ? is F1...); not while it asks a question.
	inLesson := m.screen == scLesson && !m.lesson.Confirming()
	global := func(gk, letter key.Binding) bool {
		return key.Matches(msg, gk) || inLesson && key.Matches(msg, letter)
	}
	if global(g.Holders, lk.Holders) {
		m.showHolders, m.holders.scroll = true, 0
		return m, m.holders.fetch(m.opt.Lab)
	}
	if m.showHelp {
		if key.Matches(msg, g.Back, g.Help, lk.Help) {
			m.showHelp = false
		}
		return m, nil
	}
	switch {
	case global(g.Help, lk.Help):
		m.showHelp = true
		return m, nil
	case global(g.Presenter, lk.Presenter):
		return m, m.togglePresenter()
	case global(g.Freeze, lk.Freeze):
		return m, m.toggleFreeze()
	case global(g.FreeLab, lk.FreeLab):
		m.screen, m.panelPage = scFree, 0
		return m, nil
	case global(g.Panels, lk.Panels):
		if m.screen != scCatalog {
			m.nextPanels()
		}
		return m, nil
	case global(g.More, lk.More):
		m.live.More()
		return m, nil
	}
	m.status = ""
	var cmd tea.Cmd
	switch m.screen {
	case scCatalog:
		ck := m.keys.Catalog
		if m.catalog.Filter() == "" {
			switch {
			case key.Matches(msg, ck.QuitEmpty):
				return m, m.quit()
			case key.Matches(msg, ck.HelpEmpty):
				m.showHelp = true
				return m, nil
			}
		}
		m.catalog, cmd = m.catalog.Update(msg)
	case scLesson:
		if m.lesson.Confirming() {
			m.lesson, cmd = m.lesson.Update(msg)
			return m, cmd
		}
		switch {
		case key.Matches(msg, lk.Quit):
			m.confirmQuit = true
			return m, nil
		case key.Matches(msg, g.Back):
			if m.panelPage > 0 {
				m.panelPage = 0
				return m, nil
			}
			m.lesson.Cancel()
			m.screen = scCatalog
		case key.Matches(msg, lk.Threads):
			m.live.ToggleThreads()
		case key.Matches(msg, lk.Trees):
			m.live.ToggleTrees()
		case key.Matches(msg, lk.LinkLocal):
			m.live.ToggleLinkLocal()
		case key.Matches(msg, lk.Sockets):
			m.live.NextProcess()
		default:
			m.lesson, cmd = m.lesson.Update(msg)
		}
	case scFree:
		if key.Matches(msg, g.Back) && m.panelPage > 0 {
			m.panelPage = 0
			return m, nil
		}
		if key.Matches(msg, g.Back) {
			m.screen = scCatalog
			if m.inLesson {
				m.screen = scLesson
			}
			return m, nil
		}
		m.free, cmd = m.free.Update(msg)
	}
	return m, cmd
}

func (m *App) mouse(msg tea.MouseMsg) (tea.Model, tea.Cmd) {
	if m.showHelp {
		return m, nil
	}
	var cmd tea.Cmd
	switch m.screen {
	case scCatalog:
		m.catalog, cmd = m.catalog.Update(msg)
	case scLesson:
		if msg.Mouse().X < columnWidth(m.c) {
			m.lesson, cmd = m.lesson.Update(msg)
		}
	case scFree:
		m.free, cmd = m.free.Update(msg)
	}
	return m, cmd
}

func (m *App) togglePresenter() tea.Cmd {
	m.c.Presenter = !m.c.Presenter
	m.restyle()
	return nil
}

// toggleFreeze stops or restarts the panels; unfreezing takes a snapshot
// at once.
func (m *App) toggleFreeze() tea.Cmd {
	m.c.Frozen = !m.c.Frozen
	m.tickID++
	if m.c.Frozen {
		return nil
	}
	return m.snapshot()
}
