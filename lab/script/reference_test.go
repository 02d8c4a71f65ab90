package script

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/language.md")

func TestReferenceDocIsCurrent(t *testing.T) {
	const path = "../../docs/language.md"
	want := Reference()
	if *update {
		os.WriteFile(path, []byte(want), 0o644)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("docs/language.md is out of date with the registry: run go test ./lab/script -run Reference -update")
	}
}
