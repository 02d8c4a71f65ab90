package lab_test

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/nslab/nslab/lab"
)

func TestInterruptedNetlinkDumpsAreRetried(t *testing.T) {
	t.Run("a dump interrupted twice is retried until it is whole", func(t *testing.T) {
		calls := 0
		got, err := lab.RetryDump(func() ([]int, error) {
			calls++
			if calls < 3 {
				return []int{1}, netlink.ErrDumpInterrupted // partial
			}
			return []int{1, 2, 3}, nil
		})
		if err != nil || len(got) != 3 || calls != 3 {
			t.Errorf("got %v, %v after %d calls; want the whole dump after 3", got, err, calls)
		}
	})
	t.Run("another error is returned at once", func(t *testing.T) {
		calls := 0
		boom := errors.New("boom")
		_, err := lab.RetryDump(func() ([]int, error) { calls++; return nil, boom })
		if !errors.Is(err, boom) || calls != 1 {
			t.Errorf("got %v after %d calls, want boom after 1", err, calls)
		}
	})
	t.Run("a dump that never settles says so instead of passing a partial result as whole", func(t *testing.T) {
		calls := 0
		_, err := lab.RetryDump(func() ([]int, error) { calls++; return []int{1}, netlink.ErrDumpInterrupted })
		if !errors.Is(err, netlink.ErrDumpInterrupted) || calls < 2 {
			t.Errorf("got %v after %d calls, want ErrDumpInterrupted after retrying", err, calls)
		}
	})
}
