package panels

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
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
	if got, want := m.Headline(), "212 internet sockets in 106 namespaces, all 7 threads in host"; got != want {
		t.Errorf("headline %q, want %q", got, want)
	}
	if m.Selected() != "shared" {
		t.Errorf("shows %q first, want the process with most sockets", m.Selected())
	}
}

// The lab's netlink handles on each namespace are not the learner's
// sockets: they are left out of the counts (as `expect sockets` leaves
// them out) and named apart, so a closed listener's namespace drops off.
func TestSocketsLeaveTheLabsControlSocketsOut(t *testing.T) {
	s := Sample(0)
	s.Procs[0].Sockets = []Socket{
		{FD: 3, NetNS: 4026532900, Proto: "netlink"}, {FD: 4, NetNS: 4026532901, Proto: "netlink"},
		{FD: 5, NetNS: 4026531840, Proto: "unix"}, {FD: 6, NetNS: 4026532901, Proto: "tcp"},
	}
	m := NewSockets(common.DefaultStyles(true))
	m.SetSize(70, 10)
	m.SetData(s)
	v := ansi.Strip(m.View())
	if got := m.Headline(); !strings.HasPrefix(got, "1 internet socket in 1 namespace") {
		t.Errorf("headline %q counts the lab's control sockets", got)
	}
	if strings.Contains(v, "nslab-alpha") || !strings.Contains(v, "nslab-beta") {
		t.Errorf("rows should list beta (a tcp socket) and not alpha (netlink only):\n%s", v)
	}
	if !strings.Contains(v, "not counted: the lab's own control sockets (2 netlink, 1 unix)") {
		t.Errorf("the control sockets are not named apart:\n%s", v)
	}
}

// A process-per-namespace proxy's sockets are in its children: the panel
// says it shows the parent alone.
func TestSocketsSayAProcessTreeHoldsMore(t *testing.T) {
	m := NewSockets(common.DefaultStyles(true))
	m.SetSize(70, 10)
	m.SetData(Sample(0))
	for m.Selected() != "per-proc" {
		m.Next()
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "this process only: its 100 child processes hold their own") {
		t.Errorf("no word of the children:\n%s", v)
	}
}

func TestMatrixMarksDifferencesFromPID1(t *testing.T) {
	m := NewNSMatrix(common.DefaultStyles(true))
	m.SetSize(200, 20)
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

// However narrow, the columns in which a process differs from PID 1 are
// shown (as letters, if names do not fit), and the key gives the inode
// behind each.
func TestMatrixKeepsTheColumnsThatDiffer(t *testing.T) {
	s := Sample(2)
	c := &s.Procs[4]
	c.NS["user"], c.NS["ipc"] = 4026533001, 4026533002
	s.Names[NSKey{"user", 4026533001}], s.Names[NSKey{"ipc", 4026533002}] = "c1", "c1"
	for _, w := range []int{36, 49, 76, 120} {
		m := NewNSMatrix(common.DefaultStyles(true))
		m.SetSize(w, 30)
		m.SetData(s)
		v := ansi.Strip(m.View())
		head, _, _ := strings.Cut(v, "\n")
		for _, typ := range []string{"net", "pid", "uts", "ipc", "user", "pid_for_children"} {
			if !strings.Contains(head, shortType(typ)) && !strings.Contains(head, tinyType(typ)) {
				t.Errorf("%d cells: column %s, where c1 differs, is not shown:\n%s", w, typ, v)
			}
		}
		for _, ino := range []string{"4026532904", "4026533001", "4026531840"} {
			if !strings.Contains(v, ino) {
				t.Errorf("%d cells: the key lacks inode %s:\n%s", w, ino, v)
			}
		}
		for _, l := range strings.Split(v, "\n") {
			if ansi.StringWidth(l) > w {
				t.Errorf("%d cells: a line of %d: %q", w, ansi.StringWidth(l), l)
			}
		}
		if w < 120 && !strings.Contains(v, "not shown, all as PID 1") {
			t.Errorf("%d cells: the columns left out are not named:\n%s", w, v)
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
	m.SetSize(120, 18) // header, 5 processes, a key of 5 lines: 7 rows for threads
	m.SetData(Sample(2))
	m.ToggleThreads()
	v := ansi.Strip(m.View())
	lines := strings.Split(v, "\n")
	if len(lines) > 18 {
		t.Errorf("%d lines in an 18-line panel:\n%s", len(lines), v)
	}
	for _, p := range []string{"self 4242", "shared 4250", "per-ns 4260", "per-proc 4270", "c1 4300"} {
		if !strings.Contains(v, p) {
			t.Errorf("process %s is not shown:\n%s", p, v)
		}
	}
	if !strings.Contains(v, "… 6 more threads, all in host") {
		t.Errorf("self's threads are not summed up:\n%s", v)
	}
	if want := 1 + 5 + 6 + 7 + 1 + len(m.key(NSTypes, false, nil)); m.Want(120) != want {
		t.Errorf("Want(120) = %d, want %d: a row per process and thread, the header and the key", m.Want(120), want)
	}
}

// A panel too short for every process pages, and says so with the key.
func TestMatrixSaysWhatDidNotFit(t *testing.T) {
	m := NewNSMatrix(common.DefaultStyles(true))
	m.SetSize(120, 5)
	m.SetData(Sample(2))
	v := ansi.Strip(m.View())
	if !strings.Contains(v, "more lines (page 1/") || !strings.Contains(v, "m: next page") || strings.Count(v, "\n") != 4 {
		t.Errorf("a 5-line panel for 5 processes and the key:\n%s", v)
	}
	m.More()
	if v2 := ansi.Strip(m.View()); v2 == v || !strings.Contains(v2, "(page 2/") {
		t.Errorf("m shows the next page:\n%s", v2)
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

// Every process tree on one scale: a process with 101 times the threads
// has a bar 101 times as long, each row counts the tree (processes,
// threads, PSS), and e shows the parent alone. Every row fits at 80
// columns (a panel 76 wide) and beside a lesson at 120 (49 wide).
func TestStatsPutsEveryTreeOnOneScale(t *testing.T) {
	for _, w := range []int{49, 76, 110} {
		m := NewStats(common.DefaultStyles(true))
		m.Push(Sample(2))
		m.SetSize(w, 10)
		v := ansi.Strip(m.View())
		rows := map[string]string{}
		for _, l := range strings.Split(v, "\n") {
			if ansi.StringWidth(l) > w {
				t.Errorf("%d: a line of %d cells: %q", w, ansi.StringWidth(l), l)
			}
			if f := strings.Fields(l); len(f) > 0 {
				rows[f[0]] = l
			}
		}
		for _, p := range []string{"shared", "per-ns", "per-proc", "c1", "self"} {
			if rows[p] == "" {
				t.Fatalf("%d: no row for %s:\n%s", w, p, v)
			}
		}
		if !strings.Contains(rows["per-proc"], " 101 ") || !strings.Contains(rows["per-proc"], " 707 ") || !strings.Contains(rows["per-proc"], "462.0 MB") {
			t.Errorf("%d: the process-per-namespace row does not count its tree: %q", w, rows["per-proc"])
		}
		bar := func(row string) int { return strings.Count(row, "█") }
		if big, small := bar(rows["per-proc"]), bar(rows["shared"]); big < 2 || small != 0 || !strings.Contains(rows["shared"], "▏") {
			t.Errorf("%d: 707 threads draw %d full cells, 7 threads %d (want a sliver):\n%s", w, big, small, v)
		}
		if strings.Index(v, "shared") > strings.Index(v, "self") {
			t.Errorf("%d: nslab itself comes before the compared processes:\n%s", w, v)
		}
		m.ToggleExpand()
		if v := ansi.Strip(m.View()); !strings.Contains(v, "└ parent") || m.Want(w) != 1+5+1+1 {
			t.Errorf("%d: expanded (want %d):\n%s", w, m.Want(w), v)
		}
	}
}

// Sparklines share the bars' axis: the history of 7 threads beside 707
// stays on the bottom line.
func TestScaledSparklineSharesTheAxis(t *testing.T) {
	if got := ScaledSparkline([]float64{7, 7}, 2, 707); got != "▁▁" {
		t.Errorf("7 of 707: %q", got)
	}
	if got := ScaledSparkline([]float64{707, 354}, 2, 707); got != "█▅" {
		t.Errorf("707 and 354 of 707: %q", got)
	}
	if got := Bar(7, 707, 10); got != "▏" {
		t.Errorf("Bar(7 of 707) = %q, want a sliver", got)
	}
	if got := Bar(707, 707, 4); got != "████" {
		t.Errorf("Bar(707 of 707) = %q", got)
	}
}

// More rows than fit: a page of them, "+N more" and the key.
func TestStatsPagesWhatDoesNotFit(t *testing.T) {
	m := NewStats(common.DefaultStyles(true))
	m.Push(Sample(2))
	m.SetSize(76, 5) // header, 2 rows, the more line, the scale
	v := ansi.Strip(m.View())
	if !strings.Contains(v, "+3 more · m: next page") || strings.Count(v, "\n") != 4 {
		t.Errorf("five trees in five lines:\n%s", v)
	}
	m.More()
	if v2 := ansi.Strip(m.View()); !strings.Contains(v2, "per-proc") {
		t.Errorf("the next page:\n%s", v2)
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

// Boxes that do not fit are counted and named, m shows them, and IPv6
// link-local addresses stay hidden (counted in the legend) until a.
func TestTopologyCountsWhatItHides(t *testing.T) {
	nss := []Netns{{Name: "host"}}
	for i := 1; i <= 12; i++ {
		nss = append(nss, Netns{Name: fmt.Sprintf("ts%d", i), Links: []Link{{Name: "lo", Up: true, Addrs: []string{"127.0.0.1/8", "fe80::1/64"}}}})
	}
	m := NewTopology(common.DefaultStyles(true))
	m.SetSize(76, 12)
	m.SetData(&Snapshot{Topology: nss})
	v := ansi.Strip(m.View())
	shown := 0
	for _, ns := range nss {
		if strings.Contains(v, "┌─"+ns.Name+"─") {
			shown++
		}
	}
	more := regexp.MustCompile(`\+(\d+) more · m: next page`).FindStringSubmatch(v)
	if more == nil || shown == 0 {
		t.Fatalf("13 boxes in 12 lines, no count of the rest:\n%s", v)
	}
	if n, _ := strconv.Atoi(more[1]); n+shown != len(nss) {
		t.Errorf("%d boxes drawn and +%d more, of %d:\n%s", shown, n, len(nss), v)
	}
	if !strings.Contains(v, "ts12") {
		t.Errorf("the hidden boxes are not named:\n%s", v)
	}
	if strings.Contains(v, "fe80::1") || !regexp.MustCompile(`\d+ fe80:: hidden \(a\)`).MatchString(v) {
		t.Errorf("link-local addresses shown, or hidden without a word:\n%s", v)
	}
	m.More()
	if v2 := ansi.Strip(m.View()); !strings.Contains(v2, "ts12") || v2 == v {
		t.Errorf("m: the next page of boxes:\n%s", v2)
	}
	m.ToggleLinkLocal()
	if v3 := ansi.Strip(m.View()); !strings.Contains(v3, "fe80::1/64") || !strings.Contains(v3, "fe80:: shown (a)") {
		t.Errorf("a: link-local addresses:\n%s", v3)
	}
}

// More namespaces than fit: a page of them, "+N more" and m for the next
// page, until every namespace has been shown.
func TestSocketsPageTheNamespaces(t *testing.T) {
	m := NewSockets(common.DefaultStyles(true))
	m.SetSize(60, 10)
	m.SetData(Sample(212))
	seen := map[string]bool{}
	row := regexp.MustCompile(`^  (\S+)\s+\d+  `)
	for range 60 {
		v := ansi.Strip(m.View())
		if !regexp.MustCompile(`\+\d+ more namespaces · m: next page`).MatchString(v) {
			t.Fatalf("106 namespaces in 10 lines, no count of the rest:\n%s", v)
		}
		if n := strings.Count(v, "\n") + 1; n > 10 {
			t.Fatalf("%d lines in a panel 10 high:\n%s", n, v)
		}
		for _, l := range strings.Split(v, "\n") {
			if r := row.FindStringSubmatch(l); r != nil {
				seen[r[1]] = true
			}
		}
		m.More()
	}
	if len(seen) != 106 {
		t.Errorf("m showed %d of the 106 namespaces", len(seen))
	}
}
