package proxy

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// notify tells the service manager about the daemon's state, the way
// sd_notify(3) does, without libsystemd: one datagram to the unix socket
// named by $NOTIFY_SOCKET (a leading @ is an abstract socket, which the
// net package understands as such). Without the variable it does nothing;
// errors are returned for the log, never fatal.
func notify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", path, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s: %w", path, err)
	}
	return nil
}

// monotonicUsec is CLOCK_MONOTONIC in µs, which RELOADING=1 carries
// (systemd's Type=notify-reload asks for it).
func monotonicUsec() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano() / 1000
}
