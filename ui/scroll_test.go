package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

func numbered(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("line %d", i)
	}
	return out
}

func trimmed(ls []string) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = strings.TrimRight(l, " ")
	}
	return out
}

func TestScrollerStopsAtTheEnds(t *testing.T) {
	s := newScroller(false)
	lines := numbered(100)
	shown, above, below := s.View(lines, 20, 10)
	if !slices.Equal(trimmed(shown), lines[:10]) || above != 0 || below != 90 {
		t.Fatalf("at the top: %q, %d above, %d below", shown, above, below)
	}
	s.Down(1000) // far past the end
	shown, above, below = s.View(lines, 20, 10)
	if !slices.Equal(trimmed(shown), lines[90:]) || above != 90 || below != 0 {
		t.Fatalf("at the end: %q, %d above, %d below", shown, above, below)
	}
	s.Up(1) // moves at once: the press past the end was not counted
	if shown, _, _ = s.View(lines, 20, 10); strings.TrimSpace(shown[0]) != "line 89" {
		t.Errorf("one up from the end shows %q first", shown[0])
	}
	s.Up(1000)
	if _, above, _ = s.View(lines, 20, 10); above != 0 {
		t.Errorf("far past the start: %d above", above)
	}
	t.Run("text shorter than the window shows whole, and does not scroll", func(t *testing.T) {
		s := newScroller(false)
		s.Down(5)
		shown, above, below := s.View(numbered(3), 20, 10)
		if len(shown) != 3 || above != 0 || below != 0 {
			t.Errorf("%q, %d above, %d below", shown, above, below)
		}
	})
	t.Run("a new step starts at the top", func(t *testing.T) {
		s.Down(50)
		s.View(lines, 20, 10)
		s.Top()
		if _, above, _ := s.View(lines, 20, 10); above != 0 {
			t.Errorf("%d above after Top", above)
		}
	})
}

func TestATranscriptFollowsItsEndUntilScrolledUp(t *testing.T) {
	s := newScroller(true)
	lines := numbered(30)
	if shown, _, _ := s.View(lines, 20, 10); strings.TrimSpace(shown[9]) != "line 29" {
		t.Fatalf("the end is not in view: %q", shown)
	}
	lines = numbered(40)
	if shown, _, below := s.View(lines, 20, 10); strings.TrimSpace(shown[9]) != "line 39" || below != 0 {
		t.Errorf("new lines did not scroll into view: %q", shown)
	}
	s.Up(5)
	s.View(lines, 20, 10)
	lines = numbered(50)
	if _, _, below := s.View(lines, 20, 10); below != 15 {
		t.Errorf("scrolled up, new lines moved the view: %d below, want 15", below)
	}
	s.Down(100)
	s.View(lines, 20, 10)
	if _, _, below := s.View(numbered(60), 20, 10); below != 0 {
		t.Errorf("back at the end, it does not follow again: %d below", below)
	}
}

// The wheel and the keys scroll a long narration, and not past its end.
func TestLessonNarrationScrollsWithinItsText(t *testing.T) {
	m, _ := newTestApp(t, 44, 16, Options{})
	press(t, m, keyEnter) // veth
	if m.screen != scLesson {
		t.Fatalf("not in a lesson:\n%s", plain(m))
	}
	if !strings.Contains(plain(m), "more lines") {
		t.Skipf("the narration fits at 44x16:\n%s", plain(m))
	}
	for range 20 {
		m.Update(tea.MouseWheelMsg{X: 5, Y: 5, Button: tea.MouseWheelDown})
	}
	end := plain(m)
	if strings.Contains(end, "more lines") || !strings.Contains(end, "PID 1.") {
		t.Fatalf("20 wheel turns down do not show the end of the narration:\n%s", end)
	}
	press(t, m, keyUp)
	if plain(m) == end {
		t.Error("one ↑ after scrolling past the end did not move")
	}
}
