package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// tokentray.exe is built for the GUI subsystem, so that the agent started
// at login opens no console window. Such a program gets no console of its
// own: typed in a console, it writes to that console instead, for what the
// console would otherwise not show. Handles already given (a script's pipe
// or file) are kept.
func init() {
	std := []struct {
		handle uint32
		file   **os.File
		name   string
		flag   int
	}{
		{windows.STD_INPUT_HANDLE, &os.Stdin, "CONIN$", os.O_RDWR},
		{windows.STD_OUTPUT_HANDLE, &os.Stdout, "CONOUT$", os.O_RDWR},
		{windows.STD_ERROR_HANDLE, &os.Stderr, "CONOUT$", os.O_RDWR},
	}
	attached := false
	for _, s := range std {
		if h, err := windows.GetStdHandle(s.handle); err == nil && h != 0 && h != windows.InvalidHandle {
			continue
		}
		if !attached {
			const attachParentProcess = ^uint32(0)
			if attachConsole(attachParentProcess) != nil {
				return // started without a console: at login, or by the window
			}
			attached = true
		}
		if f, err := os.OpenFile(s.name, s.flag, 0); err == nil {
			*s.file = f
		}
	}
}

var procAttachConsole = windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")

func attachConsole(pid uint32) error {
	if r, _, err := procAttachConsole.Call(uintptr(pid)); r == 0 {
		return err
	}
	return nil
}
