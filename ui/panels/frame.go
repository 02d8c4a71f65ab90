package panels

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Fit truncates s (which may hold ANSI styles) to w cells, with an
// ellipsis, and pads it with spaces to exactly w cells.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		s = ansi.Truncate(s, w, "…")
		n = ansi.StringWidth(s)
	}
	if n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// FitBlock makes a block exactly w cells wide and h lines high: long lines
// are truncated, missing ones are blank.
func FitBlock(s string, w, h int) string {
	if h <= 0 || w <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	var b strings.Builder
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		b.WriteString(Fit(l, w))
	}
	return b.String()
}

// Frame draws body inside style's border, with title on the top edge, as a
// block of exactly w x h cells (border included). The body is cut to fit;
// one space of padding on either side.
func Frame(style lipgloss.Style, titleStyle lipgloss.Style, title, body string, w, h int) string {
	if w < 4 || h < 2 {
		return FitBlock(body, w, h)
	}
	bd := style.GetBorderStyle()
	paint := lipgloss.NewStyle().Foreground(style.GetBorderTopForeground())
	if style.GetBold() {
		paint = paint.Bold(true)
	}
	inner := w - 4
	top := bd.TopLeft + bd.Top
	if title != "" {
		t := titleStyle.Render(ansi.Truncate(" "+title+" ", w-4, "…"))
		fill := w - 3 - ansi.StringWidth(t)
		top = paint.Render(bd.TopLeft+bd.Top) + t + paint.Render(strings.Repeat(bd.Top, max(fill, 0))+bd.TopRight)
	} else {
		top = paint.Render(bd.TopLeft + strings.Repeat(bd.Top, w-2) + bd.TopRight)
	}
	var b strings.Builder
	b.WriteString(top)
	left, right := paint.Render(bd.Left), paint.Render(bd.Right)
	if h > 2 {
		for _, l := range strings.Split(FitBlock(body, inner, h-2), "\n") {
			b.WriteByte('\n')
			b.WriteString(left + " " + l + " " + right)
		}
	}
	b.WriteByte('\n')
	b.WriteString(paint.Render(bd.BottomLeft + strings.Repeat(bd.Bottom, w-2) + bd.BottomRight))
	return b.String()
}

// PadLines makes block exactly h lines high, adding blank lines of width w
// or dropping extra ones. Unlike FitBlock it trusts the lines' widths: use
// it on blocks that are already w wide (Frame's, FitBlock's), where
// measuring every line again would cost more than drawing them.
func PadLines(block string, w, h int) string {
	n := strings.Count(block, "\n") + 1
	if n > h {
		i := 0
		for k := 0; k < h; k++ {
			i += strings.IndexByte(block[i:], '\n') + 1
		}
		return block[:i-1]
	}
	if n == h {
		return block
	}
	return block + strings.Repeat("\n"+strings.Repeat(" ", w), h-n)
}

// JoinExact puts blocks side by side, line by line. Each block must be
// exactly its width wide and h lines high (Frame, FitBlock, PadLines).
func JoinExact(h int, blocks ...string) string {
	rows := make([][]string, len(blocks))
	for i, b := range blocks {
		rows[i] = strings.SplitN(b, "\n", h)
	}
	var out strings.Builder
	for y := 0; y < h; y++ {
		if y > 0 {
			out.WriteByte('\n')
		}
		for _, r := range rows {
			if y < len(r) {
				out.WriteString(r[y])
			}
		}
	}
	return out.String()
}
