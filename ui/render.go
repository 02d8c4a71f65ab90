package ui

import "sync"

// shared renders Markdown for callers outside the TUI (nslab run).
var (
	sharedMu sync.Mutex
	shared   = newMarkdown()
)

// RenderMarkdown renders a lesson's Markdown for a terminal width columns
// wide, on a dark or light background, as the TUI shows narration. It is
// safe for concurrent use.
func RenderMarkdown(text string, width int, dark bool) string {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	return shared.Render(text, width, dark)
}
