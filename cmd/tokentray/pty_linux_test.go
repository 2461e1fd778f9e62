package main

import (
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/internal/testkit"
)

// On a terminal, `tokentray add` asks for each secret without echo: what is
// typed at the prompts never shows on the terminal, the terminal echoes
// again afterwards, and the profile works.
func TestAddPromptsWithoutEcho(t *testing.T) {
	t.Parallel()
	env, _ := desktop(t)
	const secret, session = "pty-client-secret-81b3", "pty-session-token-4c9d"
	server := authtest.NewWebServer("pty-client", secret, session)
	defer server.Close()

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close() // kept open after the child exits, to test the echo
	var screen termOutput
	go io.Copy(&screen, ptmx)

	cmd := exec.Command(binary, "add", "pty", "--flow", "web", "--url", server.URL, "--client-id", "pty-client")
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true} // the terminal is its controlling one
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	for _, step := range []struct{ prompt, typed string }{{"Client secret: ", secret}, {"Session token: ", session}} {
		screen.waitFor(t, step.prompt)
		// The prompt is written just before echo goes off: type only
		// once it is off, as no person could type faster.
		waitEcho(t, tty, false)
		if _, err := io.WriteString(ptmx, step.typed+"\r"); err != nil {
			t.Fatal(err)
		}
	}
	screen.waitFor(t, "Saved profile pty")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("add on a terminal: %v; the terminal shows %q", err, screen.String())
	}

	// Echo is back, and what is typed now shows: the check above could
	// have seen an echoed secret.
	waitEcho(t, tty, true)
	const typedLater = "typed-after-add-e6f0"
	if _, err := io.WriteString(ptmx, typedLater+"\r"); err != nil {
		t.Fatal(err)
	}
	screen.waitFor(t, typedLater)

	for _, s := range []string{secret, session} {
		if strings.Contains(screen.String(), s) {
			t.Errorf("a secret typed at a prompt appears on the terminal: %q", screen.String())
		}
	}
	out, stderr, code := tokentray(t, env, "", "token", "pty")
	if code != 0 || !server.Accepts(strings.TrimSpace(out)) {
		t.Errorf("token of the profile added on a terminal: exit %d, %s; want a token the server accepts", code, stderr)
	}
}

// termOutput collects what the terminal shows.
type termOutput struct{ testkit.SyncBuffer }

func (o *termOutput) waitFor(t *testing.T, s string) {
	t.Helper()
	if !testkit.Poll(testkit.Patience, func() bool { return strings.Contains(o.String(), s) }) {
		t.Fatalf("the terminal never showed %q; it shows %q", s, o.String())
	}
}

// waitEcho waits until the terminal's echo is on or off.
func waitEcho(t *testing.T, tty interface{ Fd() uintptr }, on bool) {
	t.Helper()
	testkit.Eventually(t, "the terminal's echo to turn "+map[bool]string{true: "on", false: "off"}[on], func() bool {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return tio.Lflag&unix.ECHO != 0 == on
	})
}
