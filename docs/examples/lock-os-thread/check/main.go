//go:build linux

// Command check runs the lock-os-thread exercise and reports, as the
// kernel sees it, where the program's listeners and threads ended up:
// every listener should be in the namespace it was meant for, and no thread
// should be left there afterwards.
//
//	sudo go run ./docs/examples/lock-os-thread/check ./docs/examples/lock-os-thread/exercise
//
// PROGRAM is a directory of Go code (built with go build) or an executable.
// It is run as PROGRAM NSPATH against a scratch network namespace made for
// the run, and must print a line starting "holding" once it has opened its
// listeners, then hold them until it is sent SIGTERM. The checker asks the
// kernel for each socket's namespace (pidfd_getfd(2), then the SIOCGSKNS
// ioctl) and reads each thread's from /proc/PID/task/TID/ns/net. It exits 0
// when both are right, 1 when not.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/docs/examples/nsdo"
)

var nsName = flag.String("netns", fmt.Sprintf("nslab-exercise-%d", os.Getpid()), "the scratch namespace's name in /run/netns (made and removed here)")

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: check PROGRAM   (a directory of Go code, or an executable)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	ok, err := run(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(program string) (bool, error) {
	bin, cleanup, err := build(program)
	if err != nil {
		return false, err
	}
	defer cleanup()
	if err := nsdo.AddNamed(*nsName); err != nil {
		return false, fmt.Errorf("make the scratch namespace %s: %w", *nsName, err)
	}
	defer netns.DeleteNamed(*nsName)
	nsPath := filepath.Join("/run/netns", *nsName)
	var st unix.Stat_t
	if err := unix.Stat(nsPath, &st); err != nil {
		return false, err
	}
	tenant := st.Ino

	cmd := exec.Command(bin, nsPath)
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return false, err
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	if err := waitHolding(out, 30*time.Second); err != nil {
		cmd.Process.Kill()
		return false, err
	}
	pid := cmd.Process.Pid
	inside, outside, err := socketsByNetns(pid, tenant)
	if err != nil {
		return false, err
	}
	left, total := threadsIn(pid, tenant)
	fmt.Printf("the program (PID %d) was asked to open its listeners in net:[%d]\n", pid, tenant)
	good := outside == 0 && inside > 0
	mark(good, "%d of %d sockets are in that namespace", inside, inside+outside)
	if outside > 0 {
		fmt.Println("    the others were made on a thread that was not in it: the goroutine")
		fmt.Println("    changed threads between setns and socket")
	}
	mark(left == 0, "%d of its %d threads are still in that namespace", left, total)
	if left > 0 {
		fmt.Println("    a thread was switched and never switched back: whatever goroutine")
		fmt.Println("    the scheduler runs on it next runs in the tenant, without knowing")
	}
	return good && left == 0, nil
}

func mark(ok bool, format string, a ...any) {
	m := "✓"
	if !ok {
		m = "✗"
	}
	fmt.Printf("%s %s\n", m, fmt.Sprintf(format, a...))
}

// build compiles a directory of Go code into a temporary file; an
// executable is used as it is.
func build(program string) (string, func(), error) {
	fi, err := os.Stat(program)
	if err != nil {
		return "", nil, err
	}
	if !fi.IsDir() {
		return program, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "lockcheck-")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "program")
	b := exec.Command("go", "build", "-o", bin, ".")
	b.Dir, b.Stdout, b.Stderr = program, os.Stderr, os.Stderr
	if err := b.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("go build %s: %w", program, err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// waitHolding reads the program's output until its "holding" line.
func waitHolding(out interface{ Read([]byte) (int, error) }, limit time.Duration) error {
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(limit)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return fmt.Errorf("the program ended without saying \"holding\"")
			}
			fmt.Println("  program:", l)
			if strings.HasPrefix(l, "holding") {
				go func() {
					for range lines {
					}
				}()
				return nil
			}
		case <-deadline:
			return fmt.Errorf("the program did not say \"holding\" within %s", limit)
		}
	}
}

// socketsByNetns counts the internet sockets of process pid inside the
// namespace with inode tenant and elsewhere. For each socket fd it takes a
// copy (pidfd_getfd) and asks the kernel which namespace the socket
// belongs to (SIOCGSKNS returns an fd of that namespace).
func socketsByNetns(pid int, tenant uint64) (inside, outside int, err error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, e := range fds {
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		if !strings.HasPrefix(target, "socket:") {
			continue
		}
		n, _ := strconv.Atoi(e.Name())
		fd, err := unix.PidfdGetfd(pidfd, n, 0)
		if err != nil {
			continue // closed meanwhile
		}
		ino, err := socketNetns(fd)
		inet := isInet(fd)
		unix.Close(fd)
		if err != nil || !inet {
			continue
		}
		if ino == tenant {
			inside++
		} else {
			outside++
		}
	}
	return inside, outside, nil
}

// socketNetns returns the inode of the network namespace a socket belongs to.
func socketNetns(fd int) (uint64, error) {
	nsfd, err := unix.IoctlRetInt(fd, unix.SIOCGSKNS)
	if err != nil {
		return 0, err
	}
	defer unix.Close(nsfd)
	var st unix.Stat_t
	if err := unix.Fstat(nsfd, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// isInet reports whether a socket is AF_INET or AF_INET6 (not one of the
// unix sockets a program may also hold).
func isInet(fd int) bool {
	d, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	return err == nil && (d == unix.AF_INET || d == unix.AF_INET6)
}

// threadsIn counts the threads of pid whose network namespace is tenant.
func threadsIn(pid int, tenant uint64) (in, total int) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/ns/net", pid))
	for _, t := range tasks {
		var st unix.Stat_t
		if unix.Stat(t, &st) == nil {
			total++
			if st.Ino == tenant {
				in++
			}
		}
	}
	return in, total
}
