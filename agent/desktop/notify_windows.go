package desktop

import (
	"fmt"
	"runtime"
	"time"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
)

// A notification is a balloon (NIF_INFO) of a notification-area icon of
// its own, on a message-only window made for it: the tray's icon belongs
// to fyne.io/systray, which does not let balloons through, and toasts
// need COM and an app identity. Windows 10 and later show the balloon as a
// toast. The icon asks for no callbacks (no NIF_MESSAGE), so the window
// needs no window procedure and no message loop.

var (
	user32             = windows.NewLazySystemDLL("user32.dll")
	procCreateWindowEx = user32.NewProc("CreateWindowExW")
	procDestroyWindow  = user32.NewProc("DestroyWindow")
	procLoadIcon       = user32.NewProc("LoadIconW")
	procShellNotify    = windows.NewLazySystemDLL("shell32.dll").NewProc("Shell_NotifyIconW")
)

const (
	nimAdd    = 0
	nimDelete = 2
	nifIcon   = 0x02
	nifTip    = 0x04
	nifInfo   = 0x10
	niifInfo  = 0x01
	// hwndMessage is HWND_MESSAGE, the parent of message-only windows.
	hwndMessage = ^uintptr(2)
	// idiInformation is IDI_INFORMATION, a system icon: the agent's
	// executable carries none.
	idiInformation = 32516
)

// notifyIconData is NOTIFYICONDATAW as of Windows Vista (976 bytes on
// amd64).
type notifyIconData struct {
	Size                       uint32
	Wnd                        windows.Handle
	ID, Flags, CallbackMessage uint32
	Icon                       windows.Handle
	Tip                        [128]uint16
	State, StateMask           uint32
	Info                       [256]uint16
	TimeoutOrVersion           uint32 // a union in C
	InfoTitle                  [64]uint16
	InfoFlags                  uint32
	GUIDItem                   windows.GUID
	BalloonIcon                windows.Handle
}

// notifyShownFor is how long the balloon's icon stays: the toast shows for
// about five seconds, and deleting the icon takes it away.
var notifyShownFor = 15 * time.Second

// Notify shows summary and body in a balloon of a notification-area icon
// titled Tokentray, which goes away after notifyShownFor. It returns once
// the balloon is up.
func Notify(summary, body string) error {
	shown, _ := notify(summary, body, notifyShownFor)
	return <-shown
}

// notify does Notify's work; shown gets the outcome of showing the
// balloon, then gone that of removing it.
func notify(summary, body string, shownFor time.Duration) (shown, gone <-chan error) {
	shownc, gonec := make(chan error, 1), make(chan error, 1)
	go func() {
		// The window belongs to the thread that made it, and only that one
		// may destroy it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		nid, err := addBalloon(summary, body)
		shownc <- err
		if err != nil {
			gonec <- err
			return
		}
		time.Sleep(shownFor)
		gonec <- removeBalloon(nid)
	}()
	return shownc, gonec
}

// addBalloon makes the window and its icon with the balloon.
func addBalloon(summary, body string) (*notifyIconData, error) {
	class, _ := windows.UTF16PtrFromString("STATIC") // a system class: its window procedure is not ours
	wnd, _, err := procCreateWindowEx.Call(0, uintptr(unsafe.Pointer(class)), 0, 0, 0, 0, 0, 0, hwndMessage, 0, 0, 0)
	if wnd == 0 {
		return nil, fmt.Errorf("desktop notification: making its window: %w", err)
	}
	icon, _, err := procLoadIcon.Call(0, idiInformation)
	if icon == 0 {
		procDestroyWindow.Call(wnd)
		return nil, fmt.Errorf("desktop notification: loading its icon: %w", err)
	}
	nid := &notifyIconData{
		Wnd:       windows.Handle(wnd),
		ID:        1,
		Flags:     nifIcon | nifTip | nifInfo,
		Icon:      windows.Handle(icon),
		InfoFlags: niifInfo,
	}
	nid.Size = uint32(unsafe.Sizeof(*nid))
	fill(nid.Tip[:], "Tokentray")
	fill(nid.InfoTitle[:], summary)
	fill(nid.Info[:], body)
	if ok, _, err := procShellNotify.Call(nimAdd, uintptr(unsafe.Pointer(nid))); ok == 0 {
		procDestroyWindow.Call(wnd)
		return nil, fmt.Errorf("desktop notification: adding its icon to the notification area: %w", err)
	}
	return nid, nil
}

// removeBalloon deletes the icon, and the balloon with it, then the window.
func removeBalloon(nid *notifyIconData) error {
	ok, _, err := procShellNotify.Call(nimDelete, uintptr(unsafe.Pointer(nid)))
	procDestroyWindow.Call(uintptr(nid.Wnd))
	if ok == 0 {
		return fmt.Errorf("desktop notification: removing its icon: %w", err)
	}
	return nil
}

// fill copies s into dst as a NUL-terminated UTF-16 string, cut short with
// "…" when it does not fit, never inside a surrogate pair.
func fill(dst []uint16, s string) {
	u := utf16.Encode([]rune(s))
	if len(u) >= len(dst) {
		n := len(dst) - 2 // room for the ellipsis and the NUL
		if utf16.IsSurrogate(rune(u[n-1])) && u[n-1] < 0xdc00 {
			n-- // not the first half of a pair alone
		}
		u = append(u[:n:n], '…')
	}
	copy(dst, u)
	dst[len(u)] = 0
}
