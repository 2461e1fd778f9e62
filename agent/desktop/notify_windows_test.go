package desktop

import (
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"
	"unsafe"
)

// The struct is laid out as shell32 reads it: the sizes and offsets are
// the SDK's (mingw's shellapi.h, amd64).
func TestNotifyIconDataLayout(t *testing.T) {
	var nid notifyIconData
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"size", unsafe.Sizeof(nid), 976},
		{"szTip", unsafe.Offsetof(nid.Tip), 40},
		{"szInfo", unsafe.Offsetof(nid.Info), 304},
		{"szInfoTitle", unsafe.Offsetof(nid.InfoTitle), 820},
		{"dwInfoFlags", unsafe.Offsetof(nid.InfoFlags), 948},
		{"hBalloonIcon", unsafe.Offsetof(nid.BalloonIcon), 968},
	} {
		if f.got != f.want {
			t.Errorf("%s at %d, want %d", f.name, f.got, f.want)
		}
	}
}

// The balloon's icon is added, then removed: deleting it again finds
// nothing.
func TestBalloonAddedAndRemoved(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	nid, err := addBalloon("Tokentray: prod needs you", "invalid_client\nCorrect its credentials in the Tokentray window.")
	if err != nil {
		t.Fatal(err)
	}
	if err := removeBalloon(nid); err != nil {
		t.Fatal(err)
	}
	if err := removeBalloon(nid); err == nil {
		t.Error("the icon could be removed twice: the first removal left it")
	}
}

// Notify returns once the balloon is up, without error.
func TestNotify(t *testing.T) {
	shown, gone := notify("Tokentray: prod needs you", "Run 'tokentray add prod …' again.", 0)
	if err := <-shown; err != nil {
		t.Fatal(err)
	}
	if err := <-gone; err != nil {
		t.Fatal(err)
	}
}

// Text too long for its field is cut with an ellipsis, never between the
// halves of a surrogate pair, and always NUL-terminated.
func TestFill(t *testing.T) {
	for _, tc := range []struct {
		s, want string
	}{
		{"Tokentray", "Token…"},
		{"123456", "123456"},
		{"1234567", "12345…"},
		{"12345🔑", "12345…"},
		{"1234🔑5", "1234…"}, // the cut would fall inside the pair
		{"1234🔑", "1234🔑"},
	} {
		dst := make([]uint16, 8)
		for i := range dst {
			dst[i] = 'x'
		}
		fill(dst[:7], tc.s)
		n := 0
		for dst[n] != 0 {
			n++
		}
		if got := string(utf16.Decode(dst[:n])); got != tc.want {
			t.Errorf("fill(%q) = %q, want %q", tc.s, got, tc.want)
		}
		if strings.ContainsRune(string(utf16.Decode(dst[:n])), '\uFFFD') {
			t.Errorf("fill(%q) split a surrogate pair", tc.s)
		}
	}
}
