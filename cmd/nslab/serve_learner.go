package main

import (
	"os"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/room"
	"github.com/nslab/nslab/lab/script"
	"github.com/nslab/nslab/ui"
	"github.com/nslab/nslab/ui/backend"
)

// roomFPS is the TUI's frame rate in a room: each frame wakes the process,
// and a room runs thirty TUIs on two cores (docs/benchmarks.md, "A room").
const roomFPS = 15

// repaintMsg asks for a whole new screen (someone started following).
type repaintMsg struct{}

// inRoom connects the TUI to the room that started it (nslab serve sets
// room.ControlEnv), restricts what typed lines may run, and returns the
// model to run and a function to call with the program once it exists;
// outside a room, the app itself and a no-op.
func inRoom(app *ui.App, runner *backend.Lab) (tea.Model, func(*tea.Program), func()) {
	path := os.Getenv(room.ControlEnv)
	if path == "" {
		return app, func(*tea.Program) {}, func() {}
	}
	runner.Restrict(script.ServePolicy())
	c, err := room.Dial(path)
	if err != nil {
		// The lab still runs (and is still confined); only the board
		// does not see it.
		return app, func(*tea.Program) {}, func() {}
	}
	m := &roomed{App: app, reports: make(chan ui.RoomStatus, 1)}
	go func() {
		for st := range m.reports {
			c.Report(st)
		}
	}()
	attach := func(p *tea.Program) {
		// Thirty TUIs on a machine: once the first screens are drawn,
		// give back the binary's pages only start-up needed (about 5
		// MiB of RSS; docs/benchmarks.md, "A room").
		time.AfterFunc(3*time.Second, lab.DropStartupPages)
		go func() {
			for cmd := range c.Commands {
				switch {
				case cmd.Goto != nil:
					p.Send(ui.GotoMsg{Lesson: cmd.Goto.Lesson, Step: cmd.Goto.Step})
				case cmd.Repaint:
					p.Send(repaintMsg{})
				}
			}
		}()
	}
	return m, attach, func() { close(m.reports); c.Close() }
}

// roomed is the app with a room watching: it reports every change of
// where the learner is, and obeys the room's commands.
type roomed struct {
	*ui.App
	last    ui.RoomStatus
	sent    bool
	reports chan ui.RoomStatus
}

func (m *roomed) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case ui.GotoMsg:
		cmd = m.App.Goto(msg)
	case repaintMsg:
		cmd = tea.ClearScreen
	default:
		_, cmd = m.App.Update(msg)
	}
	if st := m.App.RoomStatus(); st != m.last || !m.sent {
		m.last, m.sent = st, true
		select { // keep only the newest report: Update never waits
		case <-m.reports:
		default:
		}
		m.reports <- st
	}
	return m, cmd
}
