package prose

import (
	"go/scanner"
	"go/token"
	"image/color"
	"strings"
)

// HighlightGo returns src with Go syntax coloured for a dark or light
// background: keywords, strings, numbers, comments, predeclared names and
// called functions. The text is unchanged but for the colours, line for
// line; src need not be a whole file or even valid Go (a snippet from a
// lesson is neither), since go/scanner only splits it into tokens.
func HighlightGo(src string, dark bool) string {
	return highlightGo(src, newTheme(dark))
}

type goTok struct {
	off, end int
	tok      token.Token
	lit      string
}

func highlightGo(src string, t *theme) string {
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(file, []byte(src), func(token.Position, string) {}, scanner.ScanComments)
	var toks []goTok
	for {
		pos, tk, lit := s.Scan()
		if tk == token.EOF {
			break
		}
		if tk == token.SEMICOLON && lit != ";" {
			continue // inserted at a line end, not in the text
		}
		off := file.Offset(pos)
		n := len(lit)
		if lit == "" {
			n = len(tk.String())
		}
		toks = append(toks, goTok{off: off, end: min(off+n, len(src)), tok: tk, lit: lit})
	}
	var b strings.Builder
	last := 0
	for i, g := range toks {
		if g.off < last {
			continue
		}
		b.WriteString(src[last:g.off])
		text := src[g.off:g.end]
		if c, italic := goColour(t, toks, i); c != nil {
			b.WriteString(fg(text, c, italic))
		} else {
			b.WriteString(text)
		}
		last = g.end
	}
	b.WriteString(src[last:])
	return b.String()
}

// goColour is the colour of toks[i], or nil for plain text.
func goColour(t *theme, toks []goTok, i int) (color.Color, bool) {
	g := toks[i]
	switch {
	case g.tok == token.COMMENT:
		return t.comment, true
	case g.tok == token.STRING || g.tok == token.CHAR:
		return t.str, false
	case g.tok == token.INT || g.tok == token.FLOAT || g.tok == token.IMAG:
		return t.number, false
	case g.tok.IsKeyword():
		return t.keyword, false
	case g.tok == token.IDENT && isPredeclared(g.lit):
		return t.builtin, false
	case g.tok == token.IDENT && i+1 < len(toks) && toks[i+1].tok == token.LPAREN && toks[i+1].off == g.end:
		return t.fn, false
	}
	return nil, false
}

// isPredeclared reports whether name is one of Go's predeclared
// identifiers: types, constants, nil and the built-in functions. (A switch,
// not a map: a map literal this size is built at package init, which every
// process of the binary pays.)
func isPredeclared(name string) bool {
	switch name {
	case "any", "bool", "byte", "comparable", "complex64", "complex128", "error",
		"float32", "float64", "int", "int8", "int16", "int32", "int64", "rune",
		"string", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
		"true", "false", "iota", "nil",
		"append", "cap", "clear", "close", "complex", "copy", "delete", "imag",
		"len", "make", "max", "min", "new", "panic", "print", "println", "real",
		"recover":
		return true
	}
	return false
}
