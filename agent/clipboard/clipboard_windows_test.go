package clipboard

import (
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	getClipboardData           = user32.NewProc("GetClipboardData")
	isClipboardFormatAvailable = user32.NewProc("IsClipboardFormatAvailable")
	globalSize                 = kernel32.NewProc("GlobalSize")
)

// clipboardData is what the clipboard holds as format, nil when nothing.
// It reads under c's lock: the clipboard is the process's, and c's timer
// may open it meanwhile.
func clipboardData(t *testing.T, c *Clipboard, format uintptr) []byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var data []byte
	err := withClipboard(func() error {
		if r, _, _ := isClipboardFormatAvailable.Call(format); r == 0 {
			return nil
		}
		mem, _, err := getClipboardData.Call(format)
		if mem == 0 {
			return err
		}
		p, _, err := globalLock.Call(mem)
		if p == 0 {
			return err
		}
		defer globalUnlock.Call(mem)
		size, _, _ := globalSize.Call(mem)
		data = make([]byte, size)
		moveMemory.Call(uintptr(unsafe.Pointer(&data[0])), p, size)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func clipboardText(t *testing.T, c *Clipboard) string {
	data := clipboardData(t, c, cfUnicodeText)
	if len(data) < 2 {
		return ""
	}
	return windows.UTF16ToString(unsafe.Slice((*uint16)(unsafe.Pointer(&data[0])), len(data)/2))
}

// A copy holds the text and says "not in history, not to the cloud, not
// for monitors"; whether Win+V and cloud sync honour that only a real
// Windows can show.
func TestCopyIsKeptOutOfHistory(t *testing.T) {
	var c Clipboard
	defer c.Close()
	if err := c.Write("s3cret-token", 0); err != nil {
		t.Fatal(err)
	}
	if got := clipboardText(t, &c); got != "s3cret-token" {
		t.Errorf("the clipboard holds %q", got)
	}
	for _, name := range privacyFormats {
		format, err := formatID(name)
		if err != nil {
			t.Fatal(err)
		}
		data := clipboardData(t, &c, format)
		if len(data) < 4 || data[0]|data[1]|data[2]|data[3] != 0 {
			t.Errorf("format %s holds %v, want a DWORD 0", name, data)
		}
	}
}

// The copy is cleared after the delay if still ours, and a copy made
// since by someone else is left alone, also when the agent quits.
func TestCopyClearedIfUnchanged(t *testing.T) {
	var c Clipboard
	if err := c.Write("s3cret-token", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); clipboardText(t, &c) != ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the copy was not cleared")
		}
	}
	if err := c.Write("s3cret-token", 0); err != nil {
		t.Fatal(err)
	}
	// Someone else copies.
	c.mu.Lock()
	err := (&winClipboard{}).write("theirs")
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := clipboardText(t, &c); got != "theirs" {
		t.Errorf("after quitting, the clipboard holds %q, want someone else's copy left alone", got)
	}
}
