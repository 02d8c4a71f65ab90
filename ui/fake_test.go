package ui

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/ui/panels"
)

// fakeLab is a Lab that runs nothing: a command containing "fail" fails at
// the column of that word; a check containing "fails" does not hold; a
// check containing "within" waits once before it holds.
type fakeLab struct {
	mu       sync.Mutex
	prepared []int
	ran      []string
	failOnce map[string]bool // commands that fail the first time only
}

// yesNo judges like the scenario loader: y or n.
func yesNo(answer bool) func(string) (string, bool, error) {
	return func(g string) (string, bool, error) {
		switch g {
		case "y":
			return "yes", answer, nil
		case "n":
			return "no", !answer, nil
		}
		return "", false, errors.New("type yes or no")
	}
}

func fakeScenarios() []Scenario {
	return []Scenario{
		{ID: "veth", Title: "A veth pair between two namespaces", Summary: "Two namespaces, one cable: addresses, a route, ping both ways.", Level: "beginner", Minutes: 15, Tags: []string{"net", "veth"},
			Group: "first steps", Intro: "A **veth pair** is a virtual cable: two interfaces, and what goes into one comes out of the other.", Steps: []Step{
				{Title: "Two namespaces", Prose: "A **network namespace** has its own interfaces, routes and sockets.\n\nCreate two of them and look at the matrix: their `net` column differs from PID 1.",
					Commands: []Command{{Text: "netns add alpha", Sh: "ip netns add nslab-alpha", Go: "netns.NewNamed(\"nslab-alpha\")"}, {Text: "netns add beta", Sh: "ip netns add nslab-beta", Go: "netns.NewNamed(\"nslab-beta\")"}},
					Checks:   []string{"expect netns alpha exists", "expect netns beta exists"},
					Predict:  &Predict{Question: "Will alpha and beta share one loopback?", Kind: "yesno", Answer: "no", Why: "each stack has its own lo.", Judge: yesNo(false)}},
				{Title: "A cable", Prose: "A veth pair is a cable with two ends. Put one end in each namespace.",
					Commands: []Command{{Text: "link add va type veth peer vb netns beta -n alpha", Sh: "ip -n nslab-alpha link add va type veth peer vb netns nslab-beta"}},
					Checks:   []string{"expect link va -n alpha exists"}, Hint: "Both ends must exist: look at the topology panel."},
				{Title: "Ping", Prose: "Give both ends an address and ping across.",
					Commands: []Command{{Text: "addr add 10.0.0.1/24 dev va -n alpha"}, {Text: "ping 10.0.0.2 -n alpha -c 1"}},
					Checks:   []string{"expect ping 10.0.0.2 -n alpha ok within 10s"}},
			}},
		{ID: "ns-basics", Title: "What /proc/PID/ns holds", Summary: "Inodes name namespaces.", Level: "beginner", Minutes: 10, Tags: []string{"proc"}, Group: "first steps", Steps: []Step{{Title: "Look", Prose: "Look."}}},
		{ID: "blocking-accept", Title: "Blocking accept costs a thread", Summary: "SCTP on the netpoller.", Level: "advanced", Minutes: 20, Tags: []string{"sctp", "threads"}, Group: "the proxy core", Unavailable: "needs sctp: the kernel has no SCTP (modprobe sctp)"},
		{ID: "broken", Title: "A lesson whose check fails", Summary: "For the failed-check screen.", Level: "intermediate", Minutes: 5, Tags: []string{"test"}, Group: "the proxy core", Steps: []Step{
			{Title: "It fails", Prose: "This check cannot hold.", Commands: []Command{{Text: "netns add gamma"}}, Checks: []string{"expect threads proxy <= 10 fails"}, Hint: "The proxy has more threads than namespaces: is it using the shared strategy?"},
		}},
		{ID: "yours", Title: "Your turn, then a challenge", Summary: "A hands-on step and a challenge.", Level: "beginner", Minutes: 5, Tags: []string{"hands-on"}, Group: "the proxy core", Steps: []Step{
			{Title: "Bring lo up", Prose: "Bring the loopback of `demo` up yourself.", Waits: true,
				HandsOn: []Command{{Text: "link set lo up -n demo", Sh: "ip -n nslab-demo link set lo up"}},
				Checks:  []string{"expect link lo -n demo up within 60s"}, Hint: "The namespace is nslab-demo in `ip netns list`."},
			{Title: "Give it an address", Prose: "Give `demo` the address 10.9.0.1/32 on lo.", Waits: true,
				Hints:    []string{"Addresses are added with ip addr add.", "ip -n nslab-demo addr add 10.9.0.1/32 dev lo"},
				Solution: []Command{{Text: "addr add 10.9.0.1/32 dev lo -n demo", Sh: "ip -n nslab-demo addr add 10.9.0.1/32 dev lo"}},
				Checks:   []string{"expect ping 10.9.0.1 -n demo ok within 2m"}},
		}},
	}
}

func (f *fakeLab) Scenarios() []Scenario { return fakeScenarios() }

func (f *fakeLab) Prepare(ctx context.Context, id string, from int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prepared = append(f.prepared, from)
	return nil
}

func (f *fakeLab) RunStep(ctx context.Context, id string, step, from int, ev chan<- Event) {
	defer close(ev)
	var sc *Scenario
	for _, s := range fakeScenarios() {
		if s.ID == id {
			sc = &s
		}
	}
	st := sc.Steps[step]
	for i := from; i < len(st.Commands); i++ {
		c := st.Commands[i].Text
		ev <- Event{Kind: CommandStarted, Index: i}
		f.mu.Lock()
		f.ran = append(f.ran, c)
		once := f.failOnce[c]
		delete(f.failOnce, c)
		f.mu.Unlock()
		if once {
			ev <- Event{Kind: CommandDone, Index: i, Err: errors.New("netns add: nslab-beta already exists"), Col: 7}
			return
		}
		ev <- Event{Kind: CommandDone, Index: i, Output: "ok: " + c}
	}
	for i, c := range st.Checks {
		ev <- Event{Kind: CheckStarted, Index: i}
		if strings.Contains(c, "within") {
			ev <- Event{Kind: CheckWaiting, Index: i, Detail: "no reply yet"}
		}
		if strings.Contains(c, "fails") {
			ev <- Event{Kind: CheckDone, Index: i, OK: false, Detail: "threads proxy = 104", Seen: "it has 104 threads"}
			continue
		}
		ev <- Event{Kind: CheckDone, Index: i, OK: true, Seen: "it exists (net:[4026532301])"}
	}
}

func (f *fakeLab) Exec(ctx context.Context, line string) Result {
	switch {
	case line == "expect link lo -n demo up within 60s":
		<-ctx.Done() // a learner who never acts: only a cancel ends it
		return Result{Check: true, Err: errors.New("link lo in demo is up, but it is down (interrupted)")}
	case line == "help":
		return Result{Output: "netns add NAME    create a network namespace\nlink add ...      create a link"}
	case strings.HasPrefix(line, "expect"):
		return Result{Check: true, OK: !strings.Contains(line, "fails")}
	case strings.Contains(line, "bogus"):
		return Result{Err: errors.New("unknown word \"bogus\": expected add, del or list (did you mean `netns add`?)"), Col: strings.Index(line, "bogus") + 1}
	}
	return Result{Output: "done: " + line}
}

func (f *fakeLab) Commands() []string {
	return []string{"addr", "connect", "exec", "expect", "help", "link", "listen", "netns", "ping", "proxy", "route", "spawn", "watch"}
}

func (f *fakeLab) Complete(line string, cursor int) []string {
	word := line[:cursor]
	if i := strings.LastIndexByte(word, ' '); i >= 0 {
		word = word[i+1:]
	}
	var out []string
	for _, c := range append(f.Commands(), "alpha", "beta") {
		if strings.HasPrefix(c, word) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

func (f *fakeLab) Holders(context.Context) []NamespaceHolders {
	return []NamespaceHolders{{Name: "keep", Summary: "net:[4026532301] (nslab-keep, whose name is gone from /run/netns): 1 holder: 1 socket",
		Lines: []string{"  socket   pid 4242 (nslab) fd 9 tcp 127.0.0.1:8080 LISTEN  [lab: wp]", "  lsns does not list it: no process is in it"}}}
}

// fakeSource returns panels.Sample snapshots.
type fakeSource struct{ sockets int }

func (f fakeSource) Snapshot(ctx context.Context) (*panels.Snapshot, error) {
	return panels.Sample(f.sockets), nil
}

// settle runs cmd and feeds what it returns back into m, recursively, the
// way the program would. Commands that do not return quickly (ticks) are
// dropped.
func settle(t testing.TB, m *App, cmd tea.Cmd) {
	t.Helper()
	if cmd == nil {
		return
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(time.Minute):
		// Every command here runs on fakes; the one that waits on the
		// clock, the refresh tick, is a pendingTick (see noTicks).
		t.Fatal("a command did not return within a minute")
	}
	switch msg := msg.(type) {
	case nil, pendingTick:
	case tea.BatchMsg:
		for _, c := range msg {
			settle(t, m, c)
		}
	case tea.QuitMsg:
	default:
		_, next := m.Update(msg)
		settle(t, m, next)
	}
}

// pendingTick stands for a refresh tick that has not fired: settle drops
// it, so a test sees the screen between two refreshes and drives the
// refresh itself (tickMsg, snapshotMsg).
type pendingTick struct{}

func noTicks(time.Duration, func(time.Time) tea.Msg) tea.Cmd {
	return func() tea.Msg { return pendingTick{} }
}

// press sends keys (as tea.KeyPressMsg) and settles what they start.
func press(t testing.TB, m *App, keys ...tea.KeyPressMsg) {
	t.Helper()
	for _, k := range keys {
		_, cmd := m.Update(k)
		settle(t, m, cmd)
	}
}

func keyText(s string) tea.KeyPressMsg { return tea.KeyPressMsg{Code: []rune(s)[0], Text: s} }

var (
	keyEnter = tea.KeyPressMsg{Code: tea.KeyEnter}
	keyEsc   = tea.KeyPressMsg{Code: tea.KeyEscape}
	keyTab   = tea.KeyPressMsg{Code: tea.KeyTab}
	keyDown  = tea.KeyPressMsg{Code: tea.KeyDown}
	keyUp    = tea.KeyPressMsg{Code: tea.KeyUp}
	keyRight = tea.KeyPressMsg{Code: tea.KeyRight}
	keyF1    = tea.KeyPressMsg{Code: tea.KeyF1}
	keyF2    = tea.KeyPressMsg{Code: tea.KeyF2}
	keyF3    = tea.KeyPressMsg{Code: tea.KeyF3}
	keyF4    = tea.KeyPressMsg{Code: tea.KeyF4}
)

func typeText(t testing.TB, m *App, s string) {
	t.Helper()
	for _, r := range s {
		press(t, m, keyText(string(r)))
	}
}

// newTestApp builds the UI on fakes at w x h, with the catalog loaded and
// one snapshot taken.
func newTestApp(t testing.TB, w, h int, opt Options) (*App, *fakeLab) {
	t.Helper()
	lab := &fakeLab{}
	opt.Lab, opt.Source = lab, fakeSource{sockets: 212}
	opt.tick = noTicks
	m := New(opt)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	settle(t, m, m.Init())
	return m, lab
}
