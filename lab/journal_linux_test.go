package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestJournalRecordsAddsAndDels(t *testing.T) {
	j, dir := openTestJournal(t)
	a := Entry{Kind: KindNetns, Name: "nslab-a"}
	b := Entry{Kind: KindLink, Name: "nslab-va"}
	c := Entry{Kind: KindProc, PID: 42, Start: 7, Label: "c1"}
	for _, e := range []Entry{a, b, c} {
		if err := j.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	j.Done(b)

	jfs, err := ReadJournals(dir)
	if err != nil || len(jfs) != 1 {
		t.Fatalf("ReadJournals = %v, %v", jfs, err)
	}
	jf := jfs[0]
	if !jf.Alive {
		t.Error("a journal whose session holds its lock reads as dead")
	}
	if jf.Session.PID != os.Getpid() {
		t.Errorf("header PID %d, want %d", jf.Session.PID, os.Getpid())
	}
	if len(jf.Live) != 2 || jf.Live[0].Name != "nslab-a" || jf.Live[1].PID != 42 {
		t.Errorf("live entries = %+v, want netns nslab-a then proc 42", jf.Live)
	}
	j.close(false)
	if jfs, _ := ReadJournals(dir); jfs[0].Alive {
		t.Error("a closed journal still reads as alive")
	}
}

func TestJournalToleratesATornLastLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.journal")
	os.WriteFile(p, []byte(`{"op":"session","pid":1}
{"op":"add","kind":"netns","name":"nslab-a"}
{"op":"add","kind":"netns","na`), 0o600)
	jfs, _ := ReadJournals(dir)
	if len(jfs) != 1 || jfs[0].Err != nil || len(jfs[0].Live) != 1 {
		t.Fatalf("torn journal read as %+v", jfs)
	}
	os.WriteFile(p, []byte("garbage\n{\"op\":\"add\",\"kind\":\"netns\",\"name\":\"nslab-a\"}\n"), 0o600)
	if jfs, _ := ReadJournals(dir); jfs[0].Err == nil {
		t.Error("damage in the middle of a journal is not reported")
	}
}

func TestJournalRecordsIdentityOnceMade(t *testing.T) {
	j, dir := openTestJournal(t)
	defer j.close(true)
	ns := Entry{Kind: KindNetns, Name: "nslab-a"}
	br := Entry{Kind: KindLink, Name: "nslab-br"}
	j.Add(ns)
	j.Add(br)
	j.Identify(Entry{Kind: KindNetns, Name: "nslab-a", Ino: 4026532000})
	j.Identify(Entry{Kind: KindLink, Name: "nslab-br", Index: 7})
	if live := j.Live(); live[0].Ino != 4026532000 || live[1].Index != 7 {
		t.Errorf("live entries after Identify = %+v", live)
	}
	jfs, _ := ReadJournals(dir)
	if live := jfs[0].Live; len(live) != 2 || live[0].Ino != 4026532000 || live[1].Index != 7 {
		t.Errorf("read back = %+v, want the inode and the ifindex", live)
	}
	// Made again under the same name: the new one starts unidentified.
	j.Done(ns)
	j.Add(ns)
	if jfs, _ := ReadJournals(dir); jfs[0].Live[1].Ino != 0 {
		t.Errorf("a namespace added again kept the old one's inode: %+v", jfs[0].Live)
	}
}

// A del removes the resource it names and nothing that merely looks like
// it: a process with the same PID but another start time, a link of the
// same name in another namespace, a namespace named like a link.
func TestJournalDelTakesOnlyTheSameResource(t *testing.T) {
	j, dir := openTestJournal(t)
	defer j.close(false)
	keep := []Entry{
		{Kind: KindProc, PID: 42, Start: 8},
		{Kind: KindLink, Name: "nslab-va", Netns: "nslab-b"},
		{Kind: KindNetns, Name: "nslab-va"},
		{Kind: KindFile, Path: "/run/nslab/y.sock"},
	}
	gone := []Entry{
		{Kind: KindProc, PID: 42, Start: 7},
		{Kind: KindLink, Name: "nslab-va", Netns: "nslab-a"},
		{Kind: KindFile, Path: "/run/nslab/x.sock"},
	}
	for _, e := range append(append([]Entry{}, gone...), keep...) {
		if err := j.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range gone {
		j.Done(e)
	}
	if len(j.live) != len(keep) {
		t.Errorf("the session's journal keeps %+v, want %+v", j.live, keep)
	}
	jfs, err := ReadJournals(dir)
	if err != nil || len(jfs) != 1 {
		t.Fatalf("ReadJournals = %v, %v", jfs, err)
	}
	if got := jfs[0].Live; len(got) != len(keep) {
		t.Fatalf("read back %+v, want %+v", got, keep)
	}
	for i, e := range jfs[0].Live {
		if !e.same(keep[i]) {
			t.Errorf("entry %d is %+v, want %+v", i, e, keep[i])
		}
	}
}

// BenchmarkReadJournal reads the journal a proxy benchmark leaves: 1000
// namespaces and 1000 links with their identities and 200 processes, all
// removed again in the order they were made (each del matched against the
// adds before it). The panels read every journal in the run directory to
// name namespaces, so this is paid per journal at each names reload.
func BenchmarkReadJournal(b *testing.B) {
	j, dir := openTestJournal(b)
	var all []Entry
	for i := range 1000 {
		ns := Entry{Kind: KindNetns, Name: fmt.Sprintf("nslab-pp%d", i)}
		l := Entry{Kind: KindLink, Name: fmt.Sprintf("nslab-v%d", i), Netns: ns.Name}
		all = append(all, ns, l)
		if i%5 == 0 {
			all = append(all, Entry{Kind: KindProc, PID: 1000 + i, Start: uint64(i)})
		}
	}
	for _, e := range all {
		j.Add(e)
		if e.Kind == KindNetns {
			e.Ino = 4026532000 + uint64(len(e.Name))
			j.Identify(e)
		}
	}
	for _, e := range all {
		j.Done(e)
	}
	j.close(false)
	for b.Loop() {
		jfs, err := ReadJournals(dir)
		if err != nil || len(jfs) != 1 || len(jfs[0].Live) != 0 {
			b.Fatalf("%v %v", jfs, err)
		}
	}
}

// openTestJournal opens a journal in a directory of its own, as a session
// does in its run directory.
func openTestJournal(t testing.TB) (*Journal, string) {
	t.Helper()
	dir := t.TempDir()
	j, err := openJournal(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	return j, dir
}
