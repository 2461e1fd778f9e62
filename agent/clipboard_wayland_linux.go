package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strings"
	"time"
)

// waylandClipboard copies with wl-copy (wl-clipboard) on a Wayland session
// without X: Wayland hands the clipboard only to a client with a focused
// surface, which the agent never has. The value goes to wl-copy on its
// standard input, never on its command line, where other users could read
// it.
type waylandClipboard struct {
	// sensitive is wl-copy's --sensitive where it has one (wl-clipboard
	// after 2.2): it offers x-kde-passwordManagerHint = secret too.
	sensitive bool
}

// wlTimeout bounds one wl-copy or wl-paste run; each answers at once
// unless the compositor is gone.
const wlTimeout = 10 * time.Second

func openWaylandClipboard() (*waylandClipboard, error) {
	if _, err := exec.LookPath("wl-copy"); err != nil {
		return nil, errors.New("this Wayland session has no X display and wl-copy is not installed: install wl-clipboard")
	}
	help, _ := exec.Command("wl-copy", "--help").CombinedOutput()
	return &waylandClipboard{sensitive: bytes.Contains(help, []byte("--sensitive"))}, nil
}

func (w *waylandClipboard) write(text string) error {
	args := []string{"--type", "text/plain"}
	if w.sensitive {
		args = append(args, "--sensitive")
	}
	return runWl(strings.NewReader(text), "wl-copy", args...)
}

func (w *waylandClipboard) clearIf(text string) (bool, error) {
	if !w.holds(text) {
		return false, nil
	}
	err := runWl(nil, "wl-copy", "--clear")
	return err == nil, err
}

func (w *waylandClipboard) close(text string) {
	if _, err := w.clearIf(text); err != nil {
		log.Printf("clearing the clipboard: %v", err)
	}
}

// holds reports whether the clipboard still has text; an empty clipboard or
// a failing wl-paste counts as no.
func (w *waylandClipboard) holds(text string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), wlTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "wl-paste", "--no-newline", "--type", "text/plain").Output()
	return err == nil && string(out) == text
}

// runWl runs a wl-clipboard command. wl-copy leaves a child behind that
// serves the copy, so its output goes to a file, not a pipe that the child
// would hold open.
func runWl(stdin *strings.Reader, name string, args ...string) error {
	errFile, err := os.CreateTemp("", "tokentray-wl-*")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer os.Remove(errFile.Name())
	defer errFile.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	cmd.Stderr = errFile
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(errFile.Name())
		return fmt.Errorf("%s: %w: %s", name, err, bytes.TrimSpace(msg))
	}
	return nil
}
