package clipboard

import (
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// winClipboard is the Windows clipboard, through user32: the formats that
// keep a copy out of clipboard history (Win+V), cloud sync and clipboard
// monitors are what password managers set, and no Go library writes them.
type winClipboard struct {
	// seq is the clipboard's sequence number after our last copy: while
	// it is unchanged, nobody copied anything since.
	seq uint32
}

var (
	user32                     = windows.NewLazySystemDLL("user32.dll")
	kernel32                   = windows.NewLazySystemDLL("kernel32.dll")
	openClipboard              = user32.NewProc("OpenClipboard")
	closeClipboard             = user32.NewProc("CloseClipboard")
	emptyClipboard             = user32.NewProc("EmptyClipboard")
	setClipboardData           = user32.NewProc("SetClipboardData")
	registerClipboardFormat    = user32.NewProc("RegisterClipboardFormatW")
	getClipboardSequenceNumber = user32.NewProc("GetClipboardSequenceNumber")
	globalAlloc                = kernel32.NewProc("GlobalAlloc")
	globalLock                 = kernel32.NewProc("GlobalLock")
	globalUnlock               = kernel32.NewProc("GlobalUnlock")
	globalFree                 = kernel32.NewProc("GlobalFree")
	moveMemory                 = kernel32.NewProc("RtlMoveMemory")
)

const cfUnicodeText = 13

// privacyFormats are set beside the text, each to a DWORD 0 ("no"): the
// first's mere presence tells monitors to ignore the copy.
var privacyFormats = []string{
	"ExcludeClipboardContentFromMonitorProcessing",
	"CanIncludeInClipboardHistory",
	"CanUploadToCloudClipboard",
}

func openSystemClipboard() (systemClipboard, error) {
	if err := user32.Load(); err != nil {
		return nil, err
	}
	return &winClipboard{}, nil
}

func (c *winClipboard) write(text string) error {
	utf16, err := windows.UTF16FromString(text)
	if err != nil {
		return errors.New("the text to copy holds a NUL character")
	}
	err = withClipboard(func() error {
		if err := empty(); err != nil {
			return err
		}
		if err := setData(cfUnicodeText, unsafe.Slice((*byte)(unsafe.Pointer(&utf16[0])), 2*len(utf16))); err != nil {
			return err
		}
		no := []byte{0, 0, 0, 0}
		for _, name := range privacyFormats {
			format, err := formatID(name)
			if err != nil {
				return err
			}
			if err := setData(format, no); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.seq = sequenceNumber()
	return nil
}

func (c *winClipboard) clearIf(string) (bool, error) {
	if sequenceNumber() != c.seq {
		return false, nil
	}
	err := withClipboard(empty)
	return err == nil, err
}

// empty empties the open clipboard.
func empty() error {
	if r, _, err := emptyClipboard.Call(); r == 0 {
		return fmt.Errorf("emptying the clipboard: %w", err)
	}
	return nil
}

func (c *winClipboard) close(text string) { _, _ = c.clearIf(text) }

func sequenceNumber() uint32 {
	n, _, _ := getClipboardSequenceNumber.Call()
	return uint32(n)
}

// withClipboard runs fn with the clipboard open. Another program may hold
// it open for a moment: that is waited out, briefly.
func withClipboard(fn func() error) error {
	// The clipboard is open for the thread that opened it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var err error
	for range 20 {
		var r uintptr
		if r, _, err = openClipboard.Call(0); r != 0 {
			defer closeClipboard.Call()
			return fn()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("another program keeps the clipboard open: %w", err)
}

func formatID(name string) (uintptr, error) {
	id, _, err := registerClipboardFormat.Call(uintptr(unsafe.Pointer(windows.StringToUTF16Ptr(name))))
	if id == 0 {
		return 0, fmt.Errorf("registering the clipboard format %s: %w", name, err)
	}
	return id, nil
}

// setData puts data on the open clipboard as format; the clipboard then
// owns the memory.
func setData(format uintptr, data []byte) error {
	const gmemMoveable = 0x0002
	mem, _, err := globalAlloc.Call(gmemMoveable, uintptr(len(data)))
	if mem == 0 {
		return fmt.Errorf("allocating clipboard memory: %w", err)
	}
	p, _, err := globalLock.Call(mem)
	if p == 0 {
		globalFree.Call(mem)
		return fmt.Errorf("locking clipboard memory: %w", err)
	}
	moveMemory.Call(p, uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)))
	globalUnlock.Call(mem)
	if r, _, err := setClipboardData.Call(format, mem); r == 0 {
		globalFree.Call(mem)
		return fmt.Errorf("setting clipboard data: %w", err)
	}
	return nil
}
