package scenarios

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// countsTable is the table docs/scenarios.md shows: per lesson, in course
// order, the steps the learner does and the questions asked.
func countsTable(list []*Scenario) string {
	var b strings.Builder
	b.WriteString("| part | lesson | steps | hands-on | challenges | predictions |\n|---|---|---|---|---|---|\n")
	var tot [4]int
	for _, sc := range list {
		var n [3]int
		for _, st := range sc.Steps {
			if st.HandsOn() {
				n[0]++
			}
			if st.Challenge() {
				n[1]++
			}
			if st.Predict != nil {
				n[2]++
			}
		}
		fmt.Fprintf(&b, "| %s | `%s` | %d | %d | %d | %d |\n", sc.Group, sc.ID, len(sc.Steps), n[0], n[1], n[2])
		tot[0] += len(sc.Steps)
		for i := range n {
			tot[i+1] += n[i]
		}
	}
	fmt.Fprintf(&b, "| | **%d lessons** | **%d** | **%d** | **%d** | **%d** |\n", len(list), tot[0], tot[1], tot[2], tot[3])
	return b.String()
}

// The counts in docs/scenarios.md are the catalog's (go test ./scenarios
// -run Counts -update rewrites them).
func TestCountsInTheDocsAreTheCatalogs(t *testing.T) {
	const path = "../docs/scenarios.md"
	const begin, end = "<!-- counts: go test ./scenarios -run Counts -update -->\n", "<!-- /counts -->\n"
	list, errs := Catalog()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no counts block (%q ... %q)", path, begin, end)
	}
	want := s[:i+len(begin)] + countsTable(list) + s[j:]
	if *update { // (the flag of goblocks_test.go)
		os.WriteFile(path, []byte(want), 0o644)
		return
	}
	if s != want {
		t.Errorf("the counts in %s are out of date: go test ./scenarios -run Counts -update", path)
	}
}
