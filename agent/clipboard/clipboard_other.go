//go:build !linux && !windows

package clipboard

import (
	"bytes"

	"golang.design/x/clipboard"
)

// designClipboard is golang.design/x/clipboard, for macOS. It writes plain
// text only: the hint that keeps a secret out of clipboard history
// (org.nspasteboard.ConcealedType) is not set.
type designClipboard struct{}

func openSystemClipboard() (systemClipboard, error) {
	if err := clipboard.Init(); err != nil {
		return nil, err
	}
	return designClipboard{}, nil
}

func (designClipboard) write(text string) error {
	clipboard.Write(clipboard.FmtText, []byte(text))
	return nil
}

func (designClipboard) clearIf(text string) (bool, error) {
	if !bytes.Equal(clipboard.Read(clipboard.FmtText), []byte(text)) {
		return false, nil
	}
	clipboard.Write(clipboard.FmtText, nil)
	return true, nil
}

func (d designClipboard) close(text string) { _, _ = d.clearIf(text) }
