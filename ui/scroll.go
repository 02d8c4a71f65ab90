package ui

import (
	"strings"

	"charm.land/bubbles/v2/viewport"
)

// scroller is a bubbles viewport for text whose lines are only known when a
// frame is drawn (they depend on the width, the theme, the step). View sets
// the content and the height and shows the lines in view; between frames,
// keys and the wheel scroll it, clamped to what the last frame held, so
// scrolling past the end does nothing and the way back starts at once.
//
// Models in this package are values and View has a value receiver, so a
// model holds a *scroller, as it holds its markdown cache.
type scroller struct {
	vp viewport.Model
	// tail makes it a transcript: the end stays in view as lines are added
	// (follow); scrolling up stops that, scrolling back to the end starts
	// it again.
	tail, follow bool
}

func newScroller(tail bool) *scroller {
	vp := viewport.New()
	vp.MouseWheelEnabled = false // the models route the wheel themselves
	return &scroller{vp: vp, tail: tail, follow: tail}
}

// Up scrolls n lines towards the start.
func (s *scroller) Up(n int) {
	s.vp.ScrollUp(n)
	if !s.vp.AtBottom() {
		s.follow = false
	}
}

// Down scrolls n lines towards the end.
func (s *scroller) Down(n int) {
	s.vp.ScrollDown(n)
	if s.tail && s.vp.AtBottom() {
		s.follow = true
	}
}

// Top goes back to the first line (a new step, say).
func (s *scroller) Top() { s.vp.GotoTop() }

// Bottom goes to the end, and for a transcript keeps it in view as lines
// come.
func (s *scroller) Bottom() {
	s.follow = s.tail
	s.vp.GotoBottom()
}

// View shows lines in a window w wide and h high and returns the lines in
// view (each cut or padded to w) with how many are hidden above and below.
func (s *scroller) View(lines []string, w, h int) (shown []string, above, below int) {
	s.vp.SetWidth(w)
	s.vp.SetHeight(h)
	s.vp.SetContentLines(lines)
	if s.follow || s.vp.PastBottom() { // past it: the text got shorter
		s.vp.GotoBottom()
	}
	shown = strings.Split(s.vp.View(), "\n")
	shown = shown[:min(len(lines), len(shown))] // the caller pads, above or below
	above = s.vp.YOffset()
	below = max(len(lines)-above-h, 0)
	return shown, above, below
}
