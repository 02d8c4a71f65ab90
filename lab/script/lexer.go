package script

import (
	"fmt"
	"strings"
)

// Token is one word of a command line, with its 1-based column.
type Token struct {
	Text string
	Col  int
}

// SyntaxError is an error in a command or scenario file, with where it is.
type SyntaxError struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (e *SyntaxError) Error() string {
	file := e.File
	if file == "" {
		file = "<input>"
	}
	return fmt.Sprintf("%s:%d:%d: %s", file, e.Line, e.Col, e.Msg)
}

// lex splits a line into words. Words are separated by blanks; 'single' and
// "double" quotes group words; # starts a comment at the start of a word.
func lex(file string, line int, text string) ([]Token, error) {
	var toks []Token
	i := 0
	for i < len(text) {
		c := text[i]
		if c == ' ' || c == '\t' || c == '\r' {
			i++
			continue
		}
		if c == '#' {
			break
		}
		start := i
		var b strings.Builder
		for i < len(text) && text[i] != ' ' && text[i] != '\t' && text[i] != '\r' {
			if q := text[i]; q == '"' || q == '\'' {
				end := strings.IndexByte(text[i+1:], q)
				if end < 0 {
					return nil, &SyntaxError{file, line, i + 1, fmt.Sprintf("unclosed %c quote: add a closing %c", q, q)}
				}
				b.WriteString(text[i+1 : i+1+end])
				i += end + 2
				continue
			}
			b.WriteByte(text[i])
			i++
		}
		toks = append(toks, Token{Text: b.String(), Col: start + 1})
	}
	return toks, nil
}

// quote renders a word for a shell line.
func quote(s string) string {
	if s == "" {
		return "''"
	}
	if strings.ContainsAny(s, " \t'\"$`\\|&;<>()*?[]#~!{}") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
