package ui

import (
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
)

func TestTheFooterFitsAndSaysWhenKeysAreLeftOut(t *testing.T) {
	st := common.DefaultStyles(true)
	k := DefaultKeyMap()
	bs := []key.Binding{k.Lesson.Help, k.Lesson.Quit, k.Global.Back, k.Lesson.Run, k.Lesson.Next, k.Lesson.Prev, k.Lesson.Tab, k.Lesson.Retry}
	full := strings.TrimRight(ansi.Strip(footerHelp(st, bs, 500)), " ")
	if !strings.HasPrefix(full, "? help · q quit · esc back") || strings.Contains(full, "…") || !strings.Contains(full, "r retry") {
		t.Fatalf("with room for all: %q", full)
	}
	for w := 10; w <= 120; w++ {
		got := ansi.Strip(footerHelp(st, bs, w))
		if n := ansi.StringWidth(got); n != w {
			t.Fatalf("width %d: the footer is %d wide: %q", w, n, got)
		}
		// Keys were left out: an ellipsis says so, unless it does not fit.
		line := strings.TrimRight(got, " ")
		if w < ansi.StringWidth(full) && !strings.HasSuffix(line, "…") && ansi.StringWidth(line)+2 <= w {
			t.Errorf("width %d: keys left out without a word: %q", w, got)
		}
	}
}
