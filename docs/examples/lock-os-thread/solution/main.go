//go:build linux

// Command solution is the exercise done right: every listener is opened on
// a locked thread, which goes back where it came from before it is
// unlocked, and is thrown away if it cannot.
//
//	sudo go run ./docs/examples/lock-os-thread/check ./docs/examples/lock-os-thread/solution
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

	"github.com/vishvananda/netns"
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
		log.Fatal("usage: solution [-listeners N] NSPATH   (NSPATH: /run/netns/NAME or /proc/PID/ns/net)")
	}
	nsPath := flag.Arg(0)
	var mu sync.Mutex
	var ls []net.Listener
	for range *rounds {
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
// inside the network namespace at nsPath. The goroutine holds its thread
// from before the switch to after the way back, so nothing else runs on
// that thread while it is in the tenant, and the socket is made on the
// thread that switched.
func listenIn(nsPath string) (net.Listener, error) {
	target, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, err
	}
	defer target.Close()

	runtime.LockOSThread()
	// This thread's namespace, read after locking: /proc/self/ns/net is
	// the main thread's, which need not be this one's.
	origin, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer origin.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	time.Sleep(time.Millisecond) // blocking is harmless now: we wake up on this same thread
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if rerr := netns.Set(origin); rerr != nil {
		// Still in the tenant: stay locked, and end this goroutine, so
		// the runtime discards the thread instead of reusing it.
		if l != nil {
			l.Close()
		}
		runtime.Goexit()
	}
	runtime.UnlockOSThread()
	return l, err
}
