package clipboard

import (
	"context"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/tokentray/tokentray/internal/testkit"
)

// pastingClient is another X client that asks the agent's clipboard for its
// value by hand, as a pasting application does.
type pastingClient struct {
	conn                      *xgb.Conn
	window                    xproto.Window
	clipboard, utf8, property xproto.Atom
	notified                  chan xproto.SelectionNotifyEvent
}

var holdDisplay sync.Once

// newPastingClient connects to the session's display; it skips outside a
// desktop session and fails inside a broken one.
func newPastingClient(t *testing.T) *pastingClient {
	t.Helper()
	testkit.RequireDesktop(t, testkit.Display)
	holdDisplay.Do(func() {
		// Xvfb resets when its last client leaves, refusing connections
		// meanwhile: one connection kept for the whole run keeps it up
		// between tests. It may be resetting now, after another package's.
		testkit.Poll(5*time.Second, func() bool { _, err := xgb.NewConn(); return err == nil })
	})
	conn, err := xgb.NewConn()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	p := &pastingClient{conn: conn, notified: make(chan xproto.SelectionNotifyEvent, 16)}
	screen := xproto.Setup(conn).DefaultScreen(conn)
	if p.window, err = xproto.NewWindowId(conn); err != nil {
		t.Fatal(err)
	}
	if err := xproto.CreateWindowChecked(conn, 0, p.window, screen.Root, 0, 0, 1, 1, 0, xproto.WindowClassInputOnly, 0, 0, nil).Check(); err != nil {
		t.Fatal(err)
	}
	for atom, name := range map[*xproto.Atom]string{&p.clipboard: "CLIPBOARD", &p.utf8: "UTF8_STRING", &p.property: "_TOKENTRAY_TEST_PASTE"} {
		reply, err := xproto.InternAtom(conn, false, uint16(len(name)), name).Reply()
		if err != nil {
			t.Fatal(err)
		}
		*atom = reply.Atom
	}
	// Drained all along, so that the answers to a flood never stall this
	// connection.
	go func() {
		for {
			ev, err := conn.WaitForEvent()
			if ev == nil && err == nil {
				return
			}
			if n, ok := ev.(xproto.SelectionNotifyEvent); ok {
				select {
				case p.notified <- n:
				default:
				}
			}
		}
	}()
	return p
}

// paste asks the clipboard's owner for UTF8_STRING as of time and returns
// the value, or ok false when the owner refused.
func (p *pastingClient) paste(t *testing.T, at xproto.Timestamp) (value string, ok bool) {
	t.Helper()
	for len(p.notified) > 0 {
		<-p.notified
	}
	xproto.ConvertSelection(p.conn, p.window, p.clipboard, p.utf8, p.property, at)
	select {
	case n := <-p.notified:
		if n.Property == xproto.AtomNone {
			return "", false
		}
		reply, err := xproto.GetProperty(p.conn, true, p.window, p.property, xproto.GetPropertyTypeAny, 0, 1<<16).Reply()
		if err != nil {
			t.Fatal(err)
		}
		return string(reply.Value), true
	case <-time.After(10 * time.Second):
		t.Fatal("the clipboard's owner did not answer")
		return "", false
	}
}

// x11Of returns the X11 clipboard behind c, after a first copy.
func x11Of(t *testing.T, c *Clipboard) *x11Clipboard {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	x, ok := c.sys.(*x11Clipboard)
	if !ok {
		t.Fatalf("the clipboard is %T, want the X11 one", c.sys)
	}
	return x
}

// copied is a clipboard that has copied text, closed by closeWithin when
// the test ends.
func copied(t *testing.T, text string) *Clipboard {
	t.Helper()
	c := &Clipboard{}
	t.Cleanup(func() { closeWithin(t, c) })
	if err := c.Write(text, 0); err != nil {
		t.Fatal(err)
	}
	return c
}

// closeWithin closes c, failing the test rather than hanging it.
func closeWithin(t *testing.T, c *Clipboard) {
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Error("closing the clipboard hangs")
	}
}

// TestX11ClipboardFlood floods the agent's clipboard window with paste
// requests from another client: the agent must still copy, and the copy be
// pasteable.
func TestX11ClipboardFlood(t *testing.T) {
	p := newPastingClient(t)
	c := copied(t, "before-the-flood")
	owner := x11Of(t, c).window
	request := xproto.SelectionRequestEvent{
		Time: xproto.TimeCurrentTime, Owner: owner, Requestor: p.window, Selection: p.clipboard, Target: p.utf8, Property: p.property,
	}
	for range 20000 {
		xproto.SendEvent(p.conn, false, owner, xproto.EventMaskNoEvent, string(request.Bytes()))
	}
	if _, err := xproto.GetInputFocus(p.conn).Reply(); err != nil { // all sent
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() { wrote <- c.Write("after-the-flood", 0) }()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("copying hangs after a flood of paste requests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "xclip", "-o", "-selection", "clipboard").Output()
	if err != nil || string(out) != "after-the-flood" {
		t.Errorf("xclip pasted %q (%v), want after-the-flood", out, err)
	}
}

// TestX11ClipboardRefusesEarlierRequest: ICCCM has the owner refuse a
// request made before it owned the selection.
func TestX11ClipboardRefusesEarlierRequest(t *testing.T) {
	p := newPastingClient(t)
	c := copied(t, "owned-since")
	since := x11Of(t, c).since
	if value, ok := p.paste(t, since-1); ok {
		t.Errorf("a request from before the copy got %q, want a refusal", value)
	}
	for _, at := range []xproto.Timestamp{since, xproto.TimeCurrentTime} {
		if value, ok := p.paste(t, at); !ok || value != "owned-since" {
			t.Errorf("a request at %d got %q (ok %v), want owned-since", at, value, ok)
		}
	}
}

// TestX11ClipboardClearTakenMeanwhile: a clear that comes after another
// client took the clipboard, before the agent heard of it, says it left
// the clipboard alone, and does.
func TestX11ClipboardClearTakenMeanwhile(t *testing.T) {
	p := newPastingClient(t)
	c := copied(t, "taken-meanwhile")
	x := x11Of(t, c)
	// The server ignores a change dated before the last; a later
	// millisecond makes the agent's clear, dated with its own copy's time,
	// the ignored one.
	time.Sleep(20 * time.Millisecond)
	if err := xproto.SetSelectionOwnerChecked(p.conn, p.window, p.clipboard, xproto.TimeCurrentTime).Check(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the agent to hear that it lost the clipboard", func() bool {
		x.mu.Lock()
		defer x.mu.Unlock()
		return x.text == nil
	})
	// As if the SelectionClear were still on its way.
	x.mu.Lock()
	x.text = []byte("taken-meanwhile")
	x.mu.Unlock()
	cleared, err := x.clearIf("taken-meanwhile")
	if err != nil || cleared {
		t.Errorf("clearIf = %v, %v; want false: another client owns the clipboard", cleared, err)
	}
	owner, err := xproto.GetSelectionOwner(p.conn, p.clipboard).Reply()
	if err != nil || owner.Owner != p.window {
		t.Errorf("the clipboard's owner is %v (%v), want the other client's window", owner, err)
	}
}
