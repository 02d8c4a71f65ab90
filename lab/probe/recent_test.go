package probe

import (
	"testing"
	"time"
)

// What a snapshot keeps of a process's sockets or threads serves only the
// same process (PID, parent, name) with the same count, within the age.
func TestLastReadServesOnlyTheSameProcessAndCount(t *testing.T) {
	c := lastRead[Thread]{m: map[int]readAt[Thread]{}}
	s := &Snapshot{PID: 42, PPID: 1, Comm: "worker"}
	c.put(s, 70, []Thread{{TID: 42}, {TID: 43}})
	if got, ok := c.get(s, 70, time.Hour); !ok || len(got) != 2 {
		t.Fatalf("the same process and count: %v %v", got, ok)
	}
	for name, miss := range map[string]func() (*Snapshot, int, time.Duration){
		"one thread more":  func() (*Snapshot, int, time.Duration) { return s, 71, time.Hour },
		"one thread fewer": func() (*Snapshot, int, time.Duration) { return s, 69, time.Hour },
		"another name":     func() (*Snapshot, int, time.Duration) { return &Snapshot{PID: 42, PPID: 1, Comm: "sh"}, 70, time.Hour },
		"another parent": func() (*Snapshot, int, time.Duration) {
			return &Snapshot{PID: 42, PPID: 7, Comm: "worker"}, 70, time.Hour
		},
		"another PID": func() (*Snapshot, int, time.Duration) {
			return &Snapshot{PID: 43, PPID: 1, Comm: "worker"}, 70, time.Hour
		},
		"older than the max age": func() (*Snapshot, int, time.Duration) { return s, 70, time.Nanosecond },
	} {
		snap, n, age := miss()
		if _, ok := c.get(snap, n, age); ok {
			t.Errorf("%s: the last read was served", name)
		}
	}
	got, _ := c.get(s, 70, time.Hour)
	got[0].TID = 99
	if again, _ := c.get(s, 70, time.Hour); again[0].TID != 42 {
		t.Errorf("a caller's change reached the kept read")
	}
}
