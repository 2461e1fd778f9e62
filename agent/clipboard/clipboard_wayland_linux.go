package clipboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// waylandClipboard copies with wl-copy (wl-clipboard) on a Wayland session
// without X: Wayland hands the clipboard only to a client with a focused
// surface, which the agent never has. The value goes to wl-copy on its
// standard input, never on its command line, where other users could read
// it. wl-copy runs in the foreground as the agent's child and serves the
// copy until another client takes the clipboard; the agent clears its copy
// by ending it, and its quitting, even by a crash, ends it too.
type waylandClipboard struct {
	// sensitive is wl-copy's --sensitive where it has one (wl-clipboard
	// after 2.2): it offers x-kde-passwordManagerHint = secret too.
	sensitive bool
	serving   *wlCopy // the wl-copy of the last copy; nil before one
}

// wlCopy is one wl-copy --foreground run.
type wlCopy struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	err    error         // how it exited; read once exited is closed
	exited chan struct{} // closed when it has exited: it lost the clipboard, failed or was ended
}

// wlTimeout bounds one wl-copy taking the clipboard, or one wl-paste;
// each answers at once unless the compositor is gone.
const wlTimeout = 10 * time.Second

func openWaylandClipboard() (*waylandClipboard, error) {
	if _, err := exec.LookPath("wl-copy"); err != nil {
		return nil, errors.New("this Wayland session has no X display and wl-copy is not installed: install wl-clipboard")
	}
	help, _ := exec.Command("wl-copy", "--help").CombinedOutput()
	return &waylandClipboard{sensitive: bytes.Contains(help, []byte("--sensitive"))}, nil
}

func (w *waylandClipboard) write(text string) error {
	args := []string{"--foreground", "--type", "text/plain"}
	if w.sensitive {
		args = append(args, "--sensitive")
	}
	cp := &wlCopy{cmd: exec.Command("wl-copy", args...), exited: make(chan struct{})}
	cp.cmd.Stdin = strings.NewReader(text)
	cp.cmd.Stderr = &cp.stderr
	// Should the agent die without clearing, its copy goes with it.
	cp.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cp.cmd.Start(); err != nil {
		return fmt.Errorf("wl-copy: %w", err)
	}
	go func() {
		cp.err = cp.cmd.Wait()
		close(cp.exited)
	}()
	// wl-copy says nothing once it has the clipboard: it has it when
	// wl-paste gives the copy back, or when it has already lost it to a
	// clipboard manager and exited without an error.
	for deadline := time.Now().Add(wlTimeout); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-cp.exited:
			if cp.err != nil {
				return fmt.Errorf("wl-copy: %w: %s", cp.err, bytes.TrimSpace(cp.stderr.Bytes()))
			}
			w.replace(nil)
			return nil
		default:
		}
		if w.holds(text) {
			w.replace(cp)
			return nil
		}
		if time.Now().After(deadline) {
			cp.end()
			return fmt.Errorf("wl-copy did not take the clipboard within %s; is the Wayland compositor running?", wlTimeout)
		}
	}
}

// replace makes cp the copy served, ending the one before, which has lost
// the clipboard to cp and is about to exit anyway.
func (w *waylandClipboard) replace(cp *wlCopy) {
	if w.serving != nil {
		w.serving.end()
	}
	w.serving = cp
}

// clearIf ends the wl-copy of the last copy if it still serves it; one that
// lost the clipboard to another copy has exited by itself. text is that
// copy's: each write replaces the one before.
func (w *waylandClipboard) clearIf(string) (bool, error) {
	cp := w.serving
	w.serving = nil
	if cp == nil {
		return false, nil
	}
	select {
	case <-cp.exited:
		return false, nil
	default:
	}
	if err := cp.end(); err != nil {
		return false, err
	}
	return true, nil
}

func (w *waylandClipboard) close(text string) {
	if _, err := w.clearIf(text); err != nil {
		log.Printf("clearing the clipboard: %v", err)
	}
}

// end stops wl-copy and waits for it: the compositor then drops its copy.
func (cp *wlCopy) end() error {
	_ = cp.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-cp.exited:
		return nil
	case <-time.After(wlTimeout):
		_ = cp.cmd.Process.Kill()
		return fmt.Errorf("wl-copy %d did not stop within %s and was killed", cp.cmd.Process.Pid, wlTimeout)
	}
}

// holds reports whether the clipboard has text; an empty clipboard or a
// failing wl-paste counts as no.
func (w *waylandClipboard) holds(text string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), wlTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "wl-paste", "--no-newline", "--type", "text/plain").Output()
	return err == nil && string(out) == text
}
