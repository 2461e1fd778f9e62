package clipboard

import (
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// x11Clipboard owns the X CLIPBOARD selection from a window of its own and
// answers the requests of pasting applications, in pure Go. Besides the
// text it offers x-kde-passwordManagerHint = "secret", as KeePassXC does,
// which clipboard managers (Klipper, CopyQ, GPaste…) read as "keep this
// out of the history".
type x11Clipboard struct {
	conn    *xgb.Conn
	window  xproto.Window
	atoms   x11Atoms
	maxData int // the most bytes one ChangeProperty request carries

	// stamps carries the server times of our PropertyNotify events: the
	// timestamp ICCCM asks a new owner to claim the selection with.
	stamps chan xproto.Timestamp
	// requests carries paste requests from serve, which only reads events,
	// to answer, which makes the X requests: xgb stops reading the wire
	// while its event queue is full, and now and then waits for a reply
	// before it sends a request, so the goroutine that drains the events
	// must never wait on one.
	requests chan xproto.SelectionRequestEvent

	mu    sync.Mutex
	text  []byte // what we serve; nil while we do not own the selection
	since xproto.Timestamp
}

type x11Atoms struct {
	clipboard, targets, timestamp, utf8, text, textPlain, textPlainUTF8, hint, stamp xproto.Atom
}

// pendingPastes is how many paste requests wait for an answer; beyond it
// a flood of them is dropped, each requestor giving up after its own
// timeout, rather than stall the clipboard.
const pendingPastes = 256

// stampTimeout bounds the wait for the X server's answer to our own
// property change: it answers within milliseconds unless it is gone.
const stampTimeout = 5 * time.Second

func openX11Clipboard() (*x11Clipboard, error) {
	conn, err := xgb.NewConn()
	if err != nil {
		return nil, fmt.Errorf("connecting to the X display: %w", err)
	}
	x := &x11Clipboard{conn: conn, stamps: make(chan xproto.Timestamp, 1), requests: make(chan xproto.SelectionRequestEvent, pendingPastes)}
	if err := x.setUp(); err != nil {
		conn.Close()
		return nil, err
	}
	go x.serve()
	go x.answerAll()
	return x, nil
}

func (x *x11Clipboard) setUp() error {
	setup := xproto.Setup(x.conn)
	screen := setup.DefaultScreen(x.conn)
	// A request's length field is 16 bits of 4-byte units; a bigger copy
	// would need the INCR protocol, which no token comes near.
	x.maxData = int(setup.MaximumRequestLength)*4 - 24
	var err error
	if x.window, err = xproto.NewWindowId(x.conn); err != nil {
		return fmt.Errorf("X clipboard window: %w", err)
	}
	// An input-only window is never shown; it owns the selection and
	// receives the property changes that give us timestamps.
	err = xproto.CreateWindowChecked(x.conn, 0, x.window, screen.Root, 0, 0, 1, 1, 0,
		xproto.WindowClassInputOnly, 0, xproto.CwEventMask, []uint32{xproto.EventMaskPropertyChange}).Check()
	if err != nil {
		return fmt.Errorf("X clipboard window: %w", err)
	}
	for _, a := range []struct {
		atom *xproto.Atom
		name string
	}{
		{&x.atoms.clipboard, "CLIPBOARD"},
		{&x.atoms.targets, "TARGETS"},
		{&x.atoms.timestamp, "TIMESTAMP"},
		{&x.atoms.utf8, "UTF8_STRING"},
		{&x.atoms.text, "TEXT"},
		{&x.atoms.textPlain, "text/plain"},
		{&x.atoms.textPlainUTF8, "text/plain;charset=utf-8"},
		{&x.atoms.hint, "x-kde-passwordManagerHint"},
		{&x.atoms.stamp, "_TOKENTRAY_TIMESTAMP"},
	} {
		reply, err := xproto.InternAtom(x.conn, false, uint16(len(a.name)), a.name).Reply()
		if err != nil {
			return fmt.Errorf("X atom %s: %w", a.name, err)
		}
		*a.atom = reply.Atom
	}
	return nil
}

func (x *x11Clipboard) write(text string) error {
	if len(text) > x.maxData {
		return fmt.Errorf("%d bytes are more than this X server takes in one piece (%d)", len(text), x.maxData)
	}
	now, err := x.serverTime()
	if err != nil {
		return err
	}
	x.mu.Lock()
	x.text, x.since = []byte(text), now
	x.mu.Unlock()
	if err := xproto.SetSelectionOwnerChecked(x.conn, x.window, x.atoms.clipboard, now).Check(); err != nil {
		x.disown()
		return fmt.Errorf("taking the X clipboard: %w", err)
	}
	owner, err := xproto.GetSelectionOwner(x.conn, x.atoms.clipboard).Reply()
	if err != nil || owner.Owner != x.window {
		x.disown()
		return errors.New("the X server did not give Tokentray the clipboard; try again")
	}
	return nil
}

// serverTime asks the X server for its current time by appending nothing to
// a property of our window and reading the time of the change.
func (x *x11Clipboard) serverTime() (xproto.Timestamp, error) {
	select {
	case <-x.stamps: // a stale one, from a copy that gave up waiting
	default:
	}
	// Unchecked: the PropertyNotify is the answer, and the wait for it is
	// bounded where a Check would not be.
	xproto.ChangeProperty(x.conn, xproto.PropModeAppend, x.window, x.atoms.stamp, xproto.AtomString, 8, 0, nil)
	select {
	case t := <-x.stamps:
		return t, nil
	case <-time.After(stampTimeout):
		return 0, fmt.Errorf("the X server did not answer within %s", stampTimeout)
	}
}

func (x *x11Clipboard) clearIf(text string) (bool, error) {
	x.mu.Lock()
	ours := x.text != nil && string(x.text) == text
	since := x.since
	x.mu.Unlock()
	if !ours {
		return false, nil // someone else copied since: theirs stays
	}
	x.disown()
	// With our own timestamp, this is a no-op if another client took the
	// selection in the meantime, so only the owner afterwards tells.
	if err := xproto.SetSelectionOwnerChecked(x.conn, xproto.WindowNone, x.atoms.clipboard, since).Check(); err != nil {
		return false, fmt.Errorf("clearing the X clipboard: %w", err)
	}
	owner, err := xproto.GetSelectionOwner(x.conn, x.atoms.clipboard).Reply()
	if err != nil {
		return false, fmt.Errorf("reading the X clipboard's owner: %w", err)
	}
	return owner.Owner == xproto.WindowNone, nil
}

func (x *x11Clipboard) close(text string) {
	if _, err := x.clearIf(text); err != nil {
		log.Printf("clearing the clipboard: %v", err)
	}
	x.conn.Close()
}

func (x *x11Clipboard) disown() {
	x.mu.Lock()
	x.text = nil
	x.mu.Unlock()
}

// serve handles the X events of our window until the connection closes,
// passing paste requests on to answerAll. It blocks on the socket: no
// wake-up while nobody pastes.
func (x *x11Clipboard) serve() {
	defer close(x.requests)
	for {
		ev, err := x.conn.WaitForEvent()
		switch {
		case ev == nil && err == nil:
			return // closed
		case err != nil:
			// The errors of unchecked requests; a requestor that vanished
			// mid-paste is the usual one and harms nothing.
			continue
		}
		switch ev := ev.(type) {
		case xproto.PropertyNotifyEvent:
			if ev.Window == x.window && ev.Atom == x.atoms.stamp {
				select {
				case x.stamps <- ev.Time:
				default:
				}
			}
		case xproto.SelectionClearEvent:
			x.mu.Lock()
			// A clear for an ownership we have renewed since is stale.
			if ev.Selection == x.atoms.clipboard && int32(ev.Time-x.since) >= 0 {
				x.text = nil
			}
			x.mu.Unlock()
		case xproto.SelectionRequestEvent:
			select {
			case x.requests <- ev:
			default:
			}
		}
	}
}

// answerAll answers the paste requests serve passes on, until it stops.
func (x *x11Clipboard) answerAll() {
	for req := range x.requests {
		x.answer(req)
	}
}

// answer serves one paste: it writes the requested target to the
// requestor's property and tells it so, or that it cannot have it.
func (x *x11Clipboard) answer(req xproto.SelectionRequestEvent) {
	property := req.Property
	if property == xproto.AtomNone {
		property = req.Target // an obsolete requestor, per ICCCM
	}
	x.mu.Lock()
	text, since := x.text, x.since
	x.mu.Unlock()
	// ICCCM: a request dated before we owned the selection is refused.
	current := req.Time == xproto.TimeCurrentTime || int32(req.Time-since) >= 0
	ok := req.Selection == x.atoms.clipboard && text != nil && current && x.reply(req.Requestor, property, req.Target, text, since)
	if !ok {
		property = xproto.AtomNone
	}
	notify := xproto.SelectionNotifyEvent{
		Time: req.Time, Requestor: req.Requestor, Selection: req.Selection, Target: req.Target, Property: property,
	}
	xproto.SendEvent(x.conn, false, req.Requestor, xproto.EventMaskNoEvent, string(notify.Bytes()))
}

// reply writes target to the requestor's property and says whether it is
// one we serve. Unchecked: the server handles requests in order, so the
// SelectionNotify that answer sends next reaches the requestor after the
// property is set, and an error (a requestor gone meanwhile) comes as an
// event, which serve skips.
func (x *x11Clipboard) reply(window xproto.Window, property, target xproto.Atom, text []byte, since xproto.Timestamp) bool {
	a := x.atoms
	change := func(typ xproto.Atom, format byte, n int, data []byte) bool {
		xproto.ChangeProperty(x.conn, xproto.PropModeReplace, window, property, typ, format, uint32(n), data)
		return true
	}
	switch target {
	case a.targets:
		targets := []xproto.Atom{a.targets, a.timestamp, a.utf8, xproto.AtomString, a.text, a.textPlainUTF8, a.textPlain, a.hint}
		data := make([]byte, 4*len(targets))
		for i, t := range targets {
			xgb.Put32(data[4*i:], uint32(t))
		}
		return change(xproto.AtomAtom, 32, len(targets), data)
	case a.timestamp:
		data := make([]byte, 4)
		xgb.Put32(data, uint32(since))
		return change(xproto.AtomInteger, 32, 1, data)
	case a.utf8, a.text, a.textPlainUTF8:
		return change(a.utf8, 8, len(text), text)
	case xproto.AtomString, a.textPlain:
		// Latin-1 by definition; a token is ASCII, which both share.
		return change(target, 8, len(text), text)
	case a.hint:
		return change(a.hint, 8, len("secret"), []byte("secret"))
	default:
		return false
	}
}
