package panels

import (
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
)

func TestPairVeths(t *testing.T) {
	s := Sample(0)
	want := map[string]string{"host/vc": "beta/vd", "alpha/va": "beta/vb", "beta/vb": "alpha/va", "beta/vd": "host/vc"}
	for _, ns := range s.Topology {
		for _, l := range ns.Links {
			if got := l.Peer; got != want[ns.Name+"/"+l.Name] {
				t.Errorf("%s/%s paired with %q, want %q", ns.Name, l.Name, got, want[ns.Name+"/"+l.Name])
			}
		}
	}
}

func TestSparkline(t *testing.T) {
	cases := []struct {
		name string
		in   []float64
		w    int
		want string
	}{
		{"a flat line reads as flat", []float64{7, 7, 7}, 3, "███"},
		{"growth reads as growth", []float64{0, 1, 2, 3, 4, 5, 6, 7}, 8, "▁▂▃▄▅▆▇█"},
		{"few samples are right-aligned", []float64{1}, 3, "  █"},
		{"only the newest samples fit", []float64{9, 0, 7}, 2, "▁█"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Sparkline(c.in, c.w); got != c.want {
				t.Errorf("Sparkline(%v, %d) = %q, want %q", c.in, c.w, got, c.want)
			}
		})
	}
}

func TestSocketsHeadline(t *testing.T) {
	m := NewSockets(common.DefaultStyles(true))
	m.SetSize(60, 10)
	m.SetData(Sample(212))
	if got, want := m.Headline(), "212 sockets in 106 namespaces, all 7 threads in host"; got != want {
		t.Errorf("headline %q, want %q", got, want)
	}
	if m.Selected() != "shared" {
		t.Errorf("shows %q first, want the process with most sockets", m.Selected())
	}
}

func TestMatrixMarksDifferencesFromPID1(t *testing.T) {
	m := NewNSMatrix(common.DefaultStyles(true))
	m.SetSize(200, 10)
	m.SetData(Sample(2))
	v := ansi.Strip(m.View())
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "c1 4300") && strings.Count(l, "≠") != 4 {
			t.Errorf("the child differs in net, pid, uts and pid_for_children, and only there: %q", l)
		}
		if strings.Contains(l, "self 4242") && strings.Contains(l, "≠") {
			t.Errorf("self is in the host namespaces: %q", l)
		}
	}
}

func TestFrameIsExactlyItsSize(t *testing.T) {
	st := common.DefaultStyles(true)
	for _, sz := range [][2]int{{4, 2}, {10, 3}, {30, 8}} {
		out := Frame(st.Panel, st.PanelTitle, "a long title that will not fit", "x\ny\nz\nw", sz[0], sz[1])
		lines := strings.Split(out, "\n")
		if len(lines) != sz[1] {
			t.Errorf("%v: %d lines", sz, len(lines))
		}
		for _, l := range lines {
			if w := ansi.StringWidth(l); w != sz[0] {
				t.Errorf("%v: line %q is %d wide", sz, ansi.Strip(l), w)
			}
		}
	}
}

// Expanded to threads in a short panel, every process keeps its row and
// the threads that do not fit are summed up with where they are.
func TestMatrixThreadsShareTheRows(t *testing.T) {
	m := NewNSMatrix(common.DefaultStyles(true))
	m.SetSize(120, 14) // header, 4 processes, legend: 8 rows for threads
	m.SetData(Sample(2))
	m.ToggleThreads()
	v := ansi.Strip(m.View())
	lines := strings.Split(v, "\n")
	if len(lines) > 14 {
		t.Errorf("%d lines in a 14-line panel:\n%s", len(lines), v)
	}
	for _, p := range []string{"self 4242", "shared 4250", "per-ns 4260", "c1 4300"} {
		if !strings.Contains(v, p) {
			t.Errorf("process %s is not shown:\n%s", p, v)
		}
	}
	// 8 rows for 4 processes: self shows 1 thread and "5 more".
	if !strings.Contains(v, "└ 4242") || !strings.Contains(v, "… 5 more threads, all in host") {
		t.Errorf("self's threads are not shown and summed up:\n%s", v)
	}
	if m.Want() != 1+4+6+7+1+1 {
		t.Errorf("Want() = %d, want a row per process and thread, the header and the legend", m.Want())
	}
}

// A panel too short for every process says how many it left out.
func TestMatrixSaysWhatDidNotFit(t *testing.T) {
	m := NewNSMatrix(common.DefaultStyles(true))
	m.SetSize(120, 5)
	m.SetData(Sample(2))
	v := ansi.Strip(m.View())
	if !strings.Contains(v, "2 more processes") || strings.Count(v, "\n") != 4 {
		t.Errorf("a 5-line panel for 4 processes:\n%s", v)
	}
}

// The host box lists only the lab's links: empty, it says so rather than
// claiming the machine has no interfaces.
func TestTopologyEmptyHostSaysLabLinks(t *testing.T) {
	m := NewTopology(common.DefaultStyles(true))
	m.SetSize(60, 8)
	m.SetData(&Snapshot{Topology: []Netns{{Name: "host"}, {Name: "c", Links: []Link{{Name: "lo"}}}}})
	v := ansi.Strip(m.View())
	if !strings.Contains(v, "(no lab links)") || strings.Contains(v, "(no interfaces)") {
		t.Errorf("an empty host box:\n%s", v)
	}
}

// Threads and RSS side by side: when not every process fits, the watched
// ones (compared proxies) come before nslab itself, and the panel says
// which are left out.
func TestStatsSideBySide(t *testing.T) {
	m := NewStats(common.DefaultStyles(true))
	m.Push(Sample(2)) // self, shared, per-ns, c1
	m.SetSize(70, 5)
	if v := ansi.Strip(m.View()); !strings.Contains(v, "self 4242") || !strings.Contains(v, "c1 4300") || m.Want(70) != 5 {
		t.Errorf("70 cells hold four columns (want %d):\n%s", m.Want(70), v)
	}
	m.SetSize(40, 6)
	v := ansi.Strip(m.View())
	head, _, _ := strings.Cut(v, "\n")
	if !strings.Contains(head, "shared 4250") || !strings.Contains(head, "per-ns 4260") || strings.Contains(head, "self") {
		t.Errorf("40 cells: the first two watched processes, not self, side by side: %q", head)
	}
	if !strings.Contains(v, "+2 more (widen the terminal): self c1") || m.Want(40) != 6 {
		t.Errorf("40 cells: what did not fit (want %d):\n%s", m.Want(40), v)
	}
}

func TestNaturalLess(t *testing.T) {
	in := []string{"ts10", "host", "ts2", "ts1", "t01", "ts", "a10b2", "a10b10", "a9"}
	slices.SortFunc(in, func(a, b string) int {
		if NaturalLess(a, b) {
			return -1
		}
		if NaturalLess(b, a) {
			return 1
		}
		return 0
	})
	want := []string{"a9", "a10b2", "a10b10", "host", "t01", "ts", "ts1", "ts2", "ts10"}
	if !slices.Equal(in, want) {
		t.Errorf("natural order %v, want %v", in, want)
	}
}
