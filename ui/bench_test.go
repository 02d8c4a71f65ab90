package ui

import (
	"testing"

	"github.com/nslab/nslab/ui/panels"
)

// BenchmarkView draws a lesson beside the live panels at 200x60 with 1000
// sockets watched (the budget: 10 ms).
func BenchmarkView(b *testing.B) {
	m, _ := newTestApp(b, 200, 60, Options{})
	press(b, m, keyEnter, keyEnter) // open the lesson, run step 1
	m.live.SetSnapshot(panels.Sample(1000), nil)
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkViewCatalog draws the catalog at 200x60.
func BenchmarkViewCatalog(b *testing.B) {
	m, _ := newTestApp(b, 200, 60, Options{})
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkSnapshotToPanels is the path a snapshot takes into the panels:
// grouping 1000 sockets by namespace, colour groups, sparkline history.
func BenchmarkSnapshotToPanels(b *testing.B) {
	m, _ := newTestApp(b, 200, 60, Options{})
	s := panels.Sample(1000)
	for b.Loop() {
		m.live.SetSnapshot(s, nil)
	}
}

// BenchmarkViewNewSnapshot draws the lesson and panels at 200x60 after
// each new snapshot of 1000 sockets: the frame that follows a refresh.
func BenchmarkViewNewSnapshot(b *testing.B) {
	m, _ := newTestApp(b, 200, 60, Options{})
	press(b, m, keyEnter, keyEnter)
	s := panels.Sample(1000)
	for b.Loop() {
		m.live.SetSnapshot(s, nil)
		_ = m.View()
	}
}

// BenchmarkViewComparison is the frame after each refresh at the end of
// thread-savings (panels.SampleComparison: three workers' trees, 300
// namespaces, the results) at 120x40: snapshot into the panels, then the
// frame.
func BenchmarkViewComparison(b *testing.B) {
	m, _ := newTestApp(b, 120, 40, Options{})
	press(b, m, keyEnter)
	s := panels.SampleComparison()
	for b.Loop() {
		m.live.SetSnapshot(s, nil)
		_ = m.View()
	}
}
