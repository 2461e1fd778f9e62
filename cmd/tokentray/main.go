// Command tokentray is Tokentray's tray agent and command line. It never
// links the Fyne GUI, so it starts fast and idles at no cost.
//
//	tokentray agent                     run the tray agent (one per user)
//	tokentray add NAME --flow … …       add or replace a profile
//	tokentray token NAME [--header]     print a valid access token
//	tokentray list [--json]             the profiles, their state and expiry
//	tokentray exec NAME -- CMD [ARG…]   run CMD with the token in its environment
//	tokentray proxy [NAME --listen ADDR] serve a local proxy that adds the token
//	tokentray access [NAME] [--json]    who took which token
//	tokentray remove NAME               delete a profile and its secrets
//	tokentray device [--json]           show this device's identity
//	tokentray secrets [keychain|file]   where secrets are kept; move them
//	tokentray doctor [--delete]         check the secrets, find orphans
//
// Each command lives in a file of its own; this one dispatches and turns
// errors into one line on standard error and an exit code.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tokentray/tokentray/store"
)

// Exit codes, documented in README.md. exec also passes its child's status
// through.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitUserMust = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// command is one subcommand: its name, help text and what it does.
type command struct {
	name     string
	synopsis string // the usage lines, indented under "Usage:"
	help     string // what it does, for `tokentray help NAME`
	run      func(ctx context.Context, args []string, std stdio) error
}

// stdio is the standard streams a command works with.
type stdio struct {
	in       *os.File
	out, err io.Writer
}

// commands lists every subcommand in the order `tokentray help` shows them.
// It is filled in init because help refers to it.
var commands []command

func init() {
	commands = []command{tokenCommand, listCommand, execCommand, proxyCommand, accessCommand, addCommand, removeCommand,
		deviceCommand, secretsCommand, doctorCommand, agentCommand, helpCommand, versionCommand}
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help":
		name = "help"
	case "--version":
		name = "version"
	}
	cmd, ok := lookup(name)
	if !ok {
		return report(usageError{fmt.Sprintf("unknown command %q", args[0])}, stderr)
	}
	// No signal handling here: a short command interrupted should simply
	// die, as the default action does, and catching signals costs start-up
	// time on the token path. exec and add catch the ones they must.
	ctx := context.Background()
	if cmd.name != agentCommand.name { // the agent keeps answering meanwhile
		sayWhenKeychainWaits(stderr)
	}
	return report(cmd.run(ctx, args[1:], stdio{stdin, stdout, stderr}), stderr)
}

// keychainNoticeAfter is how long a keychain call waits before the person
// is told why nothing happens: longer than a keychain that works takes,
// short enough that a prompt behind other windows is looked for.
const keychainNoticeAfter = 3 * time.Second

// sayWhenKeychainWaits has the command say once on stderr that it waits
// for the keychain, when a call to it takes longer than
// keychainNoticeAfter; each call still ends within store.KeychainTimeout.
func sayWhenKeychainWaits(stderr io.Writer) {
	var once sync.Once
	store.OnKeychainWait(keychainNoticeAfter, func() {
		once.Do(func() {
			fmt.Fprintf(stderr, "tokentray: waiting for the keychain to answer (at most %s); it may show an unlock prompt, perhaps behind other windows\n", store.KeychainTimeout)
		})
	})
}

// usageError is a command line that cannot be understood.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// statusError is an error with an exit status of its own. With a nil err
// nothing is printed: exec passing its child's status through.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.status)
	}
	return e.err.Error()
}

func (e *statusError) Unwrap() error { return e.err }

// report prints err as one line and picks the exit code.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *statusError
	if errors.As(err, &ee) && ee.err == nil {
		return ee.status
	}
	// One line, whatever the cause says: scripts log stderr line by line.
	msg := strings.Join(strings.Fields(err.Error()), " ")
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "tokentray: %s (run 'tokentray help' for usage)\n", msg)
		return exitUsage
	}
	fmt.Fprintf(stderr, "tokentray: %s\n", msg)
	switch {
	case ee != nil:
		return ee.status
	case needsUser(err):
		return exitUserMust
	default:
		return exitError
	}
}

// loadConfig reads the profiles from where every command keeps them.
func loadConfig() (path string, cfg *store.Config, err error) {
	path, err = store.DefaultPath()
	if err != nil {
		return "", nil, err
	}
	cfg, err = store.Load(path)
	return path, cfg, err
}
