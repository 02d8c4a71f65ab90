package ui

import (
	"fmt"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
)

var sizes = []struct{ w, h int }{{80, 24}, {160, 48}}

// screen is the frame as a user reads it: no colour, fixed size.
func plain(m *App) string { return ansi.Strip(m.Render()) }

func TestGolden(t *testing.T) {
	cases := []struct {
		name string
		do   func(t *testing.T, m *App)
	}{
		{"catalog", func(t *testing.T, m *App) {}},
		{"catalog filtered", func(t *testing.T, m *App) { typeText(t, m, "net") }},
		{"catalog unavailable selected", func(t *testing.T, m *App) { press(t, m, keyDown, keyDown, keyEnter) }},
		{"lesson", func(t *testing.T, m *App) { press(t, m, keyEnter) }},
		{"lesson predict", func(t *testing.T, m *App) { press(t, m, keyEnter, keyEnter) }},
		{"lesson step passed", func(t *testing.T, m *App) { press(t, m, keyEnter, keyEnter, keyText("n"), keyEnter) }},
		{"lesson sh tab", func(t *testing.T, m *App) { press(t, m, keyEnter, keyEnter, keyText("n"), keyTab) }},
		{"hands-on", func(t *testing.T, m *App) { typeText(t, m, "yours"); press(t, m, keyEnter) }},
		{"challenge", func(t *testing.T, m *App) {
			typeText(t, m, "yours")
			press(t, m, keyEnter, keyText("2"), keyText("h"))
		}},
		{"holders", func(t *testing.T, m *App) { press(t, m, tea.KeyPressMsg{Code: tea.KeyF6}) }},
		{"quit asks", func(t *testing.T, m *App) { press(t, m, keyEnter, keyEnter, keyText("q")) }},
		{"failed check", func(t *testing.T, m *App) { typeText(t, m, "broken"); press(t, m, keyEnter, keyEnter) }},
		{"free lab", func(t *testing.T, m *App) {
			press(t, m, keyF4)
			typeText(t, m, "help")
			press(t, m, keyEnter)
			typeText(t, m, "netns bogus x")
			press(t, m, keyEnter)
		}},
		{"help", func(t *testing.T, m *App) { press(t, m, keyF1) }},
		{"presenter lesson", func(t *testing.T, m *App) { press(t, m, keyEnter, keyF2, keyEnter) }},
		{"presenter frozen", func(t *testing.T, m *App) { press(t, m, keyEnter, keyF2, keyEnter, keyF3) }},
	}
	for _, c := range cases {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s %dx%d", c.name, sz.w, sz.h), func(t *testing.T) {
				m, _ := newTestApp(t, sz.w, sz.h, Options{})
				c.do(t, m)
				golden.RequireEqual(t, plain(m))
			})
		}
	}
}
