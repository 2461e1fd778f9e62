package agent

import (
	"errors"
	"net"
	"os"
	"time"
)

// ListenGUI is called by a running GUI: every connection to the GUI socket
// means "show your window". It fails when another GUI already listens, so a
// second GUI can hand over to the first and exit.
func ListenGUI(show func()) (net.Listener, error) {
	path, err := GUISocketPath()
	if err != nil {
		return nil, err
	}
	if err := FocusGUI(); err == nil {
		return nil, ErrGUIRunning
	}
	// Nobody answers: whatever is left at path is a stale socket.
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
			show()
		}
	}()
	return ln, nil
}

// ErrGUIRunning means a GUI already runs and was asked to show its window.
var ErrGUIRunning = errors.New("the Tokentray window is already open")

// FocusGUI asks a running GUI to show its window; it fails when none runs.
func FocusGUI() error {
	path, err := GUISocketPath()
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}
