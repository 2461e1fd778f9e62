package clipboard

import (
	"errors"
	"fmt"
	"log"
	"sync"
	"time"
)

// Clipboard is the system clipboard, owned by the agent: on X11 a copy lives
// only as long as the process that made it, and the agent, unlike the
// window, stays all day. What it copies is marked as a secret where the
// platform has a way to say so, so that clipboard managers leave it out of
// their history, and it is cleared again after a delay.
type Clipboard struct {
	mu     sync.Mutex
	sys    systemClipboard // nil until the first copy
	closed bool
	// copies counts Writes, so that the clearing of an older copy leaves a
	// newer one alone.
	copies  int
	last    string // the last copy, until cleared
	clearAt *time.Timer
}

// systemClipboard is one platform's clipboard.
type systemClipboard interface {
	// write puts secret text on the clipboard.
	write(text string) error
	// clearIf empties the clipboard if it still holds text as write put it
	// there, and says so: a copy made since by someone else is left alone.
	clearIf(text string) (cleared bool, err error)
	// close gives the clipboard up, clearing it if it still holds text.
	close(text string)
}

// Write puts secret text on the clipboard and clears it after clearAfter
// unless something else was copied meanwhile; 0 leaves it there.
func (c *Clipboard) Write(text string, clearAfter time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("the agent is quitting")
	}
	if c.sys == nil {
		// Connecting to the display waits for the first copy, so an agent
		// without one still serves scripts.
		sys, err := openSystemClipboard()
		if err != nil {
			return fmt.Errorf("no clipboard to copy to: %w", err)
		}
		c.sys = sys
	}
	if err := c.sys.write(text); err != nil {
		// The display may have gone (an X server restart): the next copy
		// connects afresh.
		c.sys.close(c.last)
		c.sys, c.last = nil, ""
		return err
	}
	c.copies++
	if c.clearAt != nil {
		c.clearAt.Stop()
		c.clearAt = nil
	}
	if clearAfter > 0 {
		copied := c.copies
		// One timer for the last copy only: nothing wakes the agent up
		// once it has fired, or when clearing is off.
		c.clearAt = time.AfterFunc(clearAfter, func() { c.clearCopy(copied, text) })
	}
	c.last = text
	return nil
}

func (c *Clipboard) clearCopy(copied int, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || copied != c.copies || c.sys == nil {
		return // closed, a newer copy, or the display gone with the copy
	}
	c.clearAt = nil
	c.last = ""
	switch cleared, err := c.sys.clearIf(text); {
	case err != nil:
		log.Printf("clearing the clipboard: %v", err)
	case cleared:
		log.Printf("cleared the clipboard")
	default:
		log.Printf("left the clipboard alone: something else was copied since")
	}
}

// Close clears the clipboard if it still holds the last copy, and lets it
// go: the agent is quitting.
func (c *Clipboard) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	if c.clearAt != nil {
		c.clearAt.Stop()
	}
	if c.sys != nil {
		c.sys.close(c.last)
	}
	c.last = ""
}
