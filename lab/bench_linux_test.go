package lab_test

import (
	"fmt"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// BenchmarkNetnsAddDel measures creating and removing one named namespace
// (unshare + bind mount + journal, then unmount + remove).
func BenchmarkNetnsAddDel(b *testing.B) {
	s := labtest.New(b)
	base := labtest.Name("bn")
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("%s-%d", base, i)
		ns, err := s.AddNetns(name)
		if err != nil {
			b.Fatal(err)
		}
		ns.Close()
		if err := s.DelNetns(name); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDo measures one namespace switch round trip through Do.
func BenchmarkDo(b *testing.B) {
	s := labtest.New(b)
	ns, err := s.AddNetns(labtest.Name("bd"))
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Close()
	b.ResetTimer()
	for range b.N {
		if err := lab.Do(ns, func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
