package ui

import "github.com/nslab/nslab/ui/prose"

// RenderMarkdown renders Markdown text (a lesson's narration) for a
// terminal width cells wide with a dark or light background: wrapped,
// with a margin of two cells each side, headings, emphasis, lists and code
// coloured, Go highlighted. The result holds ANSI colours; a caller writing
// to something other than a terminal strips or downsamples them.
func RenderMarkdown(text string, width int, dark bool) string {
	return prose.Render(text, width, dark)
}

// markdown renders narration once per text, width and theme: View runs at
// every frame and must not lay out the same paragraphs again.
type markdown struct {
	cache map[mdKey]string
}

type mdKey struct {
	text  string
	width int
	dark  bool
}

func newMarkdown() *markdown { return &markdown{cache: map[mdKey]string{}} }

// Render returns text rendered for width.
func (m *markdown) Render(text string, width int, dark bool) string {
	k := mdKey{text, width, dark}
	if s, ok := m.cache[k]; ok {
		return s
	}
	out := RenderMarkdown(text, width, dark)
	if len(m.cache) > 256 {
		clear(m.cache)
	}
	m.cache[k] = out
	return out
}
