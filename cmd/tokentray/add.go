package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/google/uuid"
	"golang.org/x/term"

	"github.com/tokentray/tokentray/agent"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

var addCommand = command{
	name: "add",
	synopsis: `tokentray add NAME [--flow identity] [--url BASE] --client-key KEY
                [--network auto|wifi|ethernet|cellular|other]
                [--uid UID --signature-timestamp SECONDS]
  tokentray add NAME --flow web [--url BASE] --client-id ID
                [--sub-type user|organization] [--sub UUID] [--scope "a b"]`,
	help: `Add a profile, or replace the one of that name. The secrets come from
standard input, one per line: the client secret, then for --flow web the
session token, or for a signed-in identity account (--uid) the uid
signature (for example: pass show api | tokentray add work …).
On a terminal they are asked for without echo. Secrets are never taken
from the command line, where other users could read them. The default
--url is https://api.nfl.com for identity and https://api.polar.sh for
web. A running agent is told to reload.`,
	run: runAdd,
}

// defaultURL is each flow's API, so the common case needs no --url.
var defaultURL = map[string]string{
	store.FlowIdentity: "https://api.nfl.com",
	store.FlowWeb:      "https://api.polar.sh",
}

func runAdd(ctx context.Context, args []string, std stdio) error {
	fs := newFlagSet("add")
	flow := fs.String("flow", store.FlowIdentity, "token protocol: identity or web")
	baseURL := fs.String("url", "", "the API's base URL")
	clientKey := fs.String("client-key", "", "identity: the client key")
	network := fs.String("network", "auto", "identity: network type")
	uid := fs.String("uid", "", "identity: the signed-in account's uid")
	signatureTimestamp := fs.String("signature-timestamp", "", "identity: the uid signature's time, Unix seconds")
	clientID := fs.String("client-id", "", "web: the client id")
	subType := fs.String("sub-type", "", "web: user or organization")
	sub := fs.String("sub", "", "web: the subject's UUID")
	scope := fs.String("scope", "", "web: space-separated scopes")
	name, rest, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", rest[0])}
	}
	if err := store.ValidateProfileName(name); err != nil {
		return usageError{err.Error()}
	}
	p := store.Profile{Name: name, Flow: *flow, BaseURL: *baseURL}
	if p.BaseURL == "" {
		p.BaseURL = defaultURL[p.Flow]
	}
	set := setFlags(fs)
	switch p.Flow {
	case store.FlowIdentity:
		if err := onlyFlags(set, "identity", "client-id", "sub-type", "sub", "scope"); err != nil {
			return err
		}
		if *clientKey == "" {
			return usageError{"give the client key with --client-key"}
		}
		if p.Network, err = auth.ParseNetwork(*network); err != nil {
			return usageError{err.Error()}
		}
		// A signed-in account sends all three (PROTOCOLS.md §1); a uid
		// without its timestamp, or the reverse, is a mistake to say now
		// rather than a refused refresh later.
		if (*uid == "") != (*signatureTimestamp == "") {
			return usageError{"--uid and --signature-timestamp go together: give both for a signed-in account, neither for an anonymous device"}
		}
		if !allDigits(*signatureTimestamp) {
			return usageError{fmt.Sprintf("--signature-timestamp is Unix seconds (digits only), not %q", *signatureTimestamp)}
		}
		p.ClientKey, p.UID, p.SignatureTimestamp = *clientKey, *uid, *signatureTimestamp
	case store.FlowWeb:
		if err := onlyFlags(set, "web", "client-key", "network", "uid", "signature-timestamp"); err != nil {
			return err
		}
		if *clientID == "" {
			return usageError{"give the client id with --client-id"}
		}
		if *subType != "" && *subType != "user" && *subType != "organization" {
			return usageError{fmt.Sprintf("--sub-type is user or organization, not %q", *subType)}
		}
		if *sub != "" {
			if id, err := uuid.Parse(*sub); err != nil || id.Version() != 4 {
				return usageError{fmt.Sprintf("--sub must be a version 4 UUID (xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx), not %q", *sub)}
			}
		}
		p.ClientID, p.SubType, p.Sub, p.Scope = *clientID, *subType, *sub, strings.Join(strings.Fields(*scope), " ")
	default:
		return usageError{fmt.Sprintf("unknown flow %q: use --flow identity or --flow web", p.Flow)}
	}
	if err := auth.CheckBaseURL(p.BaseURL); err != nil {
		return usageError{err.Error()}
	}

	secrets := newSecretReader(std.in, std.err)
	var s store.Secrets
	if s.ClientSecret, err = secrets.read("Client secret: "); err != nil {
		return err
	}
	if s.ClientSecret == "" {
		return usageError{"the client secret is empty: give it on standard input or at the prompt"}
	}
	// At most one secret follows the client secret, on the second line:
	// the web flow's session token or a signed-in account's uid signature.
	var second *string
	var prompt, what string
	switch {
	case p.Flow == store.FlowWeb:
		second, prompt, what = &s.SessionToken, "Session token: ", "session token"
	case p.UID != "":
		second, prompt, what = &s.UIDSignature, "UID signature: ", "uid signature"
	}
	if second != nil {
		if *second, err = secrets.read(prompt); err != nil {
			return err
		}
		if *second == "" {
			return usageError{"the " + what + " is empty: give it on the second line of standard input or at the prompt"}
		}
	}

	path, err := store.DefaultPath()
	if err != nil {
		return err
	}
	if err := store.AddProfile(path, store.OpenKeychain(path, askPassphrase()), p, s); err != nil {
		return err
	}
	reloadAgent(ctx, std.err)
	fmt.Fprintf(std.err, "Saved profile %s. Get a token with: tokentray token %s\n", name, name)
	return nil
}

// allDigits reports whether s is ASCII digits only; the empty string is,
// vacuously.
func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// onlyFlags refuses flags of the other flow, which would be silently
// ignored otherwise.
func onlyFlags(set map[string]bool, flow string, others ...string) error {
	for _, name := range others {
		if set[name] {
			return usageError{fmt.Sprintf("--%s does not apply to --flow %s", name, flow)}
		}
	}
	return nil
}

// reloadAgent tells a running agent that the profiles changed. A failure
// is worth a line, not an error: the change itself is saved.
func reloadAgent(ctx context.Context, stderr io.Writer) {
	client, err := agent.DefaultClient()
	if err != nil {
		return
	}
	if err := client.Reload(ctx); err != nil && !errors.Is(err, agent.ErrNotRunning) {
		fmt.Fprintf(stderr, "Saved, but the running agent did not reload: %v\n", err)
	}
}

// restoreOnInterrupt makes an interrupt during a prompt without echo give
// the terminal its echo back before exiting, which the default action
// would not. The returned function ends that.
func restoreOnInterrupt(fd int) (stop func()) {
	state, err := term.GetState(fd)
	if err != nil {
		return func() {}
	}
	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, os.Interrupt)
	done := make(chan struct{})
	go func() {
		select {
		case <-interrupt:
			_ = term.Restore(fd, state)
			fmt.Fprintln(os.Stderr)
			os.Exit(128 + int(syscall.SIGINT)) // as shells report a SIGINT death
		case <-done:
		}
	}()
	return func() {
		signal.Stop(interrupt)
		close(done)
	}
}

// secretReader reads secrets one per line: from a pipe as they are, from a
// terminal without echo. Secrets never come from argv, where other users
// can read them. One bufio.Reader serves every line, so a second secret is
// not lost in the first read's buffer.
type secretReader struct {
	in     *os.File
	prompt io.Writer
	lines  *bufio.Reader
}

func newSecretReader(in *os.File, prompt io.Writer) *secretReader {
	return &secretReader{in: in, prompt: prompt, lines: bufio.NewReader(in)}
}

func (r *secretReader) read(prompt string) (string, error) {
	if fd := int(r.in.Fd()); term.IsTerminal(fd) {
		fmt.Fprint(r.prompt, prompt)
		defer restoreOnInterrupt(fd)()
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(r.prompt)
		return strings.TrimSpace(string(b)), err
	}
	line, err := r.lines.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
