package agent

import (
	"context"
	"fmt"
	"sync"

	"golang.design/x/clipboard"

	"github.com/tokentray/tokentray/auth"
)

// Clipboard is the system clipboard, owned by the agent: on X11 a copy lives
// only as long as the process that made it, and the agent, unlike the
// window, stays all day.
type Clipboard struct {
	once    sync.Once
	initErr error
}

// Write puts text on the clipboard.
func (c *Clipboard) Write(text string) error {
	// Init connects to the display: done at the first copy, not at start,
	// so an agent without a display still serves scripts.
	c.once.Do(func() { c.initErr = clipboard.Init() })
	if c.initErr != nil {
		return fmt.Errorf("no clipboard to copy to: %w", c.initErr)
	}
	clipboard.Write(clipboard.FmtText, []byte(text))
	return nil
}

// copyToken puts a valid access token of profile on the clipboard.
func copyToken(ctx context.Context, tokens *Tokens, clip *Clipboard, profile string) (auth.Token, error) {
	tok, err := tokens.Token(ctx, profile)
	if err != nil {
		return auth.Token{}, err
	}
	return tok, clip.Write(tok.AccessToken)
}
