package main

import (
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/ui"
)

// narration renders a lesson's Markdown for w: styled on a terminal (its
// width, a dark background unless COLORFGBG says light), plain text
// elsewhere or under NO_COLOR, never raw Markdown.
func narration(w io.Writer, text string) string {
	if strings.TrimSpace(text) == "" || w == io.Discard {
		return ""
	}
	width, tty := 80, false
	if f, ok := w.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
			width, tty = int(ws.Col), true
		}
	}
	out := ui.RenderMarkdown(text, min(width, 100), darkBackground())
	if !tty || os.Getenv("NO_COLOR") != "" {
		out = plain(out)
	}
	return out
}

// darkBackground reads COLORFGBG ("15;0": light text on black), which
// many terminals set; without it, dark.
func darkBackground() bool {
	v := os.Getenv("COLORFGBG")
	i := strings.LastIndex(v, ";")
	if i < 0 {
		return true
	}
	switch v[i+1:] {
	case "7", "15":
		return false
	}
	return true
}

// plain strips the styling and the trailing padding the renderer adds to
// every line.
func plain(s string) string {
	lines := strings.Split(ansi.Strip(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
