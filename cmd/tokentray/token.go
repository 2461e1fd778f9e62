package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tokentray/tokentray/agent"
	"github.com/tokentray/tokentray/agent/access"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

var tokenCommand = command{
	name:     "token",
	synopsis: "tokentray token NAME [--header]",
	help: `Print a valid access token of profile NAME and a newline; with --header,
as an HTTP header line: "Authorization: Bearer TOKEN". The running agent
answers from memory; with no agent the token comes from the keychain, and
is acquired or refreshed when needed.`,
	run: runToken,
}

func runToken(ctx context.Context, args []string, std stdio) error {
	fs := newFlagSet("token")
	header := fs.Bool("header", false, "print an Authorization header line")
	name, rest, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", rest[0])}
	}
	accessToken, err := tokenOf(ctx, name, access.ChannelToken)
	if err != nil {
		return err
	}
	if *header {
		_, err = fmt.Fprintf(std.out, "Authorization: Bearer %s\n", accessToken)
	} else {
		_, err = fmt.Fprintln(std.out, accessToken)
	}
	return err
}

// tokenOf asks the agent, and works on the keychain itself when none runs.
// via is the channel the access log records, by the agent or else here:
// access.ChannelToken or access.ChannelExec.
func tokenOf(ctx context.Context, name, via string) (string, error) {
	client, err := localapi.DefaultClient()
	if err != nil {
		return "", err
	}
	resp, err := client.TokenVia(ctx, name, via)
	if err == nil {
		return resp.AccessToken, nil
	}
	if !errors.Is(err, localapi.ErrNotRunning) {
		return "", withRemedy(name, err)
	}
	path, err := store.DefaultPath()
	if err != nil {
		return "", err
	}
	tokens, err := agent.NewTokens(path, store.OpenKeychain(path, askPassphrase()))
	if err != nil {
		return "", err
	}
	tok, err := tokens.Token(ctx, name)
	if err != nil {
		return "", withRemedy(name, err)
	}
	// Recorded as the agent would have: the caller is the process that
	// ran this one.
	tokens.Record(name, via, os.Getpid())
	return tok.AccessToken, nil
}

// needsUser reports whether err means the user must act: the server refused
// the credentials or settings, said by auth directly or by the agent's 403.
func needsUser(err error) bool {
	var apiErr *localapi.APIError
	return auth.ActionOf(err) == auth.NeedsUser || errors.As(err, &apiErr) && apiErr.Status == 403
}

// withRemedy adds what to do to an error the user must act on. A secrets
// file's passphrase or a damaged entry is not fixed by saving the
// credentials again, and their errors already say what does.
func withRemedy(name string, err error) error {
	if !needsUser(err) || errors.Is(err, store.ErrNoPassphrase) || errors.Is(err, store.ErrWrongPassphrase) || errors.Is(err, store.ErrDamaged) {
		return err
	}
	return fmt.Errorf("%w; if the credentials or settings changed, save them again with 'tokentray add %s …'", err, name)
}

// newFlagSet returns a flag set that reports errors as usage errors, not
// by printing them itself.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args into fs for a command that takes flags only.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// parseWithName accepts the profile name before or after the flags and
// returns the arguments after it.
func parseWithName(fs *flag.FlagSet, args []string) (name string, rest []string, err error) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", nil, usageError{err.Error()}
	}
	rest = fs.Args()
	if name == "" && len(rest) > 0 && rest[0] != "--" {
		name, rest = rest[0], rest[1:]
	}
	if name == "" {
		return "", nil, usageError{"name the profile"}
	}
	return name, rest, nil
}
