package ui

import "charm.land/bubbles/v2/key"

// GlobalKeys work on every screen, even while typing: function keys and
// Ctrl combinations never reach a text field.
type GlobalKeys struct {
	Quit      key.Binding
	Help      key.Binding
	Presenter key.Binding
	Freeze    key.Binding
	FreeLab   key.Binding
	Panels    key.Binding
	Holders   key.Binding
	More      key.Binding
	Back      key.Binding
}

// CatalogKeys act on the scenario list. Printable keys filter.
type CatalogKeys struct {
	Up, Down, PageUp, PageDown key.Binding
	Open                       key.Binding
	Clear                      key.Binding
	QuitEmpty                  key.Binding // q, only when the filter is empty
	HelpEmpty                  key.Binding // ?, only when the filter is empty
}

// LessonKeys act on a lesson. Nothing is typed there, so letters are keys.
type LessonKeys struct {
	Run, Next, Prev, Jump                       key.Binding
	Retry, Skip, Restart, Cancel                key.Binding
	Tab, ScrollUp, ScrollDown, PageUp, PageDown key.Binding
	Threads, Sockets, Panels, Trees, More       key.Binding
	LinkLocal                                   key.Binding
	Freeze, Presenter, FreeLab, Help, Quit      key.Binding
	Hint, Terminal, SkipQuestion, Holders       key.Binding
	Yes                                         key.Binding // answers a confirmation
}

// PromptKeys act on the free-lab prompt.
type PromptKeys struct {
	Run, Complete, HistPrev, HistNext key.Binding
	PageUp, PageDown, ClearOut        key.Binding
}

// KeyMap is every binding of the UI.
type KeyMap struct {
	Global  GlobalKeys
	Catalog CatalogKeys
	Lesson  LessonKeys
	Prompt  PromptKeys
}

func b(keys []string, k, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
}

// DefaultKeyMap is nslab's keyboard layout (docs/tui.md lists it).
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Global: GlobalKeys{
			Quit:      b([]string{"ctrl+c"}, "ctrl+c", "quit (cleans up)"),
			Help:      b([]string{"f1"}, "F1", "help"),
			Presenter: b([]string{"f2"}, "F2", "presenter mode"),
			Freeze:    b([]string{"f3"}, "F3", "freeze panels"),
			FreeLab:   b([]string{"f4"}, "F4", "free lab"),
			Panels:    b([]string{"f5"}, "F5", "panels / more"),
			Holders:   b([]string{"f6"}, "F6", "holders"),
			More:      b([]string{"f7"}, "F7", "next page of panel rows"),
			Back:      b([]string{"esc"}, "esc", "back"),
		},
		Catalog: CatalogKeys{
			Up:        b([]string{"up", "ctrl+p"}, "↑", "up"),
			Down:      b([]string{"down", "ctrl+n"}, "↓", "down"),
			PageUp:    b([]string{"pgup"}, "pgup", "page up"),
			PageDown:  b([]string{"pgdown"}, "pgdn", "page down"),
			Open:      b([]string{"enter"}, "enter", "open"),
			Clear:     b([]string{"esc"}, "esc", "clear filter"),
			QuitEmpty: b([]string{"q"}, "q", "quit, no filter"),
			HelpEmpty: b([]string{"?"}, "?", "help, no filter"),
		},
		Lesson: LessonKeys{
			Run:          b([]string{"enter"}, "enter", "run step"),
			Next:         b([]string{"n", "right"}, "n/→", "next step"),
			Prev:         b([]string{"p", "left"}, "p/←", "previous step"),
			Jump:         b([]string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, "1-9", "jump to step"),
			Retry:        b([]string{"r"}, "r", "retry"),
			Skip:         b([]string{"s"}, "s", "skip failed cmd"),
			Restart:      b([]string{"R"}, "R", "restart lesson"),
			Cancel:       b([]string{"x"}, "x", "cancel a run"),
			Tab:          b([]string{"tab"}, "tab", "lab/sh/go"),
			ScrollUp:     b([]string{"up", "k"}, "↑/k", "scroll up"),
			ScrollDown:   b([]string{"down", "j"}, "↓/j", "scroll down"),
			PageUp:       b([]string{"pgup"}, "pgup", "page up"),
			PageDown:     b([]string{"pgdown", "space"}, "pgdn", "page down"),
			Threads:      b([]string{"t"}, "t", "expand threads"),
			Sockets:      b([]string{"w"}, "w", "sockets: next"),
			Panels:       b([]string{"v"}, "v", "panels / more"),
			Freeze:       b([]string{"f"}, "f", "freeze panels"),
			Presenter:    b([]string{"P"}, "P", "presenter mode"),
			FreeLab:      b([]string{"l"}, "l", "free lab"),
			Help:         b([]string{"?"}, "?", "help"),
			Quit:         b([]string{"q"}, "q", "quit"),
			Hint:         b([]string{"h"}, "h", "hint"),
			Terminal:     b([]string{"o"}, "o", "2nd terminal"),
			SkipQuestion: b([]string{"s"}, "s", "pass question"),
			Holders:      b([]string{"H"}, "H", "holders"),
			Yes:          b([]string{"y"}, "y", "yes"),
			Trees:        b([]string{"e"}, "e", "each tree's parent alone"),
			More:         b([]string{"m"}, "m", "next page of panel rows"),
			LinkLocal:    b([]string{"a"}, "a", "fe80:: addresses"),
		},
		Prompt: PromptKeys{
			Run:      b([]string{"enter"}, "enter", "run"),
			Complete: b([]string{"tab"}, "tab", "complete"),
			HistPrev: b([]string{"up"}, "↑", "history back"),
			HistNext: b([]string{"down"}, "↓", "history forward"),
			PageUp:   b([]string{"pgup"}, "pgup", "scroll up"),
			PageDown: b([]string{"pgdown"}, "pgdn", "scroll down"),
			ClearOut: b([]string{"ctrl+l"}, "ctrl+l", "clear output"),
		},
	}
}
