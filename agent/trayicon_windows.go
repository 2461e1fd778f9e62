package agent

import (
	"log"

	"github.com/tokentray/tokentray/assets"
)

// trayIcon is png as the Windows tray takes it: an ICO file.
func trayIcon(png []byte) []byte {
	ico, err := assets.ICO(png)
	if err != nil {
		log.Printf("tray icon: %v", err)
		return png
	}
	return ico
}
