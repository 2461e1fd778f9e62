package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/tokentray/tokentray/agent/access"
	"github.com/tokentray/tokentray/store"
)

var execCommand = command{
	name:     "exec",
	synopsis: "tokentray exec NAME -- CMD [ARG…]",
	help: `Run CMD with a valid access token of profile NAME in its environment
only, as TOKENTRAY_TOKEN (and the name as TOKENTRAY_PROFILE); the token is
never printed, and the secrets file's passphrase variable is left out of
CMD's environment. Standard input and output are CMD's own; the signals
tokentray receives (interrupt, terminate, hang-up, quit, …) are passed on
to CMD, and tokentray exits with CMD's status: 128+N when a signal N ended
it, as shells report; 127 when CMD is not found, 126 when it cannot run.`,
	run: runExec,
}

// Exit statuses of a command that could not run, as shells and env(1) use.
const (
	exitCannotRun = 126
	exitNotFound  = 127
)

func runExec(ctx context.Context, args []string, std stdio) error {
	fs := newFlagSet("exec")
	name, argv, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	if len(argv) == 0 {
		return usageError{"name the command to run: tokentray exec NAME -- CMD [ARG…]"}
	}
	// Signals are caught from here on, so that one meant for CMD cannot
	// kill tokentray with its default action and leave CMD orphaned.
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, forwardedSignals...)
	defer signal.Stop(signals)

	// Until CMD runs, a signal means: give up, as CMD would have.
	tokenCtx, stop := signal.NotifyContext(ctx, forwardedSignals...)
	accessToken, err := tokenOf(tokenCtx, name, access.ChannelExec)
	stop()
	select {
	case sig := <-signals:
		return &statusError{status: 128 + int(sig.(syscall.Signal))}
	default:
	}
	if err == nil {
		err = fitsEnvironment(accessToken)
	}
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = withEnv(withoutEnv(os.Environ(), passphraseVars()...), "TOKENTRAY_TOKEN="+accessToken, "TOKENTRAY_PROFILE="+name)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = std.in, std.out, std.err
	if err := cmd.Start(); err != nil {
		return startError(argv[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-signals:
				// A Ctrl-C at a terminal reaches CMD directly as well, so
				// CMD may see it twice; tokentray cannot tell who sent a
				// signal, and one sent by kill must reach CMD. An error
				// means CMD is gone already.
				_ = cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return fmt.Errorf("waiting for %s: %w", argv[0], err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &statusError{status: 128 + int(ws.Signal())}
	}
	return &statusError{status: cmd.ProcessState.ExitCode()}
}

// withEnv returns env with the given KEY=value entries replacing any of
// the same keys.
func withEnv(env []string, entries ...string) []string {
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i], _, _ = strings.Cut(e, "=")
	}
	return append(withoutEnv(env, keys...), entries...)
}

// passphraseVars are the variables that may hold the secrets file's
// passphrase: the default one and the one the settings name. With it and the
// file, a child would hold every secret, not just the one token it is given.
func passphraseVars() []string {
	vars := []string{store.DefaultPassphraseEnv}
	if path, err := store.DefaultPath(); err == nil {
		if cfg, err := store.Load(path); err == nil {
			vars = append(vars, cfg.Settings.PassphraseVar())
		}
	}
	return vars
}

// withoutEnv returns env without the entries of the given keys.
func withoutEnv(env []string, keys ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		key, _, _ := strings.Cut(kv, "=")
		return slices.Contains(keys, key)
	})
}

// startError reports a command that could not start with the status a
// shell would give.
func startError(name string, err error) error {
	status := exitCannotRun
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		status = exitNotFound
	}
	return &statusError{status: status, err: fmt.Errorf("cannot run %s: %w", name, err)}
}
