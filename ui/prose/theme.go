package prose

import (
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// theme holds the colours of one background, from the same palette as the
// rest of the UI (ui/common), with the GitHub-like colours of Go syntax.
type theme struct {
	heading, subtle, code, link color.Color
	keyword, str, comment       color.Color
	number, fn, builtin         color.Color
}

func newTheme(dark bool) *theme {
	ld := lipgloss.LightDark(dark)
	c := func(light, dark string) color.Color { return ld(lipgloss.Color(light), lipgloss.Color(dark)) }
	return &theme{
		heading: c("#8250df", "#bc8cff"),
		subtle:  c("#6e7781", "#8b949e"),
		code:    c("#0550ae", "#79c0ff"),
		link:    c("#0969da", "#58a6ff"),
		keyword: c("#cf222e", "#ff7b72"),
		str:     c("#0a3069", "#a5d6ff"),
		comment: c("#6e7781", "#8b949e"),
		number:  c("#0550ae", "#79c0ff"),
		fn:      c("#8250df", "#d2a8ff"),
		builtin: c("#953800", "#ffa657"),
	}
}

// paint renders s in the inline style st. It writes SGR sequences itself
// (x/ansi) rather than through lipgloss, whose Render underlines and
// strikes through rune by rune and measures the text again for every word.
func (t *theme) paint(s string, st style) string {
	if st == 0 || s == "" {
		return s
	}
	var a ansi.Style
	if st&sBold != 0 {
		a = a.Bold()
	}
	if st&sItalic != 0 {
		a = a.Italic(true)
	}
	if st&sStrike != 0 {
		a = a.Strikethrough(true)
	}
	switch {
	case st&sCode != 0:
		a = a.ForegroundColor(t.code)
	case st&sURL != 0:
		a = a.ForegroundColor(t.subtle)
	case st&sLink != 0:
		a = a.ForegroundColor(t.link).Underline(true)
	case st&sHeading != 0:
		a = a.ForegroundColor(t.heading)
	}
	return a.Styled(s)
}

// fg renders s in colour c, each line on its own (a style never runs
// past a line end, where a caller may cut or indent).
func fg(s string, c color.Color, italic bool) string {
	a := ansi.Style{}.ForegroundColor(c)
	if italic {
		a = a.Italic(true)
	}
	lines := splitLines(s)
	for i, l := range lines {
		if l != "" {
			lines[i] = a.Styled(l)
		}
	}
	return strings.Join(lines, "\n")
}
