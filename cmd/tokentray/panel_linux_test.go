package main

import (
	"bytes"
	"fmt"
	"image/png"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/tokentray/tokentray/internal/testkit"
)

// panel drives a tray icon over D-Bus as a desktop panel does: it finds the
// StatusNotifierItem, reads its com.canonical.dbusmenu layout (AboutToShow
// before GetLayout, since submenus may fill in lazily) and clicks entries.
type panel struct {
	conn *dbus.Conn
	item dbus.BusObject
	menu dbus.BusObject
}

// menuEntry is one dbusmenu node, reduced to what a panel shows.
type menuEntry struct {
	ID       int32
	Label    string
	Enabled  bool
	Children []menuEntry
}

// watcher stands in for the desktop's StatusNotifierWatcher, so the agent
// registers its icon as it would on a real desktop.
type watcher struct {
	mu         sync.Mutex
	registered []string
}

func (w *watcher) RegisterStatusNotifierItem(service string, sender dbus.Sender) *dbus.Error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.registered = append(w.registered, string(sender)+service)
	return nil
}

func (w *watcher) RegisterStatusNotifierHost(string) *dbus.Error { return nil }

func (w *watcher) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.registered)
}

// sessionBus connects to the session bus of env, which the tokentray
// processes of a test run with.
func sessionBus(t testing.TB, env []string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(envValue(env, "DBUS_SESSION_BUS_ADDRESS"))
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// serveOnBus exports service at path on the session bus of env and takes
// iface's name there, as the desktop service it stands in for does.
func serveOnBus(t testing.TB, env []string, service any, path dbus.ObjectPath, iface string) {
	t.Helper()
	conn := sessionBus(t, env)
	if err := conn.Export(service, path, iface); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(iface, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("claiming %s: reply %v, %v", iface, reply, err)
	}
}

// startWatcher stands in for the desktop's StatusNotifierWatcher on the
// session bus of env.
func startWatcher(t testing.TB, env []string) *watcher {
	t.Helper()
	w := &watcher{}
	serveOnBus(t, env, w, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher")
	return w
}

// findTray waits for the tray item of process pid to appear on the
// session bus of env.
func findTray(t testing.TB, env []string, pid int, timeout time.Duration) *panel {
	t.Helper()
	conn := sessionBus(t, env)
	name := fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", pid)
	item := conn.Object(name, "/StatusNotifierItem")
	var menu dbus.Variant
	var menuErr error
	if !testkit.Poll(timeout, func() bool {
		var names []string
		if err := conn.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(names, name) {
			return false
		}
		// The item takes its name a moment before it serves its properties.
		menu, menuErr = item.GetProperty("org.kde.StatusNotifierItem.Menu")
		return menuErr == nil
	}) {
		if menuErr != nil {
			t.Fatalf("reading the item's Menu: %v", menuErr)
		}
		t.Fatalf("no tray item %s on the session bus after %s", name, timeout)
	}
	return &panel{conn: conn, item: item, menu: conn.Object(name, menu.Value().(dbus.ObjectPath))}
}

// layout returns the whole menu below parent.
func (p *panel) layout(t testing.TB, parent int32) menuEntry {
	t.Helper()
	// AboutToShow may answer an error for nodes that need no update.
	p.menu.Call("com.canonical.dbusmenu.AboutToShow", 0, parent)
	var revision uint32
	var node []any
	call := p.menu.Call("com.canonical.dbusmenu.GetLayout", 0, parent, int32(-1), []string{})
	if err := call.Store(&revision, &node); err != nil {
		t.Fatalf("GetLayout(%d): %v", parent, err)
	}
	return decodeEntry(node)
}

func decodeEntry(node []any) menuEntry {
	e := menuEntry{ID: node[0].(int32), Enabled: true}
	props := node[1].(map[string]dbus.Variant)
	if v, ok := props["label"]; ok {
		e.Label = strings.ReplaceAll(v.Value().(string), "_", "")
	}
	if v, ok := props["enabled"]; ok {
		e.Enabled = v.Value().(bool)
	}
	for _, c := range node[2].([]dbus.Variant) {
		e.Children = append(e.Children, decodeEntry(c.Value().([]any)))
	}
	return e
}

// find walks a "Parent/Child" path of labels, opening submenus on the way.
func (p *panel) find(t *testing.T, path string) (menuEntry, bool) {
	t.Helper()
	node := p.layout(t, 0)
	for _, label := range strings.Split(path, "/") {
		var next *menuEntry
		for i := range node.Children {
			if node.Children[i].Label == label {
				next = &node.Children[i]
				break
			}
		}
		if next == nil {
			return menuEntry{}, false
		}
		node = p.layout(t, next.ID)
	}
	return node, true
}

// labels lists the labels of the top level, for failure messages.
func (p *panel) labels(t *testing.T) []string {
	var out []string
	for _, c := range p.layout(t, 0).Children {
		out = append(out, c.Label)
	}
	return out
}

// click sends the "clicked" event a panel sends when the user picks path.
func (p *panel) click(t *testing.T, path string) {
	t.Helper()
	e, ok := p.find(t, path)
	if !ok {
		t.Fatalf("no tray entry %q; top level: %q", path, p.labels(t))
	}
	if !e.Enabled {
		t.Fatalf("tray entry %q is disabled", path)
	}
	call := p.menu.Call("com.canonical.dbusmenu.Event", 0, e.ID, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix()))
	if call.Err != nil {
		t.Fatalf("clicking %q: %v", path, call.Err)
	}
}

// opened tells the menu that the panel shows it, as a panel does after
// GetLayout: the agent writes its countdowns then.
func (p *panel) opened(t *testing.T) {
	t.Helper()
	call := p.menu.Call("com.canonical.dbusmenu.Event", 0, int32(0), "opened", dbus.MakeVariant(""), uint32(time.Now().Unix()))
	if call.Err != nil {
		t.Fatalf("opening the menu: %v", call.Err)
	}
}

// status returns the first entry of profile's submenu, the status line,
// and whether it is disabled as it should be.
func (p *panel) status(t *testing.T, profile string) (label string, disabled bool) {
	t.Helper()
	sub, ok := p.find(t, profile)
	if !ok || len(sub.Children) == 0 {
		t.Fatalf("no submenu %q in the tray; top level: %q", profile, p.labels(t))
	}
	return sub.Children[0].Label, !sub.Children[0].Enabled
}

// waitStatus opens the menu until profile's status line satisfies ok, and
// returns it.
func (p *panel) waitStatus(t *testing.T, profile string, timeout time.Duration, ok func(string) bool) string {
	t.Helper()
	var label string
	if !testkit.Poll(timeout, func() bool {
		p.opened(t)
		label, _ = p.status(t, profile)
		return ok(label)
	}) {
		t.Fatalf("after %s the status line of %s is still %q", timeout, profile, label)
	}
	return label
}

// iconPixmap reads the StatusNotifierItem's IconPixmap: what a panel draws.
func (p *panel) iconPixmap(t *testing.T) []byte {
	t.Helper()
	v, err := p.item.GetProperty("org.kde.StatusNotifierItem.IconPixmap")
	if err != nil {
		t.Fatalf("reading IconPixmap: %v", err)
	}
	var pixmaps []struct {
		W, H int32
		Pix  []byte
	}
	if err := v.Store(&pixmaps); err != nil || len(pixmaps) == 0 {
		t.Fatalf("IconPixmap %v: %v", v, err)
	}
	return pixmaps[0].Pix
}

// waitIcon waits until the tray shows the icon named want, one of icons.
func (p *panel) waitIcon(t *testing.T, want string, icons map[string][]byte) {
	t.Helper()
	shown := "none of them"
	if !testkit.Poll(testkit.Patience, func() bool {
		pix := p.iconPixmap(t)
		for name, png := range icons {
			if bytes.Equal(pix, argb(t, png)) {
				shown = name
			}
		}
		return shown == want
	}) {
		t.Fatalf("the tray icon is %s, want %s", shown, want)
	}
}

// argb is a PNG as StatusNotifierItem pixmaps carry it: ARGB, row by row.
func argb(t *testing.T, data []byte) []byte {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	out := make([]byte, 0, 4*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			out = append(out, byte(a>>8), byte(r>>8), byte(g>>8), byte(bl>>8))
		}
	}
	return out
}

// notifications stands in for the desktop's notification server and
// records what it is asked to show.
type notifications struct {
	mu       sync.Mutex
	received []string // summary and body
}

func (n *notifications) Notify(app string, replaces uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.received = append(n.received, summary+"\n"+body)
	return uint32(len(n.received)), nil
}

func (n *notifications) GetCapabilities() ([]string, *dbus.Error) { return []string{"body"}, nil }

func (n *notifications) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "fake", "tokentray tests", "1", "1.2", nil
}

func (n *notifications) CloseNotification(uint32) *dbus.Error { return nil }

func (n *notifications) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.received...)
}

// startNotifications stands in for the desktop's notification service on
// the session bus of env.
func startNotifications(t *testing.T, env []string) *notifications {
	t.Helper()
	n := &notifications{}
	serveOnBus(t, env, n, "/org/freedesktop/Notifications", "org.freedesktop.Notifications")
	return n
}
