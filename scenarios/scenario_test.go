package scenarios

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nslab/nslab/lab/script"
)

const good = "---\nid: t\ntitle: T\nsummary: s\nlevel: beginner\nminutes: 2\ntags: [a]\nrequires: []\n---\nIntro.\n\n## One\n\nProse.\n\n```lab\nnetns add a\n```\n\n```check\nexpect netns a exists\n```\n\n```sh\nip netns add nslab-a\n```\n\n```hint\nRun as root.\n```\n"

func TestParseAGoodScenario(t *testing.T) {
	sc, err := Parse("t.md", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if sc.ID != "t" || sc.Intro != "Intro." || len(sc.Steps) != 1 {
		t.Fatalf("parsed %+v", sc)
	}
	st := sc.Steps[0]
	if st.Title != "One" || st.Line != 12 || st.Prose != "Prose." || len(st.Lab) != 1 || len(st.Check) != 1 {
		t.Errorf("step = %+v", st)
	}
	if st.Lab[0].Line != 17 || st.Check[0].Line != 21 {
		t.Errorf("statements at lines %d and %d, want 17 and 21 (their lines in the file)", st.Lab[0].Line, st.Check[0].Line)
	}
	// The shell shown is rendered from the lab and check blocks, then the
	// hand-written block follows it.
	want := "ip netns add nslab-a\ntest -e /run/netns/nslab-a || fail 'expect netns a exists'\nip netns add nslab-a"
	if st.Sh != want || st.ShExtra != "ip netns add nslab-a" || st.Hint != "Run as root." {
		t.Errorf("sh %q (extra %q) hint %q, want sh %q", st.Sh, st.ShExtra, st.Hint, want)
	}
}

func TestScenarioErrorsArePositioned(t *testing.T) {
	tests := []struct {
		name, src, want string
		line, col       int
	}{
		{"no front matter", "## x\n", "starts with front matter", 1, 1},
		{"an unknown field", strings.Replace(good, "tags: [a]", "tagz: [a]", 1), `unknown front matter field "tagz"`, 7, 1},
		{"a misspelt field suggests the right one", strings.Replace(good, "requires: []", "require: []", 1), "did you mean `requires`?", 8, 1},
		{"a bad level", strings.Replace(good, "level: beginner", "level: expert", 1), `level "expert"`, 5, 8},
		{"a misspelt level suggests the right one", strings.Replace(good, "level: beginner", "level: beginer", 1), "did you mean `beginner`?", 5, 8},
		{"a misspelt requirement suggests the right one", strings.Replace(good, "requires: []", "requires: [userns, sctpp]", 1), "did you mean `sctp`?", 8, 20},
		{"minutes not a number", strings.Replace(good, "minutes: 2", "minutes: two", 1), "field minutes", 6, 10},
		{"an unknown requirement", strings.Replace(good, "requires: []", "requires: [sctpp]", 1), `unknown requirement "sctpp"`, 8, 12},
		{"a typo in a lab block", strings.Replace(good, "netns add a", "netns ad a", 1), "did you mean `netns add`", 17, 7},
		{"a command in a check block", strings.Replace(good, "expect netns a exists", "netns add b", 1), "checks are `expect ...` lines", 21, 1},
		{"an unclosed fence", good + "\n## Two\n```lab\nnetns add b\n", "never closed", 33, 1},
		{"a step without a check", good + "\n## Two\n```lab\nnetns add b\n```\n", `step "Two" has no check block`, 32, 4},
		{"an unknown namespace suggests the known one", strings.Replace(good, "expect netns a exists", "expect link lo -n b up", 1), "unknown namespace `b`", 21, 19},
		{"a misspelt child in a later step", good + "\n## Two\n```lab\nspawn web net\n```\n```check\nexpect ns net wbe != host\n```\n", "did you mean `web`?", 37, 15},
		{"a block before the first step", strings.Replace(good, "Intro.", "```lab\nnetns add z\n```", 1), "before the first `##` step", 10, 1},
		{"a yaml syntax error", strings.Replace(good, "tags: [a]", "tags: [a", 1), "front matter: did not find expected ',' or ']'", 7, 1},
		{"a yaml scanner error", strings.Replace(good, "level: beginner", "level: beginner: x", 1), "front matter: mapping values are not allowed", 5, 1},
		{"a missing required field", strings.Replace(good, "title: T\n", "", 1), `lacks "title"`, 2, 1},
		{"a bad id", strings.Replace(good, "id: t", "id: Hello World", 1), `id "Hello World"`, 2, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.md", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
			found := false
			for _, e := range unjoin(err) {
				var se *script.SyntaxError
				if errors.As(e, &se) && strings.Contains(se.Msg, tt.want) {
					found = true
					if se.File != "x.md" || se.Line != tt.line || se.Col != tt.col {
						t.Errorf("at %s:%d:%d, want x.md:%d:%d", se.File, se.Line, se.Col, tt.line, tt.col)
					}
				}
			}
			if !found {
				t.Errorf("%v is not a positioned error", err)
			}
		})
	}
}

// An error inside a block is the one to fix: the step is not also said to
// lack the block (a cascade that sends an author to the wrong line).
func TestABrokenBlockIsNotAlsoReportedMissing(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"a typo in the only check line", strings.Replace(good, "expect netns a exists", "expect netns a exist", 1), "expected `exists` or `absent`"},
		{"a typo in the only lab line of a step without checks", good + "\n## Two\n```lab\nnetns ad b\n```\n", "did you mean `netns add`"},
		{"an unclosed lab block", good + "\n## Two\n```lab\nnetns add b\n", "never closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.md", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
			errs := unjoin(err)
			if strings.Contains(err.Error(), "has no check block") && !strings.Contains(tt.name, "without checks") || strings.Contains(err.Error(), "neither a lab nor a check") {
				t.Errorf("a cascade error besides the real one:\n%v", err)
			}
			if strings.Contains(tt.name, "without checks") && len(errs) != 2 {
				t.Errorf("want the typo and the missing check block, got %d error(s):\n%v", len(errs), err)
			}
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

func TestTheCatalogLints(t *testing.T) {
	list, errs := Catalog()
	for _, err := range errs {
		t.Error(err)
	}
	if len(list) == 0 {
		t.Fatal("the embedded catalog is empty")
	}
	for _, sc := range list {
		if !sc.Embedded {
			t.Errorf("%s is not marked embedded", sc.ID)
		}
	}
}

func TestAHandsOnStepNamesWhatTheLearnerMakes(t *testing.T) {
	src := strings.Replace(good, "## One", "## Hands on\n\n```lab unattended\nnetns add blue\n```\n\n```check\nexpect netns blue exists within 60s\nexpect link lo -n blue down\n```\n\n## One", 1)
	sc, err := Parse("h.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	st := sc.Steps[0]
	if !st.HandsOn() || len(st.Lab) != 0 || len(st.Unattended) != 1 || len(st.Commands(true)) != 1 || len(st.Commands(false)) != 0 {
		t.Errorf("hands-on step parsed as %+v", st)
	}
	if d := st.Check[0].Within(); d.Seconds() != 60 {
		t.Errorf("within = %v, want 60s", d)
	}
}

func TestInstructorDirectoriesAddScenariosAfterTheCatalog(t *testing.T) {
	list, errs := Catalog("testdata/extra")
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `id "hello" is already used`) {
		t.Errorf("errors = %v, want the duplicate id reported", errs)
	}
	last := list[len(list)-1]
	if last.ID != "zz-instructor" || last.Embedded {
		t.Errorf("last scenario = %s (embedded %v), want the instructor's own", last.ID, last.Embedded)
	}
	if _, errs := Catalog("testdata/nonesuch"); len(errs) == 0 {
		t.Error("a directory without scenarios is not reported")
	}
}

func TestRequiresMakeAScenarioUnavailableWithAReason(t *testing.T) {
	sc, err := Parse("t.md", []byte(strings.Replace(good, "requires: []", "requires: [sctp]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	sc.CheckRequires(map[string]bool{"sctp": false})
	if sc.Available || !strings.Contains(sc.Reason, "SCTP") {
		t.Errorf("available=%v reason=%q", sc.Available, sc.Reason)
	}
	sc.CheckRequires(map[string]bool{"sctp": true})
	if !sc.Available {
		t.Error("unavailable although the machine has SCTP")
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("---\nid: [\n---\n"))
	f.Add([]byte("---\n---\n## a\n```lab\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := Parse("fuzz.md", src)
		if err == nil {
			return
		}
		for _, e := range unjoin(err) {
			var se *script.SyntaxError
			if !errors.As(e, &se) || se.Line < 1 || se.Col < 1 {
				t.Fatalf("error without a position: %v", e)
			}
		}
	})
}

// A step that needs a kernel feature says so in a requires block. On a
// machine without it that step is skipped with the reason, and the rest of
// the lesson runs; an unknown feature is an error at its line and column.
func TestAStepCanRequireAFeatureTheRestRunsWithout(t *testing.T) {
	src := "---\nid: r\ntitle: R\nsummary: s\nlevel: beginner\nminutes: 1\n---\n" +
		"## Plain\n```lab\nnetns add a\n```\n```check\nexpect netns a exists\n```\n" +
		"## SCTP\n```requires\nsctp\n```\n```lab\nlisten sctp 127.0.0.1:9 -n a\n```\n```check\nexpect sockets self in a == 1\n```\n"
	sc, err := Parse("r.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Steps[1].Requires; len(got) != 1 || got[0] != "sctp" {
		t.Fatalf("step 2 requires %v, want [sctp]", got)
	}
	sc.CheckRequires(map[string]bool{})
	if !sc.Available || sc.Steps[0].Skip != "" {
		t.Errorf("the lesson or its first step is unavailable: %v %q", sc.Available, sc.Steps[0].Skip)
	}
	if !strings.Contains(sc.Steps[1].Skip, "SCTP") {
		t.Errorf("step 2 skip reason %q does not name SCTP", sc.Steps[1].Skip)
	}
	res := sc.Steps[1].Run(context.Background(), nil, StepOptions{})
	if !res.OK || res.Skipped == "" || len(res.Commands) != 0 {
		t.Errorf("a skipped step ran or failed: %+v", res)
	}
	sc.CheckRequires(map[string]bool{"sctp": true})
	if sc.Steps[1].Skip != "" {
		t.Errorf("with SCTP, step 2 is still skipped: %q", sc.Steps[1].Skip)
	}

	bad := strings.Replace(src, "```requires\nsctp", "```requires\nsctpp", 1)
	_, err = Parse("r.md", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "r.md:17:1:") || !strings.Contains(err.Error(), `unknown feature "sctpp"`) {
		t.Errorf("unknown feature: %v", err)
	}
}

func TestFindSuggestsTheClosestID(t *testing.T) {
	list, _ := Catalog()
	if _, err := Find(list, "helo"); err == nil || !strings.Contains(err.Error(), "did you mean `hello`?") {
		t.Errorf("Find(helo) = %v, want a suggestion of hello", err)
	}
	if _, err := Find(list, "zzzz"); err == nil || !strings.Contains(err.Error(), "nslab list") {
		t.Errorf("Find(zzzz) = %v, want the list of ids", err)
	}
}
