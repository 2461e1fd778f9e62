package auth

import (
	"testing"
	"testing/fstest"
)

func TestParseOSRelease(t *testing.T) {
	t.Parallel()
	const ubuntu = `PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
# a comment
VERSION="24.04.1 LTS (Noble Numbat)"
ID=ubuntu
QUOTED='single \n kept'
ESCAPED="say \"hi\" \\ \$HOME"
garbage line
`
	got := parseOSRelease(ubuntu)
	for k, want := range map[string]string{
		"VERSION_ID": "24.04",
		"NAME":       "Ubuntu",
		"ID":         "ubuntu",
		"QUOTED":     `single \n kept`,
		"ESCAPED":    `say "hi" \ $HOME`,
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if _, ok := got["garbage line"]; ok {
		t.Error("a line without = became a key")
	}
}

func TestLinuxOSVersion(t *testing.T) {
	t.Parallel()
	kernel := &fstest.MapFile{Data: []byte("6.8.0-45-generic\n")}
	for _, tc := range []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"etc", fstest.MapFS{
			"etc/os-release":            {Data: []byte("VERSION_ID=12\n")},
			"usr/lib/os-release":        {Data: []byte("VERSION_ID=11\n")},
			"proc/sys/kernel/osrelease": kernel,
		}, "12"},
		{"usr lib fallback", fstest.MapFS{
			"usr/lib/os-release":        {Data: []byte(`VERSION_ID="41"`)},
			"proc/sys/kernel/osrelease": kernel,
		}, "41"},
		{"rolling release uses the kernel", fstest.MapFS{
			"etc/os-release":            {Data: []byte("NAME=\"Arch Linux\"\nBUILD_ID=rolling\n")},
			"usr/lib/os-release":        {Data: []byte("VERSION_ID=ignored\n")},
			"proc/sys/kernel/osrelease": kernel,
		}, "6.8.0-45-generic"},
		{"no os-release", fstest.MapFS{"proc/sys/kernel/osrelease": kernel}, "6.8.0-45-generic"},
	} {
		if got := linuxOSVersion(tc.fs); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	// With nothing readable, uname still names the kernel.
	if got := linuxOSVersion(fstest.MapFS{}); got == "" {
		t.Error("no fallback to uname")
	}
}
