package prose

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// plain renders src at width w and returns what a monochrome screen shows.
func plain(src string, w int) string { return ansi.Strip(Render(src, w, true)) }

func TestRenderBlocks(t *testing.T) {
	tests := []struct {
		name, src string
		width     int
		want      string
	}{
		{"a paragraph is wrapped at the width, inside a margin of two",
			"one two three four five six seven eight nine ten", 24,
			"  one two three four\n  five six seven eight\n  nine ten"},
		{"hand-wrapped lines join into one paragraph",
			"one\ntwo\nthree", 40, "  one two three"},
		{"two spaces at a line end break the line",
			"one  \ntwo", 40, "  one\n  two"},
		{"blocks are separated by one blank line",
			"para one\n\n\n\npara two", 40, "  para one\n\n  para two"},
		{"a heading keeps its level marker",
			"## Heading *two*\ntext", 40, "  ## Heading two\n\n  text"},
		{"a setext heading is a heading",
			"Title\n=====", 40, "  # Title"},
		{"a bullet list, tight, with a wrapped item hanging under its text",
			"- alpha beta gamma delta\n- two", 22,
			"  • alpha beta gamma\n    delta\n  • two"},
		{"a nested list gets another bullet",
			"- one\n  - inner\n- two", 40, "  • one\n    ◦ inner\n  • two"},
		{"a loose list keeps blank lines between items",
			"- one\n\n- two", 40, "  • one\n\n  • two"},
		{"an ordered list counts from its first number, aligned",
			"9. nine\n10. ten", 40, "   9. nine\n  10. ten"},
		{"a lazy continuation line stays in its item",
			"- one\ncontinued\n- two", 40, "  • one continued\n  • two"},
		{"a quote gets a bar",
			"> quoted\n> text", 40, "  │ quoted text"},
		{"a fenced code block is indented, not wrapped into a paragraph",
			"```\na  b\n  c\n```", 40, "    a  b\n      c"},
		{"an indented code block is code",
			"text\n\n    ip link\n    ip addr", 40, "  text\n\n    ip link\n    ip addr"},
		{"a code line too long for the width is wrapped, not cut",
			"```\nabcdefghij\n```", 12, "    abcdef\n    ghij"},
		{"a rule spans the width",
			"---", 12, "  ────────"},
		{"a table that fits is drawn in columns",
			"| a | bb |\n|---|:-:|\n| ccc | d |", 40,
			"  a   │ bb\n  ────┼───\n  ccc │ d"},
		{"a table too wide reads as header: value lines",
			"| name | what |\n|---|---|\n| x | a long description here |", 20,
			"  name: x\n  what: a long\n  description here"},
		{"an unclosed fence runs to the end",
			"```go\nx := 1", 40, "    x := 1"},
		{"text with no markup is unchanged but for the margin",
			"plain", 40, "  plain"},
		{"an empty text renders as nothing", "", 40, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plain(tt.src, tt.width); got != tt.want {
				t.Errorf("Render(%q, %d):\n%s\nwant:\n%s", tt.src, tt.width, got, tt.want)
			}
		})
	}
}

func TestRenderDeepNesting(t *testing.T) {
	got := plain("> > > > > > > > a\n\n- - - - - - - - - b", 12)
	if !strings.Contains(got, "a") || !strings.HasSuffix(got, "b") {
		t.Errorf("nesting deeper than the width lost the text:\n%s", got)
	}
}

func TestRenderInline(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"emphasis markers disappear", "*a* **b** ***c*** _d_ __e__ ~~f~~", "a b c d e f"},
		{"snake_case is not emphasis", "pidfd_getfd and snake_case_name", "pidfd_getfd and snake_case_name"},
		{"a lone star stays", "2 * 3 and a*", "2 * 3 and a*"},
		{"code keeps what is inside, markers too", "`*x*` and ``a ` b``", "*x* and a ` b"},
		{"an unclosed backtick is text", "a ` b", "a ` b"},
		{"a link shows its text and target", "[man](https://man7.org)", "man (https://man7.org)"},
		{"a link to itself shows once", "[https://x.org](https://x.org)", "https://x.org"},
		{"an autolink shows its target", "<https://x.org>", "https://x.org"},
		{"a backslash escapes markup", `\*not\* \_em\_`, "*not* _em_"},
		{"an image shows its description", "![a diagram](d.png)", "a diagram (d.png)"},
		{"brackets that are no link stay", "[x] and [y]", "[x] and [y]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.TrimSpace(plain(tt.src, 200)); got != tt.want {
				t.Errorf("Render(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}

// TestRenderStyles checks the attributes a colour terminal gets.
func TestRenderStyles(t *testing.T) {
	tests := []struct {
		name, src, word, sgr string
	}{
		{"strong is bold", "**word**", "word", "\x1b[1m"},
		{"emphasis is italic", "*word*", "word", "\x1b[3m"},
		{"strikethrough is struck", "~~word~~", "word", "\x1b[9m"},
		{"inline code is in the code colour", "`word`", "word", "\x1b[38;2;121;192;255m"},
		{"a link is underlined", "[word](u)", "word", ";4m"},
		{"a heading is bold in the accent colour", "# word", "word", "\x1b[1;38;2;188;140;255m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Render(tt.src, 40, true)
			i := strings.Index(got, tt.word)
			if i < 0 || !strings.Contains(got[:i], tt.sgr) {
				t.Errorf("Render(%q) = %q: want %q before %q", tt.src, got, tt.sgr, tt.word)
			}
		})
	}
	t.Run("a style never runs past a line end", func(t *testing.T) {
		got := Render("**"+strings.Repeat("bold ", 20)+"**\n\n```go\n/* a\nb */\n```", 30, true)
		for _, l := range strings.Split(got, "\n") {
			if strings.Count(l, "\x1b[") > 0 && !strings.HasSuffix(l, "\x1b[m") {
				t.Errorf("line %q leaves a style open", l)
			}
		}
	})
	t.Run("the light theme has its own colours", func(t *testing.T) {
		if Render("`x`", 40, false) == Render("`x`", 40, true) {
			t.Error("light and dark render alike")
		}
	})
}

func TestRenderFitsTheWidth(t *testing.T) {
	src := "# A heading long enough to wrap at a narrow width\n\n" +
		"Some **bold text** and `code spans` and a [link](https://example.org/a/path) " +
		"in a paragraph that wraps.\n\n- a list item that is long enough to wrap\n  - nested deeper and long enough\n\n" +
		"> a quote that is long enough to wrap as well\n\n```go\nfunc main() { fmt.Println(\"a long line of Go code here\") }\n```\n\n" +
		"| a | b |\n|---|---|\n| one long cell | another long cell |\n"
	for w := 24; w <= 100; w += 4 {
		for _, l := range strings.Split(Render(src, w, true), "\n") {
			if n := ansi.StringWidth(l); n > w {
				t.Errorf("width %d: line %q is %d wide", w, ansi.Strip(l), n)
			}
		}
	}
}

func TestHighlightGo(t *testing.T) {
	src := "// Do runs fn.\nfunc Do(fn func() error) error {\n\ts := `raw\nstring`\n\treturn fmt.Errorf(\"x %d\", 42, nil)\n}"
	got := HighlightGo(src, true)
	if ansi.Strip(got) != src {
		t.Fatalf("the text changed:\n%s", ansi.Strip(got))
	}
	tests := []struct{ token, colour string }{
		{"func", "38;2;255;123;114"},             // keyword
		{"return", "38;2;255;123;114"},           // keyword
		{"Errorf", "38;2;210;168;255"},           // a called function
		{`"x %d"`, "38;2;165;214;255"},           // string
		{"42", "38;2;121;192;255"},               // number
		{"error", "38;2;255;166;87"},             // predeclared
		{"nil", "38;2;255;166;87"},               // predeclared
		{"// Do runs fn.", "38;2;139;148;158;3"}, // comment, italic
	}
	for _, tt := range tests {
		if !strings.Contains(got, "\x1b["+tt.colour+"m"+tt.token+"\x1b[m") {
			t.Errorf("%q is not coloured %s in\n%q", tt.token, tt.colour, got)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if strings.Count(l, "\x1b[")%2 != 0 {
			t.Errorf("line %q leaves a style open (a raw string is coloured line by line)", l)
		}
	}
	t.Run("not Go at all is returned as it is", func(t *testing.T) {
		for _, s := range []string{"", "@@@ #!", "\"unterminated", "`raw"} {
			if got := ansi.Strip(HighlightGo(s, false)); got != s {
				t.Errorf("HighlightGo(%q) = %q", s, got)
			}
		}
	})
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{"# h\n\n- a\n  - b\n\n> q\n\n```go\nx\n```", "**a *b***", "| a |\n|-|\n| b |", "[a](b) <c://d> `e`", "1. x\n2) y"} {
		f.Add(s, 30)
	}
	f.Fuzz(func(t *testing.T, src string, w int) {
		w = 10 + abs(w)%150
		out := Render(src, w, true)
		for _, l := range strings.Split(out, "\n") {
			if n := ansi.StringWidth(l); n > w && !strings.ContainsAny(src, "\t\x00") && isASCIIPrintable(src) {
				// A word wider than the width is hard-wrapped; nothing
				// else may exceed it.
				t.Fatalf("width %d: line %q is %d wide", w, ansi.Strip(l), n)
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func isASCIIPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '\n' && (s[i] < 0x20 || s[i] > 0x7e) {
			return false
		}
	}
	return true
}
