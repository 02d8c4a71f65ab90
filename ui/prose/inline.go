package prose

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// style is a set of inline styles.
type style uint8

const (
	sBold style = 1 << iota
	sItalic
	sCode
	sStrike
	sLink
	sURL     // a link's target, shown after its text
	sHeading // text of a heading
)

// span is a run of text in one style; "\n" in text is a hard line break.
type span struct {
	text string
	st   style
}

// tok is a span, or a run of emphasis delimiters still to be matched.
type tok struct {
	span
	delim       byte // '*', '_' or '~'; 0 for text
	n           int  // delimiters left in the run
	orig        int  // the run's length as written
	open, close bool // whether the run can open or close emphasis
}

// inline parses a paragraph's text (its lines joined with "\n") into spans.
func inline(src string) []span {
	toks := scanInline(src)
	matchEmphasis(toks)
	var out []span
	for _, t := range toks {
		s := t.span
		if t.delim != 0 {
			s.text = strings.Repeat(string(t.delim), t.n)
		}
		if s.text == "" {
			continue
		}
		if k := len(out) - 1; k >= 0 && out[k].st == s.st {
			out[k].text += s.text
			continue
		}
		out = append(out, s)
	}
	return out
}

// scanInline splits src into text, code spans, links and delimiter runs.
func scanInline(src string) []tok {
	var toks []tok
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			toks = append(toks, tok{span: span{text: text.String()}})
			text.Reset()
		}
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			flush()
			toks = append(toks, tok{span: span{text: "\n"}})
			i += 2
		case c == '\\' && i+1 < len(src) && isASCIIPunct(src[i+1]):
			text.WriteByte(src[i+1])
			i += 2
		case c == '\n':
			// Two spaces before a line end make a hard break; else a space.
			s := text.String()
			hard := strings.HasSuffix(s, "  ")
			text.Reset()
			text.WriteString(strings.TrimRight(s, " "))
			if hard {
				flush()
				toks = append(toks, tok{span: span{text: "\n"}})
			} else {
				text.WriteByte(' ')
			}
			i++
		case c == '`':
			n := runLen(src, i, '`')
			end := closingRun(src, i+n, n)
			if end < 0 {
				text.WriteString(src[i : i+n])
				i += n
				continue
			}
			flush()
			code := strings.ReplaceAll(src[i+n:end], "\n", " ")
			if len(code) > 2 && code[0] == ' ' && code[len(code)-1] == ' ' && strings.TrimSpace(code) != "" {
				code = code[1 : len(code)-1]
			}
			toks = append(toks, tok{span: span{text: code, st: sCode}})
			i = end + n
		case c == '*' || c == '_' || c == '~':
			n := runLen(src, i, c)
			if c == '~' && n > 2 {
				text.WriteString(src[i : i+n])
				i += n
				continue
			}
			flush()
			prev, _ := utf8.DecodeLastRuneInString(src[:i])
			next, _ := utf8.DecodeRuneInString(src[i+n:])
			if i == 0 {
				prev = ' '
			}
			if i+n == len(src) {
				next = ' '
			}
			left := !isSpace(next) && (!isPunct(next) || isSpace(prev) || isPunct(prev))
			right := !isSpace(prev) && (!isPunct(prev) || isSpace(next) || isPunct(next))
			t := tok{delim: c, n: n, orig: n, open: left, close: right}
			if c == '_' { // snake_case stays as it is
				t.open = left && (!right || isPunct(prev))
				t.close = right && (!left || isPunct(next))
			}
			toks = append(toks, t)
			i += n
		case c == '[' || (c == '!' && i+1 < len(src) && src[i+1] == '['):
			img := c == '!'
			start := i
			if img {
				start++
			}
			label, url, end, ok := scanLink(src, start)
			if !ok {
				text.WriteByte(c)
				i++
				continue
			}
			flush()
			inner := inline(label)
			for _, s := range inner {
				toks = append(toks, tok{span: span{text: s.text, st: s.st | sLink}})
			}
			if url != "" && url != label && !strings.HasPrefix(url, "#") {
				toks = append(toks, tok{span: span{text: " (" + url + ")", st: sURL}})
			}
			i = end
		case c == '<':
			end := strings.IndexByte(src[i:], '>')
			url := ""
			if end > 0 {
				url = src[i+1 : i+end]
			}
			if url == "" || strings.ContainsAny(url, " <\n") || !(strings.Contains(url, "://") || strings.Contains(url, "@")) {
				text.WriteByte(c)
				i++
				continue
			}
			flush()
			toks = append(toks, tok{span: span{text: url, st: sLink}})
			i += end + 1
		default:
			text.WriteByte(c)
			i++
		}
	}
	flush()
	return toks
}

// scanLink reads `[label](url "title")` at src[i] ('['): the label, the
// url, and the index just past the link.
func scanLink(src string, i int) (label, url string, end int, ok bool) {
	depth := 0
	j := i
	for ; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '[':
			depth++
		case ']':
			depth--
		}
		if depth == 0 {
			break
		}
	}
	if j >= len(src)-1 || src[j+1] != '(' {
		return "", "", 0, false
	}
	label = src[i+1 : j]
	k := strings.IndexByte(src[j+2:], ')')
	if k < 0 {
		return "", "", 0, false
	}
	dest := strings.TrimSpace(src[j+2 : j+2+k])
	if u, _, found := strings.Cut(dest, " "); found {
		dest = u // drop a title
	}
	dest = strings.TrimSuffix(strings.TrimPrefix(dest, "<"), ">")
	return label, dest, j + 2 + k + 1, true
}

// matchEmphasis pairs delimiter runs into emphasis, as CommonMark's
// "process emphasis" does: each closer takes the nearest opener of its
// kind; two delimiters on each side make strong emphasis, one makes
// emphasis; runs left over stay as text.
func matchEmphasis(toks []tok) {
	for c := 0; c < len(toks); c++ {
		for toks[c].delim != 0 && toks[c].close && toks[c].n > 0 {
			o := opener(toks, c)
			if o < 0 {
				break
			}
			use := 1
			if toks[o].n >= 2 && toks[c].n >= 2 {
				use = 2
			}
			st := sItalic
			switch {
			case toks[c].delim == '~':
				st = sStrike
			case use == 2:
				st = sBold
			}
			for k := o + 1; k < c; k++ {
				toks[k].st |= st
				toks[k].open, toks[k].close = false, false
			}
			toks[o].n -= use
			toks[c].n -= use
		}
	}
}

func opener(toks []tok, c int) int {
	for o := c - 1; o >= 0; o-- {
		t := toks[o]
		if t.delim != toks[c].delim || !t.open || t.n == 0 {
			continue
		}
		// CommonMark's rule of 3: a run that both opens and closes does
		// not pair with one whose length makes the sum a multiple of 3.
		if (t.close || toks[c].open) && (t.orig+toks[c].orig)%3 == 0 && (t.orig%3 != 0 || toks[c].orig%3 != 0) {
			continue
		}
		return o
	}
	return -1
}

// closingRun is the index of the next run of exactly n backticks from i,
// or -1.
func closingRun(s string, i, n int) int {
	for i < len(s) {
		k := strings.IndexByte(s[i:], '`')
		if k < 0 {
			return -1
		}
		i += k
		m := runLen(s, i, '`')
		if m == n {
			return i
		}
		i += m
	}
	return -1
}

func runLen(s string, i int, c byte) int {
	n := 0
	for i+n < len(s) && s[i+n] == c {
		n++
	}
	return n
}

func isASCIIPunct(c byte) bool {
	return c < 0x80 && unicode.IsPunct(rune(c)) || strings.IndexByte("$+<=>^`|~", c) >= 0
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

func isPunct(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }
