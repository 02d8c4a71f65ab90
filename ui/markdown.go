package ui

import (
	"strings"

	"charm.land/glamour/v2"
)

// markdown renders narration with glamour, once per text, width and theme:
// building a renderer and rendering cost milliseconds, far too much to do
// in every View.
type markdown struct {
	cache map[mdKey]string
	r     *glamour.TermRenderer
	rKey  mdKey
}

type mdKey struct {
	text  string
	width int
	dark  bool
}

func newMarkdown() *markdown { return &markdown{cache: map[mdKey]string{}} }

// Render returns text rendered for width; on a renderer error, the text as
// it is (it is readable Markdown anyway).
func (m *markdown) Render(text string, width int, dark bool) string {
	k := mdKey{text, width, dark}
	if s, ok := m.cache[k]; ok {
		return s
	}
	if m.r == nil || m.rKey.width != width || m.rKey.dark != dark {
		style := "light"
		if dark {
			style = "dark"
		}
		r, err := glamour.NewTermRenderer(glamour.WithStandardStyle(style), glamour.WithWordWrap(max(width-4, 20)))
		if err != nil {
			return text
		}
		m.r, m.rKey = r, mdKey{width: width, dark: dark}
	}
	out, err := m.r.Render(text)
	if err != nil {
		out = text
	}
	out = strings.Trim(out, "\n")
	if len(m.cache) > 256 {
		clear(m.cache)
	}
	m.cache[k] = out
	return out
}
