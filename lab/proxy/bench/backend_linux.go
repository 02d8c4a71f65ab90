package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"

	"github.com/nslab/nslab/lab"
)

// The peers' backend: one process listening on the same address in every
// tenant namespace (the "one shared backend address" every peer forwards
// to), started once for a whole comparison so that each peer meets the
// same one. A connection whose first byte is 's' is a sink (read to the
// end: throughput); anything else is HTTP/1.1: every request gets a fixed
// answer, and Connection: close closes after it.

// backendBody is the size of every answer's body.
const backendBody = 64

var backendAnswer = []byte("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(backendBody) + "\r\nContent-Type: text/plain\r\n\r\n" +
	string(bytes.Repeat([]byte("x"), backendBody)))

func init() { lab.RegisterInit("bench-backend", backendMain) }

// backendMain reads the namespace paths, one a line, on stdin, and the
// address as os.Args[1]; prints "ready" when every one listens.
func backendMain() {
	runtime.UnlockOSThread()
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "bench backend: want ADDR, and namespace paths on stdin")
		os.Exit(2)
	}
	var paths []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		paths = append(paths, sc.Text())
	}
	if _, err := lab.ReserveFDs(len(paths) + 2048); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	// A batch at a time, handles closed after it: a listener pins its
	// namespace, and 10 000 handles besides 10 000 listeners would be
	// more descriptors than a process may have here.
	for lo := 0; lo < len(paths); lo += 500 {
		var binds []lab.Bind
		for _, path := range paths[lo:min(lo+500, len(paths))] {
			ns, err := lab.OpenNetnsPath(path, path)
			if err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
			binds = append(binds, lab.Bind{Netns: ns, Socks: []lab.Socket{{Network: "tcp", Addr: os.Args[1]}}})
		}
		if err := lab.BindEach(binds); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		for _, b := range binds {
			b.Netns.Close()
			if b.Err != nil {
				fmt.Println("error:", b.Err)
				os.Exit(1)
			}
			go serve(b.Socks[0].Listener, backendConn)
		}
	}
	fmt.Println("ready")
	select {}
}

// serve hands each connection l accepts to handle, on a goroutine of its
// own, until l is closed.
func serve(l net.Listener, handle func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go handle(c)
	}
}

// drain reads c to the end in big blocks: io.Discard reads 8 KiB at a
// time and would cap every path at its syscall rate.
func drain(c net.Conn) {
	big := make([]byte, 1<<20)
	for {
		if _, err := c.Read(big); err != nil {
			return
		}
	}
}

// backendConn answers one connection: a sink, or HTTP requests.
func backendConn(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil || n == 0 {
		return
	}
	if buf[0] == 's' {
		drain(c)
		return
	}
	have := buf[:n]
	for {
		end := bytes.Index(have, []byte("\r\n\r\n"))
		for end < 0 {
			if len(have) == len(buf) {
				return // headers over 4 KiB: not ours
			}
			m, err := c.Read(buf[len(have):])
			if err != nil {
				return
			}
			have = buf[:len(have)+m]
			end = bytes.Index(have, []byte("\r\n\r\n"))
		}
		closing := bytes.Contains(have[:end], []byte("Connection: close"))
		if _, err := c.Write(backendAnswer); err != nil || closing {
			return
		}
		rest := copy(buf, have[end+4:])
		have = buf[:rest]
		if rest == 0 {
			m, err := c.Read(buf)
			if err != nil {
				if err != io.EOF {
					return
				}
				return
			}
			have = buf[:m]
		}
	}
}
