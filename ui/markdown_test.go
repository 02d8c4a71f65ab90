package ui

import (
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/scenarios"
)

// TestEveryLessonRenders renders the narration of every lesson in the
// catalog at the widths the TUI uses and checks what a learner would: no
// word of the text is lost, markup does not show, and no line is wider
// than the column.
func TestEveryLessonRenders(t *testing.T) {
	cat, errs := scenarios.Catalog()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	word := regexp.MustCompile(`[A-Za-z][A-Za-z0-9-]+`)
	n := 0
	for _, sc := range cat {
		texts := []string{sc.Intro}
		for _, st := range sc.Steps {
			texts = append(texts, st.Prose)
		}
		for _, text := range texts {
			for _, w := range []int{44, 66, 80, 110} {
				out := RenderMarkdown(text, w, true)
				shown := ansi.Strip(out)
				have := map[string]bool{}
				for _, x := range word.FindAllString(shown, -1) {
					have[x] = true
				}
				for _, x := range word.FindAllString(text, -1) {
					if !have[x] {
						t.Errorf("%s at width %d: %q is missing from\n%s", sc.ID, w, x, shown)
					}
				}
				for _, l := range strings.Split(shown, "\n") {
					if ansi.StringWidth(l) > w {
						t.Errorf("%s at width %d: line %q is %d wide", sc.ID, w, l, ansi.StringWidth(l))
					}
					if t := strings.TrimSpace(l); strings.HasPrefix(t, "**") || strings.Contains(l, "`") {
						n++ // counted below: markup left as text
					}
				}
			}
		}
	}
	if n > 0 {
		t.Errorf("%d rendered lines still show ** or ` markup", n)
	}
}

func TestMarkdownCacheIsPerWidthAndTheme(t *testing.T) {
	m := newMarkdown()
	a := m.Render("some `code`", 40, true)
	if b := m.Render("some `code`", 40, false); a == b {
		t.Error("light and dark gave the same colours")
	}
	if got := ansi.Strip(m.Render("one two three", 10, true)); got != "  one two\n  three" {
		t.Errorf("at width 10: %q", got)
	}
	if len(m.cache) != 3 {
		t.Errorf("%d entries cached, want 3", len(m.cache))
	}
}
