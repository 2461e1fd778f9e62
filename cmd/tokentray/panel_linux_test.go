package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// panel drives a tray icon over D-Bus as a desktop panel does: it finds the
// StatusNotifierItem, reads its com.canonical.dbusmenu layout (AboutToShow
// before GetLayout, since submenus may fill in lazily) and clicks entries.
type panel struct {
	conn *dbus.Conn
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

func startWatcher(t *testing.T) *watcher {
	t.Helper()
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	w := &watcher{}
	const iface = "org.kde.StatusNotifierWatcher"
	if err := conn.Export(w, "/StatusNotifierWatcher", iface); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(iface, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("claiming %s: reply %v, %v", iface, reply, err)
	}
	return w
}

// findTray waits for the tray item of process pid to appear on the bus.
func findTray(t *testing.T, pid int, timeout time.Duration) *panel {
	t.Helper()
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	name := fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", pid)
	deadline := time.Now().Add(timeout)
	for {
		var names []string
		if err := conn.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if n == name {
				item := conn.Object(name, "/StatusNotifierItem")
				v, err := item.GetProperty("org.kde.StatusNotifierItem.Menu")
				if err != nil {
					t.Fatalf("reading the item's Menu: %v", err)
				}
				return &panel{conn: conn, menu: conn.Object(name, v.Value().(dbus.ObjectPath))}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tray item %s on the session bus after %s", name, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// layout returns the whole menu below parent.
func (p *panel) layout(t *testing.T, parent int32) menuEntry {
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
