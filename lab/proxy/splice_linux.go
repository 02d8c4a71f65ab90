package proxy

import (
	"errors"
	"io"
	"net"
	"sync"

	"golang.org/x/sys/unix"
)

// spliceCopy moves src's bytes to dst until src's EOF, through a pipe and
// splice(2) (zero-copy, as io.Copy between two *net.TCPConn does), but
// holds a pipe only while bytes are in flight.
//
// io.Copy keeps its pipe for the whole life of the connection: with two
// directions, a proxied connection cost six descriptors (two sockets, two
// pipes) even while idle, and 5000 connections would need 30 000, more
// than this machine's hard limit of 20 000. Here a direction waits for
// data holding nothing, borrows a pipe when there is some, and gives it
// back once the pipe is empty again: an idle connection costs its two
// sockets.
func spliceCopy(dst, src *net.TCPConn) (int64, error) {
	rsrc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	rdst, err := dst.SyscallConn()
	if err != nil {
		return 0, err
	}
	var total int64
	for {
		var p *pipe
		var n int
		var serr error
		// Splice into a borrowed pipe; if there is nothing to read yet,
		// give the pipe back and wait for readability.
		err := rsrc.Read(func(fd uintptr) bool {
			p = pipes.get()
			if p == nil {
				serr = errNoPipe
				return true
			}
			for {
				n, serr = splice(int(fd), p.w, maxSplice)
				if serr != unix.EINTR {
					break
				}
			}
			if serr == unix.EAGAIN {
				pipes.put(p)
				p = nil
				return false
			}
			return true
		})
		if err == nil {
			err = serr
		}
		if err != nil {
			if p != nil {
				pipes.put(p)
			}
			if errors.Is(err, errNoPipe) {
				// Out of descriptors for a pipe: copy through memory.
				m, cerr := io.Copy(dst, onlyReader{src})
				return total + m, cerr
			}
			return total, err
		}
		if n == 0 { // EOF
			pipes.put(p)
			return total, nil
		}
		// Drain the pipe into dst, waiting while dst's buffer is full.
		left := n
		werr := rdst.Write(func(fd uintptr) bool {
			for left > 0 {
				m, err := splice(p.r, int(fd), left)
				switch {
				case err == unix.EAGAIN:
					return false
				case err == unix.EINTR:
					continue
				case err != nil:
					serr = err
					return true
				}
				left -= m
			}
			return true
		})
		if werr == nil {
			werr = serr
		}
		if werr != nil {
			p.close() // it may still hold bytes
			return total + int64(n-left), werr
		}
		pipes.put(p)
		total += int64(n)
	}
}

// copyConn copies src to dst until EOF: spliceCopy between TCP
// connections, io.Copy otherwise.
func copyConn(dst, src net.Conn) (int64, error) {
	d, ok1 := dst.(*net.TCPConn)
	s, ok2 := src.(*net.TCPConn)
	if ok1 && ok2 {
		return spliceCopy(d, s)
	}
	return io.Copy(dst, src)
}

// onlyReader hides a conn's WriteTo, so io.Copy falls back to a buffer.
type onlyReader struct{ io.Reader }

var errNoPipe = errors.New("no pipe")

// maxSplice is the most one splice(2) asks for; pipes are made this big
// (the default /proc/sys/fs/pipe-max-size), as Go's own splice does.
const maxSplice = 1 << 20

func splice(in, out, n int) (int, error) {
	m, err := unix.Splice(in, nil, out, nil, n, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
	return int(m), err
}

type pipe struct{ r, w int }

func (p *pipe) close() {
	unix.Close(p.r)
	unix.Close(p.w)
}

// pipeCache keeps a few empty pipes for the next burst; a pipe costs two
// descriptors, so it keeps at most maxIdlePipes, closes the rest, and is
// emptied when the proxy goes quiet (flush).
type pipeCache struct {
	mu   sync.Mutex
	idle []*pipe
}

const maxIdlePipes = 64

var pipes pipeCache

func (c *pipeCache) get() *pipe {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		p := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return p
	}
	c.mu.Unlock()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil
	}
	unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, maxSplice) // smaller works too
	return &pipe{r: fds[0], w: fds[1]}
}

func (c *pipeCache) put(p *pipe) {
	c.mu.Lock()
	if len(c.idle) < maxIdlePipes {
		c.idle = append(c.idle, p)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	p.close()
}

// flush closes every idle pipe.
func (c *pipeCache) flush() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, p := range idle {
		p.close()
	}
}
