package scenarios

import (
	"testing"

	"github.com/nslab/nslab/lab/script"
)

// What loading the catalog costs, and the part of it that renders every
// step's shell (Parse does it for each lesson).
func BenchmarkCatalog(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := Catalog(); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

func BenchmarkStepShellsOfTheCatalog(b *testing.B) {
	list, _ := Catalog()
	b.ReportAllocs()
	for b.Loop() {
		for _, sc := range list {
			sc.StepShells(script.HostNames())
		}
	}
}
