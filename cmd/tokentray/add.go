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
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/profile"
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
	p := store.Profile{Name: name, Flow: *flow, BaseURL: *baseURL}
	if p.BaseURL == "" {
		p.BaseURL = profile.DefaultBaseURL(p.Flow)
	}
	// Flags of the other flow would be silently ignored: refuse them.
	set := setFlags(fs)
	switch p.Flow {
	case store.FlowIdentity:
		if err := onlyFlags(set, "identity", "client-id", "sub-type", "sub", "scope"); err != nil {
			return err
		}
		p.ClientKey, p.Network, p.UID, p.SignatureTimestamp = *clientKey, *network, *uid, *signatureTimestamp
	case store.FlowWeb:
		if err := onlyFlags(set, "web", "client-key", "network", "uid", "signature-timestamp"); err != nil {
			return err
		}
		p.ClientID, p.SubType, p.Sub, p.Scope = *clientID, *subType, *sub, strings.Join(strings.Fields(*scope), " ")
	}
	if err := profile.Validate(p); err != nil {
		return usageError{flagError(err)}
	}
	if p.Network, err = auth.ParseNetwork(p.Network); err != nil {
		return usageError{err.Error()}
	}

	// The secrets come one per line, in the order the profile needs them:
	// the client secret first, then the web flow's session token or a
	// signed-in account's uid signature.
	secrets := newSecretReader(std.in, std.err)
	var s store.Secrets
	for i, kind := range profile.NeededSecrets(p) {
		v, err := secrets.read(prompts[kind])
		if err != nil {
			return err
		}
		if v == "" {
			where := "standard input"
			if i > 0 {
				where = "line " + strconv.Itoa(i+1) + " of standard input"
			}
			return usageError{fmt.Sprintf("the %s is empty: give it on %s or at the prompt", kind, where)}
		}
		profile.SetSecret(&s, kind, v)
	}

	path, err := store.DefaultPath()
	if err != nil {
		return err
	}
	if err := profile.Add(path, store.OpenKeychain(path, askPassphrase()), p, s); err != nil {
		return err
	}
	reloadAgent(ctx, std.err)
	fmt.Fprintf(std.err, "Saved profile %s. Get a token with: tokentray token %s\n", name, name)
	return nil
}

// prompts ask for each secret on a terminal.
var prompts = map[store.SecretKind]string{
	store.SecretClient:       "Client secret: ",
	store.SecretSessionToken: "Session token: ",
	store.SecretUIDSignature: "UID signature: ",
}

// flagError names the flag of the field a profile.FieldError is about.
func flagError(err error) string {
	var fe *profile.FieldError
	if errors.As(err, &fe) && fe.Field != "name" {
		return "--" + fe.Field + ": " + fe.Err.Error()
	}
	return err.Error()
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
	client, err := localapi.DefaultClient()
	if err != nil {
		return
	}
	if err := client.Reload(ctx); err != nil && !errors.Is(err, localapi.ErrNotRunning) {
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
