package auth

import (
	"encoding/base64"
	"strings"
	"testing"
)

// The example of PROTOCOLS.md §1, byte for byte.
const protocolDeviceInfo = "eyJtb2RlbCI6ImRlc2t0b3AiLCJ2ZXJzaW9uIjoiQ2hyb21lIiwib3NOYW1lIjoiV2luZG93cyIsIm9zVmVyc2lvbiI6IjEwIn0="

func TestDeviceInfoEncodeMatchesProtocol(t *testing.T) {
	t.Parallel()
	got := DeviceInfo{Model: "desktop", Version: "Chrome", OSName: "Windows", OSVersion: "10"}.Encode()
	if got != protocolDeviceInfo {
		t.Errorf("Encode = %s\nwant     %s", got, protocolDeviceInfo)
	}
}

func TestDeviceInfoEncodeDoesNotEscapeHTML(t *testing.T) {
	t.Parallel()
	raw, err := base64.StdEncoding.DecodeString(DeviceInfo{Model: "A&B<C>", Version: "v"}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"A&B<C>","version":"v","osName":"","osVersion":""}`
	if string(raw) != want {
		t.Errorf("decoded %s, want %s", raw, want)
	}
}

func TestDecodeDeviceInfo(t *testing.T) {
	t.Parallel()
	d, err := DecodeDeviceInfo(protocolDeviceInfo)
	if err != nil {
		t.Fatal(err)
	}
	if want := (DeviceInfo{"desktop", "Chrome", "Windows", "10"}); d != want {
		t.Errorf("got %+v, want %+v", d, want)
	}
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct{ in, wantErr string }{
		{"not base64!", "base64"},
		{enc(`[1]`), "JSON object"},
		{enc(`{"model":"m","version":"v","osName":"o"}`), "lacks keys osVersion"},
		{enc(`{"model":"m"}`), "lacks keys version, osName, osVersion"},
		{enc(`{"model":"m","version":"v","osName":"o","osVersion":"1","extra":1,"another":2}`), "unknown keys another, extra"},
		{enc(`{"model":"m","version":"v","osName":"o","osVersion":1}`), "osVersion is not a string"},
		{enc(`{"model":null,"version":"v","osName":"o","osVersion":"1"}`), "model is not a string"},
	} {
		if _, err := DecodeDeviceInfo(tc.in); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("DecodeDeviceInfo(%s) error = %v, want one containing %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestDetectDeviceInfo(t *testing.T) {
	t.Parallel()
	d := DetectDeviceInfo()
	if d.Model != "desktop" || d.Version != "Chrome" || d.OSName == "" {
		t.Errorf("DetectDeviceInfo = %+v", d)
	}
	if _, err := DecodeDeviceInfo(d.Encode()); err != nil {
		t.Errorf("detected info does not round-trip: %v", err)
	}
}

func TestParseNetwork(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"": "auto", "auto": "auto", "other": "other", "wifi": "wifi",
		"ethernet": "ethernet", "cellular": "cellular", " WiFi ": "wifi",
	} {
		got, err := ParseNetwork(in)
		if err != nil || got != want {
			t.Errorf("ParseNetwork(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseNetwork("lte")
	if err == nil || !strings.Contains(err.Error(), "auto, other, wifi, ethernet, cellular") {
		t.Errorf("ParseNetwork(lte) error = %v, want the choices listed", err)
	}
}

func TestDeviceNetworkTypePinned(t *testing.T) {
	t.Parallel()
	if got := (Device{Network: "cellular"}).NetworkType(); got != NetworkCellular {
		t.Errorf("pinned cellular gave %q", got)
	}
	for _, auto := range []string{"", NetworkAuto} {
		if got := (Device{Network: auto}).NetworkType(); got != DetectNetworkType() {
			t.Errorf("Network %q gave %q, detection says %q", auto, got, DetectNetworkType())
		}
	}
}

func TestNewDeviceID(t *testing.T) {
	t.Parallel()
	a, b := NewDeviceID(), NewDeviceID()
	if len(a) != 36 || a == b {
		t.Errorf("NewDeviceID gave %q and %q", a, b)
	}
}
