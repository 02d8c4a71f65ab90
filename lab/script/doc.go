// Package script is the lab command language: one command a line, mirroring
// iproute2 and nsenter (`netns add alpha`, `link add va type veth peer vb
// netns beta`, `ping 10.0.0.2 -n alpha`), plus `expect` checks that can wait
// (`expect link eth0 -n alpha up within 60s`) and the proxy's commands
// (`proxy start edge route {tenant}/tcp/127.0.0.1:80={tenant}/tcp/10.0.0.1:80`).
//
// Scenarios, the TUI's prompt and `nslab run` all go through this package.
//
// # Parsing
//
// Parse (a block, with the file line of its first line) and ParseLine return
// Stmts. Every error is a *SyntaxError{File, Line, Col, Msg}; Msg says what
// was found, what was expected, the usage, and the closest command or name
// ("did you mean `link add`?"). Parse returns every error of a block, joined.
// A Stmt carries its Cmd (the registry entry: Name, Usage, Summary,
// Example), its Shell() and Go() equivalents with the arguments filled in,
// Within() for a waiting check, and the names it defines and uses (Defs,
// Refs). A Scope checks those names in order before anything runs:
//
//	sc := script.NewScope()
//	for _, st := range stmts {
//		errs = append(errs, sc.Check(st)...) // unknown namespace `alhpa` ... did you mean `alpha`?
//	}
//
// # Running
//
// A Runner executes Stmts against a lab.Session, one at a time (the TUI does
// so from a tea.Cmd; Env's accessors may be read meanwhile):
//
//	r := script.NewRunner(session)
//	defer r.Close()                             // sockets and proxy clients; the session is yours
//	res := r.Exec(ctx, st)                      // Result{Stmt, Output, Err, Elapsed}
//	res, err := r.RunLine(ctx, "ping 10.0.0.2 -n alhpa") // err: *SyntaxError, nothing ran
//	results := r.Run(ctx, stmts)                // stops at the first failed command; runs every check
//
// Result.Err of a check that did not hold is a *CheckError (IsCheckFailure);
// any other error is a command that failed or a check that could not be
// evaluated. An action whose names the running lab does not have fails
// before it runs with a *SyntaxError at the name's column. Runner.OnResult,
// if set, sees every Result. Env holds what a run builds up: LastOutput (for
// `expect output contains`), Watched (what `watch` added, for the live
// panels), Sockets and Proxies by name. Completions lists the words a prompt
// can complete; Names, Commands, Lookup and Help serve help screens, and
// Reference renders docs/language.md.
//
// Steps of a scenario (lab, unattended and check blocks, events as each
// statement starts and ends, rebuilding earlier steps for a jump) are in
// package scenarios: Step.Run and Scenario.Rebuild.
//
// # Adding a command
//
// The registry (registry.go) is an ordered list of *Command values, one file
// per command family (cmd_net.go, cmd_proc.go, cmd_sock.go, cmd_proxy.go,
// check.go). A command's parse function reads its arguments with the parser
// (word, keyword, checked, accept, errAt), records the names it makes and
// uses (define, ref), and returns an Action (Run, Shell and Go) with
// p.done(). The parser keeps a line's first error, as bufio.Scanner does: after
// it every reader takes nothing and returns a zero value, so a parse
// function reads straight through and done reports the error.
package script
