package common

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// Symbols carry every meaning that colour carries, so that the screen reads
// the same under NO_COLOR, on a monochrome projector, or in a golden file.
const (
	SymOK      = "✓"
	SymFail    = "✗"
	SymWait    = "…"
	SymPending = "·"
	SymRun     = "▶"
	SymDone    = "●" // scenario done
	SymPartial = "◐" // scenario in progress
	SymTodo    = "○" // scenario not started
	SymNA      = "⊘" // scenario unavailable here
	SymDiff    = "≠" // differs from PID 1
	SymFrozen  = "❄"
	SymCursor  = "›"
)

// Styles is every style the UI uses, built once per theme.
type Styles struct {
	IsDark    bool
	Presenter bool

	App        lipgloss.Style
	Header     lipgloss.Style
	HeaderDim  lipgloss.Style
	Title      lipgloss.Style
	Subtle     lipgloss.Style
	Text       lipgloss.Style
	Bold       lipgloss.Style
	Selected   lipgloss.Style
	Cursor     lipgloss.Style
	Greyed     lipgloss.Style
	OK         lipgloss.Style
	Fail       lipgloss.Style
	Warn       lipgloss.Style
	Wait       lipgloss.Style
	Code       lipgloss.Style
	Prompt     lipgloss.Style
	Caret      lipgloss.Style
	Panel      lipgloss.Style // a bordered box around a live panel
	PanelTitle lipgloss.Style
	Box        lipgloss.Style // topology namespace boxes
	TabActive  lipgloss.Style
	TabIdle    lipgloss.Style
	Tag        lipgloss.Style
	Level      lipgloss.Style
	Diff       lipgloss.Style // a namespace that differs from PID 1
	Spark      lipgloss.Style
	SparkAlt   lipgloss.Style
	Overlay    lipgloss.Style
	KeyStyle   lipgloss.Style
	DescStyle  lipgloss.Style
	Footer     lipgloss.Style

	// Groups colour namespaces: equal inodes get the same entry.
	Groups []lipgloss.Style
}

// Group returns the style for the i-th distinct namespace.
func (s *Styles) Group(i int) lipgloss.Style {
	if len(s.Groups) == 0 || i < 0 {
		return s.Text
	}
	return s.Groups[i%len(s.Groups)]
}

// DefaultStyles builds the normal theme for a dark or light terminal
// background (the root model asks the terminal with
// tea.RequestBackgroundColor and rebuilds on the answer).
func DefaultStyles(isDark bool) *Styles {
	ld := lipgloss.LightDark(isDark)
	var (
		fg      = ld(lipgloss.Color("#1f2328"), lipgloss.Color("#e6edf3"))
		subtle  = ld(lipgloss.Color("#6e7781"), lipgloss.Color("#8b949e"))
		greyed  = ld(lipgloss.Color("#afb8c1"), lipgloss.Color("#484f58"))
		accent  = ld(lipgloss.Color("#8250df"), lipgloss.Color("#bc8cff"))
		okC     = ld(lipgloss.Color("#1a7f37"), lipgloss.Color("#3fb950"))
		failC   = ld(lipgloss.Color("#cf222e"), lipgloss.Color("#f85149"))
		warnC   = ld(lipgloss.Color("#9a6700"), lipgloss.Color("#d29922"))
		codeC   = ld(lipgloss.Color("#0550ae"), lipgloss.Color("#79c0ff"))
		border  = ld(lipgloss.Color("#d0d7de"), lipgloss.Color("#30363d"))
		selBg   = ld(lipgloss.Color("#ddf4ff"), lipgloss.Color("#1f3a5f"))
		headBg  = ld(lipgloss.Color("#8250df"), lipgloss.Color("#6e40c9"))
		headFg  = lipgloss.Color("#ffffff")
		groupsC = []color.Color{
			ld(lipgloss.Color("#0550ae"), lipgloss.Color("#58a6ff")),
			ld(lipgloss.Color("#953800"), lipgloss.Color("#ffa657")),
			ld(lipgloss.Color("#116329"), lipgloss.Color("#56d364")),
			ld(lipgloss.Color("#8250df"), lipgloss.Color("#d2a8ff")),
			ld(lipgloss.Color("#bf3989"), lipgloss.Color("#ff7b72")),
			ld(lipgloss.Color("#1b7c83"), lipgloss.Color("#39c5cf")),
			ld(lipgloss.Color("#4d2d00"), lipgloss.Color("#e3b341")),
		}
	)
	s := &Styles{IsDark: isDark}
	s.App = lipgloss.NewStyle().Foreground(fg)
	s.Header = lipgloss.NewStyle().Bold(true).Foreground(headFg).Background(headBg).Padding(0, 1)
	s.HeaderDim = lipgloss.NewStyle().Foreground(subtle)
	s.Title = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.Subtle = lipgloss.NewStyle().Foreground(subtle)
	s.Text = lipgloss.NewStyle().Foreground(fg)
	s.Bold = lipgloss.NewStyle().Bold(true).Foreground(fg)
	s.Selected = lipgloss.NewStyle().Bold(true).Foreground(fg).Background(selBg)
	s.Cursor = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.Greyed = lipgloss.NewStyle().Foreground(greyed)
	s.OK = lipgloss.NewStyle().Bold(true).Foreground(okC)
	s.Fail = lipgloss.NewStyle().Bold(true).Foreground(failC)
	s.Warn = lipgloss.NewStyle().Foreground(warnC)
	s.Wait = lipgloss.NewStyle().Foreground(warnC)
	s.Code = lipgloss.NewStyle().Foreground(codeC)
	s.Prompt = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.Caret = lipgloss.NewStyle().Bold(true).Foreground(failC)
	s.Panel = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(border).Padding(0, 1)
	s.PanelTitle = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.Box = lipgloss.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(subtle).Padding(0, 1)
	s.TabActive = lipgloss.NewStyle().Bold(true).Underline(true).Foreground(accent)
	s.TabIdle = lipgloss.NewStyle().Foreground(subtle)
	s.Tag = lipgloss.NewStyle().Foreground(codeC)
	s.Level = lipgloss.NewStyle().Foreground(warnC)
	s.Diff = lipgloss.NewStyle().Bold(true).Foreground(failC)
	s.Spark = lipgloss.NewStyle().Foreground(okC)
	s.SparkAlt = lipgloss.NewStyle().Foreground(warnC)
	s.Overlay = lipgloss.NewStyle().Border(lipgloss.DoubleBorder()).BorderForeground(accent).Padding(1, 2)
	s.KeyStyle = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.DescStyle = lipgloss.NewStyle().Foreground(subtle)
	s.Footer = lipgloss.NewStyle().Foreground(subtle)
	for _, c := range groupsC {
		s.Groups = append(s.Groups, lipgloss.NewStyle().Foreground(c))
	}
	return s
}

// PresenterStyles is the projector theme: pure black and white with a few
// saturated colours, bold text, thick borders. Every state still has its
// symbol, so it survives NO_COLOR and a washed-out projector.
func PresenterStyles(isDark bool) *Styles {
	s := DefaultStyles(isDark)
	s.Presenter = true
	ld := lipgloss.LightDark(isDark)
	fg := ld(lipgloss.Color("#000000"), lipgloss.Color("#ffffff"))
	bg := ld(lipgloss.Color("#ffffff"), lipgloss.Color("#000000"))
	yellow := ld(lipgloss.Color("#7a4d00"), lipgloss.Color("#ffff00"))
	green := ld(lipgloss.Color("#006400"), lipgloss.Color("#00ff00"))
	red := ld(lipgloss.Color("#b00000"), lipgloss.Color("#ff3030"))
	cyan := ld(lipgloss.Color("#003c8f"), lipgloss.Color("#00ffff"))
	s.App = s.App.Foreground(fg)
	s.Text = s.Text.Foreground(fg).Bold(true)
	s.Bold = s.Bold.Foreground(fg)
	s.Subtle = s.Subtle.Foreground(fg)
	s.Header = s.Header.Foreground(bg).Background(fg)
	s.Title = s.Title.Foreground(yellow).Underline(true)
	s.Selected = lipgloss.NewStyle().Bold(true).Reverse(true)
	s.OK = s.OK.Foreground(green)
	s.Fail = s.Fail.Foreground(red).Reverse(true)
	s.Code = s.Code.Foreground(cyan).Bold(true)
	s.Panel = s.Panel.Border(lipgloss.ThickBorder()).BorderForeground(fg)
	s.Box = s.Box.Border(lipgloss.ThickBorder()).BorderForeground(fg)
	s.PanelTitle = s.PanelTitle.Foreground(yellow)
	s.Diff = s.Diff.Foreground(red).Underline(true)
	s.Spark = s.Spark.Foreground(green)
	s.SparkAlt = s.SparkAlt.Foreground(yellow)
	s.Footer = s.Footer.Foreground(fg)
	s.DescStyle = s.DescStyle.Foreground(fg)
	for i := range s.Groups {
		s.Groups[i] = s.Groups[i].Bold(true)
	}
	return s
}

// Common is what every component is given by the root model: its size,
// the theme and the mode.
type Common struct {
	Width, Height int
	Styles        *Styles
	Presenter     bool
	Frozen        bool
}
