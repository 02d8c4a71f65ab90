package room

import (
	"bufio"
	"encoding/json"
	"net"
)

// ControlEnv names the control socket in a learner's environment: the TUI
// reports its Status there, one JSON object a line, and reads Commands.
const ControlEnv = "NSLAB_ROOM_CONTROL"

// Command is what the room asks of a learner's TUI.
type Command struct {
	Goto    *Goto `json:"goto,omitempty"`
	Repaint bool  `json:"repaint,omitempty"`
}

// Goto is a step of a lesson (step from 0).
type Goto struct {
	Lesson string `json:"lesson"`
	Step   int    `json:"step"`
}

// Client is the TUI's end of the control socket.
type Client struct {
	c        net.Conn
	Commands <-chan Command
}

// Dial connects a learner's TUI to its room.
func Dial(path string) (*Client, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	ch := make(chan Command, 8)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			var cmd Command
			if json.Unmarshal(sc.Bytes(), &cmd) == nil {
				ch <- cmd
			}
		}
	}()
	return &Client{c: c, Commands: ch}, nil
}

// Report sends the TUI's status (any value that marshals as Status).
func (c *Client) Report(st any) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = c.c.Write(append(b, '\n'))
	return err
}

// Close closes the connection.
func (c *Client) Close() error { return c.c.Close() }
