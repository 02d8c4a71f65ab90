package prose

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Margin is the blank space Render leaves on each side.
const Margin = 2

// Render returns Markdown text rendered for a terminal width cells wide
// with a dark or light background: blocks separated by blank lines, a
// margin of two cells each side, paragraphs wrapped, no trailing newline.
// No line is wider than width (a code line too long is wrapped, not cut),
// unless width is too narrow to hold a word.
func Render(text string, width int, dark bool) string {
	lines := splitLines(strings.ReplaceAll(text, "\r\n", "\n"))
	for i, l := range lines {
		lines[i] = expandTabs(l)
	}
	r := renderer{t: newTheme(dark)}
	out := r.blocks(parse(lines), max(width-2*Margin, 8), 0, false)
	pad := strings.Repeat(" ", Margin)
	for i, l := range out {
		if l != "" {
			out[i] = pad + l
		}
	}
	return strings.Join(out, "\n")
}

type renderer struct{ t *theme }

// blocks renders bs in w cells; depth counts enclosing lists. In a tight
// list item, blocks follow each other without a blank line.
func (r renderer) blocks(bs []*block, w, depth int, tight bool) []string {
	w = max(w, 1) // nested deeper than the screen is wide: a letter a line
	var out []string
	for i, b := range bs {
		if i > 0 && !tight {
			out = append(out, "")
		}
		out = append(out, r.block(b, w, depth)...)
	}
	return out
}

func (r renderer) block(b *block, w, depth int) []string {
	switch b.kind {
	case kHeading:
		mark := strings.Repeat("#", b.level) + " "
		spans := inline(strings.Join(b.lines, "\n"))
		for i := range spans {
			spans[i].st |= sBold | sHeading
		}
		lines := r.wrap(spans, w-len(mark))
		for i, l := range lines {
			p := strings.Repeat(" ", len(mark))
			if i == 0 {
				p = fg(mark, r.t.subtle, false)
			}
			lines[i] = p + l
		}
		return lines
	case kPara:
		return r.wrap(inline(strings.Join(b.lines, "\n")), w)
	case kCode:
		return r.code(b, w)
	case kQuote:
		bar := fg("│ ", r.t.subtle, false)
		lines := r.blocks(b.children, w-2, depth, false)
		for i, l := range lines {
			lines[i] = bar + l
		}
		return lines
	case kList:
		return r.list(b, w, depth)
	case kRule:
		return []string{fg(strings.Repeat("─", w), r.t.subtle, false)}
	case kTable:
		return r.table(b, w)
	}
	return nil
}

var bullets = [...]string{"•", "◦", "▪"}

func (r renderer) list(b *block, w, depth int) []string {
	marks := make([]string, len(b.items))
	mw := 0
	for i := range b.items {
		if b.ordered {
			marks[i] = fmt.Sprintf("%d.", b.start+i)
		} else {
			marks[i] = bullets[depth%len(bullets)]
		}
		mw = max(mw, ansi.StringWidth(marks[i]))
	}
	mw++ // a space after the marker
	var out []string
	for i, item := range b.items {
		if i > 0 && b.loose {
			out = append(out, "")
		}
		lines := r.blocks(item, w-mw, depth+1, !b.loose)
		if len(lines) == 0 {
			lines = []string{""}
		}
		for k, l := range lines {
			p := strings.Repeat(" ", mw)
			if k == 0 {
				m := marks[i]
				p = strings.Repeat(" ", mw-1-ansi.StringWidth(m)) + fg(m, r.t.subtle, false) + " "
			}
			if l == "" {
				p = ""
			}
			out = append(out, p+l)
		}
	}
	return out
}

// code renders a code block indented by two cells: Go highlighted, shell
// comments dimmed, anything else in the code colour. Lines wider than the
// room are wrapped, never cut: a learner may copy them.
func (r renderer) code(b *block, w int) []string {
	src := strings.Join(b.lines, "\n")
	var text string
	switch b.lang {
	case "go", "golang":
		text = highlightGo(src, r.t)
	case "sh", "shell", "bash", "console":
		ls := splitLines(src)
		for i, l := range ls {
			if c := strings.Index(l, "#"); c >= 0 && (c == 0 || l[c-1] == ' ') {
				ls[i] = fg(l[:c], r.t.code, false) + fg(l[c:], r.t.comment, true)
			} else {
				ls[i] = fg(l, r.t.code, false)
			}
		}
		text = strings.Join(ls, "\n")
	default:
		text = fg(src, r.t.code, false)
	}
	room := max(w-2, 4)
	var out []string
	for _, l := range splitLines(text) {
		if ansi.StringWidth(l) > room {
			for _, part := range splitLines(ansi.Hardwrap(l, room, true)) {
				out = append(out, "  "+part)
			}
			continue
		}
		out = append(out, "  "+l)
	}
	return out
}

// table renders rows in aligned columns when they fit in w; otherwise each
// row as "header: value" lines, which read at any width.
func (r renderer) table(b *block, w int) []string {
	ncol := len(b.rows[0])
	cells := make([][]string, len(b.rows))
	widths := make([]int, ncol)
	for i, row := range b.rows {
		cells[i] = make([]string, ncol)
		for j := 0; j < ncol; j++ {
			st := style(0)
			if i == 0 {
				st = sBold
			}
			txt := ""
			if j < len(row) {
				txt = r.flat(row[j], st)
			}
			cells[i][j] = txt
			widths[j] = max(widths[j], ansi.StringWidth(txt))
		}
	}
	total := 3 * (ncol - 1)
	for _, cw := range widths {
		total += cw
	}
	sep := fg(" │ ", r.t.subtle, false)
	if total <= w {
		var out []string
		for i, row := range cells {
			var b strings.Builder
			for j, c := range row {
				if j > 0 {
					b.WriteString(sep)
				}
				b.WriteString(c)
				if j < ncol-1 {
					b.WriteString(strings.Repeat(" ", widths[j]-ansi.StringWidth(c)))
				}
			}
			out = append(out, b.String())
			if i == 0 {
				parts := make([]string, ncol)
				for j, cw := range widths {
					parts[j] = strings.Repeat("─", cw)
				}
				out = append(out, fg(strings.Join(parts, "─┼─"), r.t.subtle, false))
			}
		}
		return out
	}
	var out []string
	for i, row := range b.rows[1:] {
		if i > 0 {
			out = append(out, "")
		}
		for j := 0; j < ncol; j++ {
			v := ""
			if j < len(row) {
				v = row[j]
			}
			spans := append([]span{{text: ansi.Strip(cells[0][j]) + ":", st: sBold}, {text: " "}}, inline(v)...)
			out = append(out, r.wrap(spans, w)...)
		}
	}
	return out
}

// flat renders inline Markdown on one line, with extra style st.
func (r renderer) flat(s string, st style) string {
	var b strings.Builder
	for _, sp := range inline(s) {
		b.WriteString(r.t.paint(strings.ReplaceAll(sp.text, "\n", " "), sp.st|st))
	}
	return b.String()
}

// word is what wrapping never breaks: text between spaces, in pieces of
// one style each ("**bold**," is two).
type word []span

// wrap lays spans out in lines at most w cells wide, breaking at spaces
// and at hard breaks. A word wider than w gets lines of its own.
func (r renderer) wrap(spans []span, w int) []string {
	var lines []string
	var line strings.Builder
	lineW := 0
	endLine := func() {
		lines = append(lines, line.String())
		line.Reset()
		lineW = 0
	}
	var cur word
	put := func() {
		if len(cur) == 0 {
			return
		}
		ww := 0
		for _, p := range cur {
			ww += ansi.StringWidth(p.text)
		}
		if lineW > 0 && lineW+1+ww > w {
			endLine()
		}
		if lineW > 0 {
			line.WriteByte(' ')
			lineW++
		}
		var s strings.Builder
		for _, p := range cur {
			s.WriteString(r.t.paint(p.text, p.st))
		}
		if ww > w {
			parts := splitLines(ansi.Hardwrap(s.String(), w, true))
			for _, p := range parts[:len(parts)-1] {
				line.WriteString(p)
				endLine()
			}
			line.WriteString(parts[len(parts)-1])
			lineW = ansi.StringWidth(parts[len(parts)-1])
		} else {
			line.WriteString(s.String())
			lineW += ww
		}
		cur = nil
	}
	for _, sp := range spans {
		start := 0
		for i := 0; i <= len(sp.text); i++ {
			if i < len(sp.text) && sp.text[i] != ' ' && sp.text[i] != '\n' {
				continue
			}
			if i > start {
				cur = append(cur, span{text: sp.text[start:i], st: sp.st})
			}
			if i < len(sp.text) {
				put()
				if sp.text[i] == '\n' {
					endLine()
				}
			}
			start = i + 1
		}
	}
	put()
	if lineW > 0 || len(lines) == 0 {
		endLine()
	}
	return lines
}

func splitLines(s string) []string { return strings.Split(s, "\n") }
