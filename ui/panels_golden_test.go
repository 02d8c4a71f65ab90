package ui

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/ui/panels"
)

// comparisonSource is the end of thread-savings (panels.SampleComparison).
type comparisonSource struct{}

func (comparisonSource) Snapshot(context.Context) (*panels.Snapshot, error) {
	return panels.SampleComparison(), nil
}

// TestGoldenPanels is the end of the thread-savings lesson at the sizes a
// room meets: 80x24 (the panels a page at a time, v), 120x40 (beside the
// lesson) and 200x60 (a grid). Each frame must show every strategy with
// its process tree, and the results.
func TestGoldenPanels(t *testing.T) {
	for _, sz := range []struct{ w, h, pages int }{{80, 24, 3}, {120, 40, 1}, {200, 60, 1}} {
		for page := 0; page < sz.pages; page++ {
			t.Run(fmt.Sprintf("%dx%d page %d", sz.w, sz.h, page), func(t *testing.T) {
				m, _ := newTestApp(t, sz.w, sz.h, Options{})
				showComparison(m)
				press(t, m, keyEnter)
				for range page + btoi(sz.w < wideMin) {
					press(t, m, keyText("v"))
				}
				golden.RequireEqual(t, plain(m))
			})
		}
	}
}

// showComparison gives the panels the end of thread-savings, as the
// snapshot command would, without waiting on it: settle gives a command
// 50 ms, which a loaded machine under -race can miss (the panels then stay
// "waiting for the first snapshot").
func showComparison(m *App) {
	m.opt.Source = comparisonSource{}
	m.Update(snapshotMsg{panels.SampleComparison(), nil})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// What the panels of the closing step must show, wherever they are: each
// proxy's row with its tree's processes and threads, and the results.
func TestPanelsShowEveryStrategyAtEverySize(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{80, 24}, {120, 40}, {200, 60}} {
		m, _ := newTestApp(t, sz.w, sz.h, Options{})
		showComparison(m)
		press(t, m, keyEnter)
		var seen strings.Builder
		pages := 1
		if sz.w < wideMin {
			w, h := m.panelArea()
			pages = m.live.Pages(w, h)
		}
		for range pages {
			if sz.w < wideMin {
				press(t, m, keyText("v"))
			}
			seen.WriteString(plain(m))
		}
		scr := seen.String()
		// Each proxy's row counts its tree: processes, then threads, then
		// PSS; and the results table shows every strategy and the cost per
		// tenant.
		for _, want := range []string{`tss 5944\s+1\s+7\s.*3\.4 MB`, `tst 5952\s+1\s+308\s.*10\.3 MB`, `tsp 5982\s+51\s+379\s.*115\.0 MB`,
			`tsp\s+(process-per-namespace|proc/ns)\s+50\s+51\s+379\s+115\.0 MB`, `per tenant: threads tss 0\.02 · tst 1\.03 · tsp`} {
			if !regexp.MustCompile(want).MatchString(scr) {
				t.Errorf("%dx%d: /%s/ is nowhere on the panels:\n%s", sz.w, sz.h, want, scr)
			}
		}
	}
}

// A terminal below 40x10 is told so in full: its size, the size needed,
// and what to do, however narrow.
func TestTooSmallSaysSoInFull(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{30, 8}, {20, 10}, {39, 24}} {
		m, _ := newTestApp(t, sz.w, sz.h, Options{})
		scr := strings.Join(strings.Fields(plain(m)), " ")
		want := fmt.Sprintf("%dx%d is too small: nslab needs at least 40x10. Make the terminal bigger (or the font smaller).", sz.w, sz.h)
		if !strings.Contains(scr, want) {
			t.Errorf("%dx%d shows %q", sz.w, sz.h, scr)
		}
	}
}

// In presenter mode a command longer than the lesson column wraps under
// itself: every word of it is on the screen.
func TestPresenterWrapsLongCommands(t *testing.T) {
	m, _ := newTestApp(t, 120, 40, Options{Presenter: true})
	// The introduction, step 1 (its question waits; → passes it by), step
	// 2: a long command.
	press(t, m, keyEnter, keyEnter, keyRight)
	const cmd = "link add va type veth peer vb netns beta -n alpha"
	lw := columnWidth(m.c)
	if len(cmd)+2 <= lw {
		t.Fatalf("the command fits the %d-cell column: the test proves nothing", lw)
	}
	var col strings.Builder
	for _, l := range strings.Split(plain(m), "\n") {
		if r := []rune(l); len(r) > lw {
			l = string(r[:lw])
		}
		col.WriteString(l + "\n")
	}
	if flat := strings.Join(strings.Fields(col.String()), " "); !strings.Contains(flat, cmd) {
		t.Errorf("the command is cut in the %d-cell column:\n%s", lw, col.String())
	}
}
