package localapi

import (
	"context"
	"errors"
	"net"
	"time"
)

// What a client of the GUI socket writes: the one byte it says. A client
// that writes nothing asks to be shown the window, as before the byte.
const (
	guiShow  = 's'
	guiProbe = '?' // only asks whether a GUI runs: nothing is shown
)

// guiReadWait bounds how long the GUI waits for a client's byte.
const guiReadWait = time.Second

// ListenGUI is called by a running GUI: a connection to the GUI socket
// means "show your window", unless it says it only probes (GUIOpen). It
// fails when another GUI already listens, so a second GUI can hand over to
// the first and exit.
func ListenGUI(show func()) (net.Listener, error) {
	path, err := GUISocketPath()
	if err != nil {
		return nil, err
	}
	if err := FocusGUI(); err == nil {
		return nil, ErrGUIRunning
	}
	// Nobody answers: whatever is left at path is a stale socket.
	// Only this user may show the window (see listenSocket).
	ln, err := listenSocket(path)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				conn.SetReadDeadline(time.Now().Add(guiReadWait))
				var b [1]byte
				n, _ := conn.Read(b[:])
				conn.Close()
				if n == 1 && b[0] == guiProbe {
					return
				}
				show()
			}()
		}
	}()
	return ln, nil
}

// ErrGUIRunning means a GUI already runs and was asked to show its window.
var ErrGUIRunning = errors.New("the Tokentray window is already open")

// FocusGUI asks a running GUI to show its window; it fails when none runs.
func FocusGUI() error {
	return dialGUI(guiShow)
}

// GUIOpen reports whether a GUI runs, without showing its window.
func GUIOpen() bool {
	return dialGUI(guiProbe) == nil
}

// dialGUI says what to the running GUI; it fails when none runs.
func dialGUI(what byte) error {
	path, err := GUISocketPath()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := dialOwn(ctx, &net.Dialer{}, path)
	if err != nil {
		return err
	}
	defer conn.Close()
	// A GUI that listens has been found even if the byte does not arrive:
	// it then shows its window, as it always did.
	conn.SetWriteDeadline(time.Now().Add(time.Second))
	conn.Write([]byte{what})
	return nil
}
