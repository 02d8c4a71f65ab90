package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"charm.land/ssh"
	"charm.land/wish/v2"
	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/room"
)

var serveCmd = &cobra.Command{
	Use:   "serve",
	Short: "Run a room: an SSH server giving each learner the lab in a sandbox of their own",
	Long: `nslab serve is an SSH server for a workshop. Each learner connects with an
ssh client (ssh -p 2222 NAME@HOST, then the room code) and gets the full nslab
terminal UI in a sandbox of their own, run as an unprivileged account of their
own (nslab-learner1, nslab-learner2 ...), never as root. Learners get no shell:
the lines they type run only the lab's commands and a list of tools (ip, ss,
nsenter, cat and ls of /proc ...), inside their sandbox, under limits on
processes, memory and namespaces.

The instructor connects as instructor@HOST with the instructor code (or runs
nslab serve --board) and sees the board: every learner, their lesson, step and
checks, time on the step, who is stuck; follows one learner's screen read-only,
and moves the room to a step.

nslab serve must run as root (to start each learner as their account) and
needs the accounts: for i in $(seq 30); do useradd --system nslab-learner$i; done
A learner who disconnects gets the same lab back by connecting again with the
same name (and key) within --grace. See docs/workshop.md.`,
	Args: cobra.NoArgs,
	RunE: runServe,
}

type serveFlags struct {
	listen, roomCode, instructorCode, keys, hostKey, accounts string
	maxLearners, procs, namespaces                            int
	memory                                                    int64
	grace, idle, session, stuck                               time.Duration
	board                                                     bool
}

var sf serveFlags

func setupServe() {
	f := serveCmd.Flags()
	f.StringVar(&sf.listen, "listen", ":2222", "address to listen on (host:port)")
	f.StringVar(&sf.roomCode, "room-code", "", "the code learners type to join (a password or keyboard-interactive answer)")
	f.StringVar(&sf.instructorCode, "instructor-code", "", "the code of the instructor's board (instructor@HOST); default: a random one, printed at start")
	f.StringVar(&sf.keys, "authorized-keys", "", "an authorized_keys file: learners with these keys join without the room code")
	f.StringVar(&sf.hostKey, "host-key", "", "the server's SSH host key (made if missing); default under $XDG_STATE_HOME/nslab (root without it: /var/lib/nslab)")
	f.StringVar(&sf.accounts, "accounts", "nslab-learner", "learners run as the accounts PREFIX1, PREFIX2 ...")
	f.IntVar(&sf.maxLearners, "max-learners", 0, "learners at once (default: one per account)")
	f.IntVar(&sf.procs, "max-procs", 512, "tasks (threads count) a learner may have at once")
	f.Int64Var(&sf.memory, "max-memory", 1<<30, "bytes of data each of a learner's processes may use")
	f.IntVar(&sf.namespaces, "max-namespaces", 400, "namespaces of each type a learner may make")
	f.DurationVar(&sf.grace, "grace", 10*time.Minute, "how long a disconnected learner's lab waits for them")
	f.DurationVar(&sf.idle, "idle", 30*time.Minute, "disconnect a learner who types nothing for this long (their lab waits --grace)")
	f.DurationVar(&sf.session, "session", 8*time.Hour, "end a learner's lab this long after they joined")
	f.DurationVar(&sf.stuck, "stuck", 5*time.Minute, "the board marks a learner stuck when a step has failed this long")
	f.BoolVar(&sf.board, "board", false, "show the instructor's board in this terminal too")
	root.AddCommand(serveCmd)
}

func runServe(cmd *cobra.Command, _ []string) error {
	if os.Geteuid() != 0 {
		return &exitError{code: exitFailure, err: errors.New("nslab serve runs each learner's lab as an unprivileged account of its own, and only root can start them: run it as root (sudo nslab serve ...); learners never get root")}
	}
	if sf.roomCode == "" && sf.keys == "" {
		return usageErrorf("give --room-code CODE (learners type it) or --authorized-keys FILE, or both")
	}
	if sf.instructorCode == "" {
		sf.instructorCode = randomCode()
	}
	if sf.keys != "" {
		if _, err := os.Stat(sf.keys); err != nil {
			return usageErrorf("--authorized-keys: %v", err)
		}
	}
	accts, err := room.LookupAccounts(sf.accounts, sf.maxLearners)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	hostKey := sf.hostKey
	if hostKey == "" {
		hostKey = defaultHostKey()
	}
	if err := os.MkdirAll(filepath.Dir(hostKey), 0o700); err != nil {
		return fmt.Errorf("host key directory: %w", err)
	}
	rm, err := room.New(room.Options{
		Accounts: accts, MaxLearners: sf.maxLearners, Grace: sf.grace, Session: sf.session, Stuck: sf.stuck,
		Dir:    "/run/nslab-serve",
		Limits: lab.SandboxLimits{Procs: sf.procs, Memory: uint64(sf.memory), Namespaces: sf.namespaces, ReadOnly: true},
	})
	if err != nil {
		return err
	}
	defer rm.Close()
	s := &server{room: rm, roomCode: sf.roomCode, instructorCode: sf.instructorCode, idle: sf.idle}
	opts := []ssh.Option{
		wish.WithHostKeyPath(hostKey),
		wish.WithPasswordAuth(s.password),
		wish.WithKeyboardInteractiveAuth(s.keyboard),
		wish.WithMiddleware(func(ssh.Handler) ssh.Handler { return s.handle }),
	}
	if sf.keys != "" {
		opts = append(opts, wish.WithPublicKeyAuth(s.publicKey(sf.keys)))
	}
	srv, err := wish.NewServer(opts...)
	if err != nil {
		return fmt.Errorf("ssh server: %w", err)
	}
	ln, err := net.Listen("tcp", sf.listen)
	if err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("listen on %s: %w", sf.listen, err)}
	}
	s.addr = ln.Addr().String()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "nslab serve: listening on %s for %d learner(s) (accounts %s1..%d)\n", s.addr, len(accts), sf.accounts, len(accts))
	fmt.Fprintf(out, "  learners:   ssh -p %s NAME@HOST   (room code: %s)\n", portOf(s.addr), orNone(sf.roomCode))
	fmt.Fprintf(out, "  instructor: ssh -p %s instructor@HOST   (instructor code: %s)\n", portOf(s.addr), sf.instructorCode)
	fmt.Fprintf(out, "  host key:   %s\n", hostKey)
	errs := make(chan error, 1)
	go func() { errs <- srv.Serve(ln) }()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	boardDone := make(chan struct{})
	if sf.board {
		go func() {
			defer close(boardDone)
			s.localBoard()
		}()
	}
	select {
	case sig := <-sigs:
		fmt.Fprintf(out, "nslab serve: %v: ending every learner's lab\n", sig)
	case err := <-errs:
		if err != nil && !errors.Is(err, ssh.ErrServerClosed) {
			return err
		}
	case <-boardDone:
		fmt.Fprintln(out, "nslab serve: the board was closed: ending every learner's lab")
	}
	srv.Close()
	return nil
}

// defaultHostKey is the server's host key under the state directory:
// $XDG_STATE_HOME/nslab when it is set; else, for root (a system
// service, as serve is), /var/lib/nslab; else ~/.local/state/nslab.
func defaultHostKey() string {
	dir := os.Getenv("XDG_STATE_HOME")
	switch {
	case dir != "":
	case os.Geteuid() == 0:
		return "/var/lib/nslab/ssh_host_ed25519_key"
	default:
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "nslab", "ssh_host_ed25519_key")
}

// randomCode is an instructor code nobody guesses: 4 groups of 4 letters.
func randomCode() string {
	const letters = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 0, 19)
	for i := range 16 {
		if i > 0 && i%4 == 0 {
			b = append(b, '-')
		}
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(letters))))
		b = append(b, letters[n.Int64()])
	}
	return string(b)
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return p
}

func orNone(s string) string {
	if s == "" {
		return "none: keys only"
	}
	return s
}
