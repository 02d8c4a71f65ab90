//go:build linux

// Command exercise opens listeners meant for one network namespace from
// many goroutines at once, and then holds them so that they can be
// inspected. It is wrong: fix it.
//
// setns(2) moves the calling thread, not the goroutine, and the Go
// scheduler may move a goroutine to another thread whenever it blocks (and,
// since Go 1.14, preempt it anywhere). Run the checker, which builds this
// program, runs it against a scratch namespace, and reports where its
// sockets and threads ended up:
//
//	sudo go run ./docs/examples/lock-os-thread/check ./docs/examples/lock-os-thread/exercise
//
// Edit bindIn until the checker shows every socket in the namespace and
// no thread left behind in it. (./docs/examples/lock-os-thread/solution
// is one answer; look after trying.)
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var (
	listeners = flag.Int("listeners", 64, "how many listeners to open, each from its own goroutine")
	rounds    = flag.Int("rounds", 1, "open that many at once, this many times over")
)

func init() {
	// Keep every other goroutine off the main thread, whose namespace is
	// the one /proc/PID/ns/net shows for the whole process.
	runtime.LockOSThread()
}

func main() {
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: exercise [-listeners N] NSPATH   (NSPATH: /run/netns/NAME or /proc/PID/ns/net)")
	}
	nsPath := flag.Arg(0)
	var mu sync.Mutex
	var ls []net.Listener
	for round := 1; more(round, nsPath, ls); round++ {
		var wg sync.WaitGroup
		for range *listeners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := listenIn(nsPath)
				if err != nil {
					log.Print(err)
					return
				}
				mu.Lock()
				ls = append(ls, l)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	fmt.Printf("holding %d listeners, pid %d\n", len(ls), os.Getpid())
	// Hold them until interrupted: inspect me meanwhile.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}

// listenIn opens a TCP listener (any address, a port the kernel picks)
// inside the network namespace at nsPath.
//
// TODO: this is the naive switch. Find what can go wrong between the two
// Setns calls, and make it right.
func listenIn(nsPath string) (net.Listener, error) {
	target, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(target)
	origin, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(origin)

	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return nil, err
	}
	time.Sleep(time.Millisecond) // stands for any work here: a log line, a channel, a lookup
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	time.Sleep(time.Millisecond)
	if err := unix.Setns(origin, unix.CLONE_NEWNET); err != nil {
		return nil, err
	}
	return l, err
}
