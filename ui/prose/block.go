package prose

import (
	"strings"
)

// kind is what a block is.
type kind int

const (
	kPara kind = iota
	kHeading
	kCode
	kQuote
	kList
	kRule
	kTable
)

// block is one block of a document. Which fields mean something depends on
// kind: lines for paragraphs, headings and code; children for quotes;
// items for lists; rows for tables (the header first).
type block struct {
	kind     kind
	level    int      // heading level, 1-6
	lines    []string // text of a paragraph or heading; lines of code
	lang     string   // a code block's info word ("go", "sh", "")
	children []*block // a quote's content
	items    [][]*block
	ordered  bool
	start    int  // an ordered list's first number
	loose    bool // a list whose items are separated by blank lines
	rows     [][]string
}

// parse splits lines (tabs already expanded) into blocks.
func parse(lines []string) []*block {
	var out []*block
	for i := 0; i < len(lines); {
		l := lines[i]
		if isBlank(l) {
			i++
			continue
		}
		var b *block
		switch {
		case indentOf(l) >= 4:
			b, i = parseIndentedCode(lines, i)
		case isFence(l):
			b, i = parseFence(lines, i)
		case headingLevel(l) > 0:
			lv := headingLevel(l)
			b, i = &block{kind: kHeading, level: lv, lines: []string{headingText(l, lv)}}, i+1
		case isRule(l):
			b, i = &block{kind: kRule}, i+1
		case isQuote(l):
			b, i = parseQuote(lines, i)
		case isTableStart(lines, i):
			b, i = parseTable(lines, i)
		default:
			if _, ok := listMarkerOf(l); ok {
				b, i = parseList(lines, i)
			} else {
				b, i = parsePara(lines, i)
			}
		}
		out = append(out, b)
	}
	return out
}

func parseIndentedCode(lines []string, i int) (*block, int) {
	var code []string
	for ; i < len(lines) && (isBlank(lines[i]) || indentOf(lines[i]) >= 4); i++ {
		code = append(code, cutIndent(lines[i], 4))
	}
	for len(code) > 0 && isBlank(code[len(code)-1]) {
		code = code[:len(code)-1]
	}
	return &block{kind: kCode, lines: code}, i
}

func parseFence(lines []string, i int) (*block, int) {
	ind := indentOf(lines[i])
	open := lines[i][ind:]
	ch := open[0]
	n := len(open) - len(strings.TrimLeft(open, string(ch)))
	lang, _, _ := strings.Cut(strings.TrimSpace(open[n:]), " ")
	b := &block{kind: kCode, lang: strings.ToLower(lang)}
	for i++; i < len(lines); i++ {
		l := lines[i]
		if t := strings.TrimSpace(l); indentOf(l) < 4 && len(t) >= n && strings.Trim(t, string(ch)) == "" && t[0] == ch {
			return b, i + 1
		}
		b.lines = append(b.lines, cutIndent(l, ind))
	}
	return b, i // an unclosed fence runs to the end, as in CommonMark
}

func parseQuote(lines []string, i int) (*block, int) {
	var inner []string
	for ; i < len(lines); i++ {
		l := lines[i]
		if isQuote(l) {
			rest := l[indentOf(l)+1:]
			inner = append(inner, strings.TrimPrefix(rest, " "))
			continue
		}
		// A lazy continuation: paragraph text right after quoted text.
		if isBlank(l) || startsBlock(l) || len(inner) == 0 || isBlank(inner[len(inner)-1]) {
			break
		}
		inner = append(inner, strings.TrimLeft(l, " "))
	}
	return &block{kind: kQuote, children: parse(inner)}, i
}

func parsePara(lines []string, i int) (*block, int) {
	b := &block{kind: kPara}
	for ; i < len(lines); i++ {
		l := lines[i]
		if isBlank(l) {
			break
		}
		if len(b.lines) > 0 {
			if lv := setextLevel(l); lv > 0 {
				b.kind, b.level = kHeading, lv
				return b, i + 1
			}
			if interrupts(l) {
				break
			}
		}
		b.lines = append(b.lines, strings.TrimLeft(l, " "))
	}
	return b, i
}

func parseList(lines []string, i int) (*block, int) {
	first, _ := listMarkerOf(lines[i])
	b := &block{kind: kList, ordered: first.ordered, start: first.num}
	for i < len(lines) {
		m, ok := listMarkerOf(lines[i])
		if !ok || m.ordered != first.ordered || m.ch != first.ch || isRule(lines[i]) {
			break
		}
		item := []string{restFrom(lines[i], m.content)}
		j := i + 1
		for j < len(lines) {
			l := lines[j]
			switch {
			case isBlank(l):
				item = append(item, "")
			case indentOf(l) >= m.content:
				item = append(item, cutIndent(l, m.content))
			case isBlank(item[len(item)-1]) || startsBlock(l):
				goto end
			default: // a lazy continuation of the item's paragraph
				item = append(item, strings.TrimLeft(l, " "))
			}
			j++
		}
	end:
		trailing := 0
		for len(item) > 1 && isBlank(item[len(item)-1]) {
			item, trailing = item[:len(item)-1], trailing+1
		}
		if hasInnerBlank(item) {
			b.loose = true
		}
		b.items = append(b.items, parse(item))
		i = j
		if next, ok := listMarkerOf(lineAt(lines, i)); ok && trailing > 0 && next.ch == first.ch {
			b.loose = true
		}
	}
	return b, i
}

func parseTable(lines []string, i int) (*block, int) {
	b := &block{kind: kTable, rows: [][]string{tableCells(lines[i])}}
	for i += 2; i < len(lines); i++ {
		l := lines[i]
		if isBlank(l) || !strings.Contains(l, "|") || startsBlock(l) {
			break
		}
		b.rows = append(b.rows, tableCells(l))
	}
	return b, i
}

// marker is a list item's marker: '-', '*', '+', or '.' / ')' after a number.
type marker struct {
	ordered bool
	ch      byte
	num     int
	content int // the column where the item's content starts
}

func listMarkerOf(l string) (marker, bool) {
	ind := indentOf(l)
	if ind > 3 {
		return marker{}, false
	}
	s := l[ind:]
	m := marker{}
	w := 0
	switch {
	case s == "":
		return m, false
	case s[0] == '-' || s[0] == '*' || s[0] == '+':
		m.ch, w = s[0], 1
	default:
		for w < len(s) && w < 9 && s[w] >= '0' && s[w] <= '9' {
			m.num = m.num*10 + int(s[w]-'0')
			w++
		}
		if w == 0 || w >= len(s) || (s[w] != '.' && s[w] != ')') {
			return m, false
		}
		m.ordered, m.ch = true, s[w]
		w++
	}
	rest := s[w:]
	if rest != "" && rest[0] != ' ' {
		return m, false
	}
	sp := len(rest) - len(strings.TrimLeft(rest, " "))
	if sp == 0 || sp > 4 || strings.TrimSpace(rest) == "" {
		sp = 1
	}
	m.content = ind + w + sp
	return m, true
}

// startsBlock reports whether l begins a block other than a paragraph.
func startsBlock(l string) bool {
	if indentOf(l) > 3 {
		return false
	}
	_, list := listMarkerOf(l)
	return list || isFence(l) || headingLevel(l) > 0 || isRule(l) || isQuote(l)
}

// interrupts reports whether l ends the paragraph before it: a list may
// interrupt one only with a non-empty item, and an ordered one only from 1.
func interrupts(l string) bool {
	if m, ok := listMarkerOf(l); ok {
		return strings.TrimSpace(l[min(m.content, len(l)):]) != "" && (!m.ordered || m.num == 1)
	}
	return startsBlock(l)
}

func isFence(l string) bool {
	ind := indentOf(l)
	if ind > 3 {
		return false
	}
	s := l[ind:]
	for _, f := range []string{"```", "~~~"} {
		if strings.HasPrefix(s, f) {
			return f[0] == '~' || !strings.Contains(strings.TrimLeft(s, "`"), "`")
		}
	}
	return false
}

func headingLevel(l string) int {
	ind := indentOf(l)
	if ind > 3 {
		return 0
	}
	s := l[ind:]
	n := len(s) - len(strings.TrimLeft(s, "#"))
	if n == 0 || n > 6 || (len(s) > n && s[n] != ' ') {
		return 0
	}
	return n
}

func headingText(l string, level int) string {
	s := strings.TrimSpace(strings.TrimSpace(l)[level:])
	// A closing run of #s, after a space, is not part of the text.
	if t := strings.TrimRight(s, "#"); t != s && (t == "" || strings.HasSuffix(t, " ")) {
		s = strings.TrimSpace(t)
	}
	return s
}

func setextLevel(l string) int {
	t := strings.TrimSpace(l)
	if indentOf(l) > 3 || t == "" {
		return 0
	}
	switch {
	case strings.Trim(t, "=") == "":
		return 1
	case strings.Trim(t, "-") == "":
		return 2
	}
	return 0
}

func isRule(l string) bool {
	if indentOf(l) > 3 {
		return false
	}
	t := strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(l), " ", ""), "\t", "")
	if len(t) < 3 {
		return false
	}
	c := t[0]
	return (c == '-' || c == '*' || c == '_') && strings.Trim(t, string(c)) == ""
}

func isQuote(l string) bool {
	ind := indentOf(l)
	return ind <= 3 && ind < len(l) && l[ind] == '>'
}

// isTableStart reports whether lines[i] is a table's header: a line with a
// pipe, then a delimiter row (|---|:--:|) with as many cells.
func isTableStart(lines []string, i int) bool {
	if i+1 >= len(lines) || !strings.Contains(lines[i], "|") || !strings.Contains(lines[i+1], "-") {
		return false
	}
	head, delim := tableCells(lines[i]), tableCells(lines[i+1])
	if len(head) != len(delim) {
		return false
	}
	for _, c := range delim {
		c = strings.TrimSuffix(strings.TrimPrefix(c, ":"), ":")
		if c == "" || strings.Trim(c, "-") != "" {
			return false
		}
	}
	return true
}

// tableCells splits a table row at its unescaped pipes.
func tableCells(l string) []string {
	s := strings.TrimSpace(l)
	s = strings.TrimPrefix(s, "|")
	if strings.HasSuffix(s, "|") && !strings.HasSuffix(s, `\|`) {
		s = s[:len(s)-1]
	}
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '|':
			cur.WriteByte('|')
			i++
		case s[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

func isBlank(l string) bool { return strings.TrimSpace(l) == "" }

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// cutIndent removes up to n leading spaces.
func cutIndent(l string, n int) string {
	return l[min(n, indentOf(l)):]
}

// restFrom is l from column c, or "" if it is shorter.
func restFrom(l string, c int) string {
	if c >= len(l) {
		return ""
	}
	return l[c:]
}

func lineAt(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return ""
}

// hasInnerBlank reports whether a list item's lines have a blank line
// between two of its blocks (not inside a fenced code block).
func hasInnerBlank(item []string) bool {
	fenced := false
	for k, l := range item {
		if indentOf(l) < 4 && isFence(l) {
			fenced = !fenced
		}
		if !fenced && isBlank(l) && k > 0 && k < len(item)-1 && indentOf(item[k+1]) < 4 {
			return true
		}
	}
	return false
}

// expandTabs turns tabs into spaces to the next multiple of 4 columns, as
// CommonMark reads indentation.
func expandTabs(l string) string {
	if !strings.Contains(l, "\t") {
		return l
	}
	var b strings.Builder
	col := 0
	for _, r := range l {
		if r == '\t' {
			n := 4 - col%4
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteRune(r)
		col++
	}
	return b.String()
}
