// Command tokentray is Tokentray's tray agent and command line. It never
// links the Fyne GUI, so it starts fast and idles at no cost.
//
//	tokentray agent                 run the tray agent (one per user)
//	tokentray add NAME --url … --client-key …   add or replace a profile
//	tokentray token NAME            print a valid access token
//	tokentray device                show this device's identity
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/term"

	"github.com/tokentray/tokentray/agent"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

// Exit codes, documented in README.md.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitUserMust = 3
)

const usage = `Tokentray keeps API device tokens fresh.

Usage:
  tokentray agent
      Run the tray agent (started by the Tokentray window; one per user).
  tokentray add NAME --url BASE --client-key KEY [--flow identity]
                [--network auto|wifi|ethernet|cellular|other]
      Add or replace a profile. The client secret is read from the first
      line of standard input, or asked for without echo on a terminal.
  tokentray token NAME
      Print a valid access token of profile NAME.
  tokentray device
      Show this device's id, device_info and network type.
  tokentray version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// usageError is a command line that cannot be understood.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch args[0] {
	case "agent":
		err = runAgent(stdout)
	case "add":
		err = add(ctx, args[1:], stdin, stderr)
	case "token":
		err = token(ctx, args[1:], stdout)
	case "device":
		err = device(args[1:], stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "tokentray", auth.Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	return report(err, stderr)
}

// report prints err as one line and picks the exit code.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "tokentray:", err)
	var ue usageError
	var apiErr *agent.APIError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "Run 'tokentray help' for usage.")
		return exitUsage
	case auth.ActionOf(err) == auth.NeedsUser,
		errors.As(err, &apiErr) && apiErr.Status == 403:
		return exitUserMust
	default:
		return exitError
	}
}

func runAgent(stdout io.Writer) error {
	socket, err := agent.SocketPath()
	if err != nil {
		return err
	}
	path, err := store.DefaultPath()
	if err != nil {
		return err
	}
	err = agent.Run(socket, path)
	if errors.Is(err, agent.ErrAlreadyRunning) {
		// Not a failure: the one agent the user wants is there.
		fmt.Fprintln(stdout, "A Tokentray agent is already running.")
		return nil
	}
	return err
}

// parseWithName accepts the profile name before or after the flags.
func parseWithName(fs *flag.FlagSet, args []string) (string, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", usageError{err.Error()}
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return "", usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if name == "" {
		return "", usageError{"name the profile"}
	}
	return name, nil
}

func add(ctx context.Context, args []string, stdin *os.File, stderr io.Writer) error {
	fs := flag.NewFlagSet("add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flow := fs.String("flow", "identity", "token protocol: identity")
	baseURL := fs.String("url", "https://api.nfl.com", "the API's base URL")
	clientKey := fs.String("client-key", "", "the client key")
	network := fs.String("network", "auto", "network type: auto, wifi, ethernet, cellular or other")
	name, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	if err := store.ValidateProfileName(name); err != nil {
		return usageError{err.Error()}
	}
	if *flow != "identity" {
		return usageError{fmt.Sprintf("flow %q is not supported yet: use --flow identity", *flow)}
	}
	if err := auth.CheckBaseURL(*baseURL); err != nil {
		return usageError{err.Error()}
	}
	if *clientKey == "" {
		return usageError{"give the client key with --client-key"}
	}
	net, err := auth.ParseNetwork(*network)
	if err != nil {
		return usageError{err.Error()}
	}
	secret, err := readSecret(stdin, stderr, "Client secret: ")
	if err != nil {
		return err
	}
	if secret == "" {
		return usageError{"the client secret is empty: give it on standard input or at the prompt"}
	}

	path, err := store.DefaultPath()
	if err != nil {
		return err
	}
	p := store.Profile{Name: name, Flow: *flow, BaseURL: *baseURL, ClientKey: *clientKey, Network: net}
	if err := store.AddProfile(path, store.Keychain{}, p, store.Secrets{ClientSecret: secret}); err != nil {
		return err
	}
	if client, err := agent.DefaultClient(); err == nil {
		if err := client.Reload(ctx); err != nil && !errors.Is(err, agent.ErrNotRunning) {
			fmt.Fprintf(stderr, "Saved, but the running agent did not reload: %v\n", err)
		}
	}
	fmt.Fprintf(stderr, "Saved profile %s. Get a token with: tokentray token %s\n", name, name)
	return nil
}

// readSecret reads one line: from a pipe as it is, from a terminal without
// echo. Secrets never come from argv, where other users can read them.
func readSecret(stdin *os.File, stderr io.Writer, prompt string) (string, error) {
	if term.IsTerminal(int(stdin.Fd())) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(int(stdin.Fd()))
		fmt.Fprintln(stderr)
		return strings.TrimSpace(string(b)), err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func token(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	access, err := tokenOf(ctx, name)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, access)
	return err
}

// tokenOf asks the agent, and works on the keychain itself when none runs.
func tokenOf(ctx context.Context, name string) (string, error) {
	client, err := agent.DefaultClient()
	if err != nil {
		return "", err
	}
	resp, err := client.Token(ctx, name)
	if err == nil {
		return resp.AccessToken, nil
	}
	if !errors.Is(err, agent.ErrNotRunning) {
		return "", err
	}
	path, err := store.DefaultPath()
	if err != nil {
		return "", err
	}
	tokens, err := agent.NewTokens(path, store.Keychain{})
	if err != nil {
		return "", err
	}
	tok, err := tokens.Token(ctx, name)
	return tok.AccessToken, err
}

func device(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usageError{"device takes no arguments"}
	}
	path, err := store.DefaultPath()
	if err != nil {
		return err
	}
	cfg, err := store.Load(path)
	if err != nil {
		return err
	}
	if cfg.EnsureDeviceID() {
		if err := cfg.Save(path); err != nil {
			return err
		}
	}
	info := auth.DetectDeviceInfo()
	decoded, err := json.Marshal(info)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "device id:    %s\n", cfg.DeviceID)
	fmt.Fprintf(stdout, "device_info:  %s\n", info.Encode())
	fmt.Fprintf(stdout, "  decoded:    %s\n", decoded)
	fmt.Fprintf(stdout, "network type: %s\n", auth.DetectNetworkType())
	return nil
}
