package agent

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tokentray/tokentray/assets"
)

// Windows loads each tray icon as systray does (LoadImage of a file); a
// bare PNG, as the tray was given before, it refuses.
func TestTrayIconsLoad(t *testing.T) {
	loadImage := windows.NewLazySystemDLL("user32.dll").NewProc("LoadImageW")
	destroyIcon := windows.NewLazySystemDLL("user32.dll").NewProc("DestroyIcon")
	load := func(name string, data []byte) uintptr {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		const imageIcon, lrLoadFromFile, lrDefaultSize = 1, 0x10, 0x40
		icon, _, _ := loadImage.Call(0, uintptr(unsafe.Pointer(windows.StringToUTF16Ptr(path))), imageIcon, 0, 0, lrLoadFromFile|lrDefaultSize)
		if icon != 0 {
			destroyIcon.Call(icon)
		}
		return icon
	}
	for _, o := range []overall{allValid, someRetrying, someNeedYou} {
		if load("tray.ico", trayIcon(o.image())) == 0 {
			t.Errorf("Windows refuses the tray icon of state %d", o)
		}
	}
	if load("tray.png", assets.TrayValid) != 0 {
		t.Error("Windows loads a bare PNG as an icon: the ICO would not be needed")
	}
}
