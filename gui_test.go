package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/internal/testkit"
	"github.com/tokentray/tokentray/store"
)

// TestGUIWindow builds both executables and starts the GUI on two profiles
// (one per flow, against loopback fakes), as a person would by
// double-clicking it. On the X server it checks that the window appears,
// starts the agent, shows both profiles valid, and answers the keyboard;
// it saves screenshots of the list, the token view and the editor in
// build/screenshots (`make screenshots`). A second launch must exit and
// focus the first window; closing the window must leave the agent running.
func TestGUIWindow(t *testing.T) {
	testkit.RequireDesktop(t, testkit.Display|testkit.SessionBus)

	dir := t.TempDir()
	gui := filepath.Join(dir, "tokentray-gui")
	goBuild(t, gui, ".", true)
	goBuild(t, filepath.Join(dir, "tokentray"), "./cmd/tokentray", false) // as the Makefile ships it

	runtimeDir := filepath.Join(dir, "run")
	if err := os.Mkdir(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(runtimeDir, "tokentray", "agent.sock")
	seedProfiles(t, filepath.Join(dir, "config", "tokentray", "config.json"))

	cmd := exec.Command(gui)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	cmd.Env = append(os.Environ(),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"XDG_RUNTIME_DIR="+runtimeDir,
	)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed once the GUI has ended, with its status in exitErr.
	exited := make(chan struct{})
	var exitErr error
	go func() {
		exitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // a no-op once the window was closed
		<-exited
		quitAgent(t, socket)
		if t.Failed() {
			t.Logf("GUI output:\n%s", output.String())
			if log, err := os.ReadFile(filepath.Join(dir, "cache", "tokentray", "tokentray.log")); err == nil {
				t.Logf("agent log:\n%s", log)
			}
		}
	})

	display := os.Getenv("DISPLAY")
	x, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatalf("connecting to X display %s: %v", display, err)
	}
	defer x.Close()
	if err := xtest.Init(x); err != nil {
		t.Fatalf("the X server has no XTEST extension to type with: %v", err)
	}
	screen := xproto.Setup(x).DefaultScreen(x)

	win := waitForWindow(t, x, screen.Root, "Tokentray", exited)
	waitMapped(t, x, win)
	area := windowArea(t, x, win, screen.Root)

	// Launching Tokentray again hands over to the open window, which takes
	// the focus, and exits.
	if err := xproto.SetInputFocusChecked(x, xproto.InputFocusPointerRoot, xproto.InputFocusPointerRoot, xproto.TimeCurrentTime).Check(); err != nil {
		t.Fatal(err)
	}
	second := exec.Command(gui)
	second.Env = cmd.Env
	if out, err := runWithin(second, 15*time.Second); err != nil {
		t.Errorf("a second GUI: %v\n%s", err, out)
	}
	if n := countWindows(t, x, screen.Root, "Tokentray"); n != 1 {
		t.Errorf("%d windows named Tokentray after a second launch, want 1", n)
	}
	waitFocused(t, x, win)

	// The GUI started the agent, which fetches both profiles' tokens; the
	// window shows them from the agent's events.
	waitValid(t, socket, "work", "polar")
	time.Sleep(1500 * time.Millisecond)
	shot := grabWindow(t, x, screen, area)
	if singleColour(shot, shot.Bounds()) {
		t.Error("the window is a single colour")
	}
	savePNG(t, filepath.Join("build", "screenshots", "main.png"), shot)

	// Enter opens the highlighted (first) profile's token view, Ctrl+E its
	// editor, Escape goes back.
	keys := newKeyboard(t, x, screen.Root)
	keys.press(t, "Return")
	token := changedShot(t, x, screen, area, shot)
	if sameImage(shot, token) {
		t.Error("Enter on the list changed nothing")
	}
	savePNG(t, filepath.Join("build", "screenshots", "token.png"), token)
	keys.press(t, "Control_L", "e")
	editor := changedShot(t, x, screen, area, token)
	if sameImage(token, editor) {
		t.Error("Ctrl+E in the token view changed nothing")
	}
	savePNG(t, filepath.Join("build", "screenshots", "editor.png"), editor)
	keys.press(t, "Escape")
	var back *image.RGBA
	if !testkit.Poll(testkit.Patience, func() bool { back = grabWindow(t, x, screen, area); return sameImage(shot, back) }) {
		savePNG(t, filepath.Join("build", "screenshots", "after-escape.png"), back)
		t.Error("Escape in the editor did not go back to the list as it was (see after-escape.png)")
	}

	closeWindow(t, x, win)
	select {
	case <-exited:
		if exitErr != nil {
			t.Errorf("the GUI exited with %v after its window closed, want status 0", exitErr)
		}
	case <-time.After(15 * time.Second):
		t.Error("the GUI still runs 15 s after its window closed")
	}
	// The agent keeps the tray and the tokens after the window is gone.
	if _, err := localapi.NewClient(socket).Status(context.Background()); err != nil {
		t.Errorf("the agent stopped with the window: %v", err)
	}
}

// seedProfiles adds an identity and a web grant profile, each against a
// loopback fake that lives as long as the test, with their secrets in the
// session's keychain.
func seedProfiles(t *testing.T, configPath string) {
	t.Helper()
	identity := authtest.NewIdentityServer("key-gui", "secret-gui")
	t.Cleanup(identity.Close)
	web := authtest.NewWebServer("client-gui", "secret-web", "session-web")
	t.Cleanup(web.Close)
	k := store.Keychain{}
	for _, p := range []struct {
		profile store.Profile
		secrets store.Secrets
	}{
		{store.Profile{Name: "work", Flow: store.FlowIdentity, BaseURL: identity.URL, ClientKey: "key-gui", Network: "auto"},
			store.Secrets{ClientSecret: "secret-gui"}},
		{store.Profile{Name: "polar", Flow: store.FlowWeb, BaseURL: web.URL, ClientID: "client-gui", Scope: "openid profile"},
			store.Secrets{ClientSecret: "secret-web", SessionToken: "session-web"}},
	} {
		if err := store.AddProfile(configPath, k, p.profile, p.secrets); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k.DeleteProfile(p.profile.Name) })
	}
}

// changedShot grabs the window once it differs from before and has drawn
// all it will: the same for a fifth of a second, for at most two seconds
// (a blinking cursor never is). It gives up on the change after
// testkit.Patience, returning what the window shows then.
func changedShot(t *testing.T, x *xgb.Conn, screen *xproto.ScreenInfo, area image.Rectangle, before *image.RGBA) *image.RGBA {
	t.Helper()
	var shot *image.RGBA
	if !testkit.Poll(testkit.Patience, func() bool { shot = grabWindow(t, x, screen, area); return !sameImage(before, shot) }) {
		return shot
	}
	testkit.Poll(2*time.Second, func() bool {
		time.Sleep(200 * time.Millisecond)
		next := grabWindow(t, x, screen, area)
		settled := sameImage(shot, next)
		shot = next
		return settled
	})
	return shot
}

// waitValid waits until the agent holds a valid token of every profile.
func waitValid(t *testing.T, socket string, profiles ...string) {
	t.Helper()
	client := localapi.NewClient(socket)
	var st localapi.Status
	var err error
	if !testkit.Poll(testkit.Patience, func() bool {
		st, err = client.Status(context.Background())
		valid := 0
		for _, p := range st.Profiles {
			if slices.Contains(profiles, p.Profile) && p.State == auth.StateValid {
				valid++
			}
		}
		return err == nil && valid == len(profiles)
	}) {
		t.Fatalf("after %v the agent says %+v (%v), want %q valid", testkit.Patience, st.Profiles, err, profiles)
	}
}

// waitFocused waits until w has the X input focus.
func waitFocused(t *testing.T, x *xgb.Conn, w xproto.Window) {
	t.Helper()
	var focus *xproto.GetInputFocusReply
	if !testkit.Poll(testkit.Patience, func() bool {
		var err error
		if focus, err = xproto.GetInputFocus(x).Reply(); err != nil {
			t.Fatal(err)
		}
		return focus.Focus == w
	}) {
		t.Errorf("the input focus is on window %d after a second launch, want the first window %d", focus.Focus, w)
	}
}

// keyboard types on the X server through XTEST, as a person would.
type keyboard struct {
	x        *xgb.Conn
	root     xproto.Window
	keycodes map[xproto.Keysym]xproto.Keycode
}

// keysyms are the X keysyms of the keys the test presses.
var keysyms = map[string]xproto.Keysym{"Return": 0xff0d, "Escape": 0xff1b, "Control_L": 0xffe3, "e": 0x0065}

func newKeyboard(t *testing.T, x *xgb.Conn, root xproto.Window) *keyboard {
	t.Helper()
	setup := xproto.Setup(x)
	count := byte(setup.MaxKeycode - setup.MinKeycode + 1)
	mapping, err := xproto.GetKeyboardMapping(x, setup.MinKeycode, count).Reply()
	if err != nil {
		t.Fatal(err)
	}
	k := &keyboard{x: x, root: root, keycodes: map[xproto.Keysym]xproto.Keycode{}}
	per := int(mapping.KeysymsPerKeycode)
	for i := 0; i < int(count); i++ {
		for j := 0; j < per; j++ {
			sym := mapping.Keysyms[i*per+j]
			if _, seen := k.keycodes[sym]; !seen && sym != 0 {
				k.keycodes[sym] = setup.MinKeycode + xproto.Keycode(i)
			}
		}
	}
	return k
}

// press holds the named keys down in order, then lets them go in reverse.
func (k *keyboard) press(t *testing.T, names ...string) {
	t.Helper()
	var codes []xproto.Keycode
	for _, name := range names {
		code, ok := k.keycodes[keysyms[name]]
		if !ok {
			t.Fatalf("no keycode for %s on this X server", name)
		}
		codes = append(codes, code)
	}
	send := func(kind byte, code xproto.Keycode) {
		if err := xtest.FakeInputChecked(k.x, kind, byte(code), xproto.TimeCurrentTime, k.root, 0, 0, 0).Check(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range codes {
		send(xproto.KeyPress, c)
	}
	for i := len(codes) - 1; i >= 0; i-- {
		send(xproto.KeyRelease, codes[i])
	}
}

// grabWindow is the window's area of the screen.
func grabWindow(t *testing.T, x *xgb.Conn, screen *xproto.ScreenInfo, area image.Rectangle) *image.RGBA {
	t.Helper()
	shot := grabScreen(t, x, screen)
	out := image.NewRGBA(image.Rect(0, 0, area.Dx(), area.Dy()))
	draw.Draw(out, out.Bounds(), shot, area.Min, draw.Src)
	return out
}

func sameImage(a, b *image.RGBA) bool {
	return a.Bounds() == b.Bounds() && bytes.Equal(a.Pix, b.Pix)
}

func goBuild(t *testing.T, out, pkg string, cgo bool) {
	t.Helper()
	build := exec.Command("go", "build", "-o", out, pkg)
	if !cgo {
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// waitForWindow polls the top-level windows until one is named name.
func waitForWindow(t *testing.T, x *xgb.Conn, root xproto.Window, name string, exited <-chan struct{}) xproto.Window {
	t.Helper()
	var found xproto.Window
	if !testkit.Poll(60*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatal("the GUI exited before its window appeared")
		default:
		}
		tree, err := xproto.QueryTree(x, root).Reply()
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tree.Children {
			if windowName(x, w) == name {
				found = w
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no top-level window named %q after 60 s", name)
	}
	return found
}

// runWithin runs cmd and kills it when it takes longer than d.
func runWithin(cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	timer := time.AfterFunc(d, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	return out.Bytes(), err
}

func countWindows(t *testing.T, x *xgb.Conn, root xproto.Window, name string) int {
	t.Helper()
	tree, err := xproto.QueryTree(x, root).Reply()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, w := range tree.Children {
		if windowName(x, w) == name {
			n++
		}
	}
	return n
}

// waitMapped waits until w is viewable: GLFW names a window before it maps
// it, so the window may be found a moment before it shows.
func waitMapped(t *testing.T, x *xgb.Conn, w xproto.Window) {
	t.Helper()
	var state byte
	if !testkit.Poll(testkit.Patience, func() bool {
		attrs, err := xproto.GetWindowAttributes(x, w).Reply()
		if err != nil {
			t.Fatal(err)
		}
		state = attrs.MapState
		return state == xproto.MapStateViewable
	}) {
		t.Fatalf("the window's map state is %d after %v, want viewable (%d)", state, testkit.Patience, xproto.MapStateViewable)
	}
}

// windowName reads _NET_WM_NAME, falling back to WM_NAME.
func windowName(x *xgb.Conn, w xproto.Window) string {
	for _, prop := range []string{"_NET_WM_NAME", "WM_NAME"} {
		atom, err := xproto.InternAtom(x, true, uint16(len(prop)), prop).Reply()
		if err != nil || atom.Atom == xproto.AtomNone {
			continue
		}
		reply, err := xproto.GetProperty(x, false, w, atom.Atom, xproto.GetPropertyTypeAny, 0, 256).Reply()
		if err == nil && reply.ValueLen > 0 {
			return string(reply.Value)
		}
	}
	return ""
}

// windowArea is w's rectangle in root coordinates.
func windowArea(t *testing.T, x *xgb.Conn, w, root xproto.Window) image.Rectangle {
	t.Helper()
	geom, err := xproto.GetGeometry(x, xproto.Drawable(w)).Reply()
	if err != nil {
		t.Fatal(err)
	}
	pos, err := xproto.TranslateCoordinates(x, w, root, 0, 0).Reply()
	if err != nil {
		t.Fatal(err)
	}
	r := image.Rect(int(pos.DstX), int(pos.DstY), int(pos.DstX)+int(geom.Width), int(pos.DstY)+int(geom.Height))
	if r.Dx() < 100 || r.Dy() < 100 {
		t.Errorf("the window is %dx%d, too small to show the form", r.Dx(), r.Dy())
	}
	return r
}

// grabScreen reads the whole screen, which must use 32 bits per pixel
// (as Xvfb's depth 24 does), into an RGBA image.
func grabScreen(t *testing.T, x *xgb.Conn, screen *xproto.ScreenInfo) *image.RGBA {
	t.Helper()
	setup := xproto.Setup(x)
	bpp := 0
	for _, f := range setup.PixmapFormats {
		if f.Depth == screen.RootDepth {
			bpp = int(f.BitsPerPixel)
		}
	}
	if bpp != 32 {
		t.Fatalf("the screen has depth %d at %d bits per pixel; the test reads 32", screen.RootDepth, bpp)
	}
	w, h := int(screen.WidthInPixels), int(screen.HeightInPixels)
	reply, err := xproto.GetImage(x, xproto.ImageFormatZPixmap, xproto.Drawable(screen.Root),
		0, 0, uint16(w), uint16(h), 0xffffffff).Reply()
	if err != nil {
		t.Fatalf("GetImage: %v", err)
	}
	if len(reply.Data) < w*h*4 {
		t.Fatalf("GetImage gave %d bytes for %dx%d pixels", len(reply.Data), w, h)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	lsb := setup.ImageByteOrder == xproto.ImageOrderLSBFirst
	for i := 0; i < w*h; i++ {
		p := reply.Data[i*4 : i*4+4]
		if lsb { // B G R X
			img.Pix[i*4], img.Pix[i*4+1], img.Pix[i*4+2] = p[2], p[1], p[0]
		} else { // X R G B
			img.Pix[i*4], img.Pix[i*4+1], img.Pix[i*4+2] = p[1], p[2], p[3]
		}
		img.Pix[i*4+3] = 0xff
	}
	return img
}

func singleColour(img *image.RGBA, r image.Rectangle) bool {
	r = r.Intersect(img.Bounds())
	if r.Empty() {
		return true
	}
	first := img.RGBAAt(r.Min.X, r.Min.Y)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y) != first {
				return false
			}
		}
	}
	return true
}

func savePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// closeWindow asks w to close as a window manager's close button does.
func closeWindow(t *testing.T, x *xgb.Conn, w xproto.Window) {
	t.Helper()
	atom := func(name string) xproto.Atom {
		reply, err := xproto.InternAtom(x, false, uint16(len(name)), name).Reply()
		if err != nil {
			t.Fatal(err)
		}
		return reply.Atom
	}
	protocols, deleteWindow := atom("WM_PROTOCOLS"), atom("WM_DELETE_WINDOW")
	ev := xproto.ClientMessageEvent{
		Format: 32,
		Window: w,
		Type:   protocols,
		Data:   xproto.ClientMessageDataUnionData32New([]uint32{uint32(deleteWindow), xproto.TimeCurrentTime, 0, 0, 0}),
	}
	if err := xproto.SendEventChecked(x, false, w, xproto.EventMaskNoEvent, string(ev.Bytes())).Check(); err != nil {
		t.Fatal(err)
	}
}

func quitAgent(t *testing.T, socket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := localapi.NewClient(socket).Quit(ctx); err != nil && !errors.Is(err, localapi.ErrNotRunning) {
		t.Errorf("stopping the agent: %v", err)
	}
}
