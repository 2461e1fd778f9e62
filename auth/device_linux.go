package auth

import (
	"bufio"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

func detectOS() (name, version string) {
	return "Linux", linuxOSVersion(os.DirFS("/"))
}

// linuxOSVersion reads the distribution's VERSION_ID from root, which stands
// for "/" so that tests can pass a fake tree. Rolling distributions (Arch,
// Gentoo) have no VERSION_ID; the kernel release is the next best answer.
func linuxOSVersion(root fs.FS) string {
	// os-release(5): /etc/os-release wins; /usr/lib/os-release is the
	// fallback the vendor ships when /etc has none.
	for _, name := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, err := fs.ReadFile(root, name)
		if err != nil {
			continue
		}
		if v := parseOSRelease(string(b))["VERSION_ID"]; v != "" {
			return v
		}
		break
	}
	if b, err := fs.ReadFile(root, "proc/sys/kernel/osrelease"); err == nil {
		if v := strings.TrimSpace(string(b)); v != "" {
			return v
		}
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// parseOSRelease parses the KEY=value lines of an os-release file. Values
// may be quoted in shell style; os-release(5) allows double quotes with
// backslash escapes and single quotes without.
func parseOSRelease(text string) map[string]string {
	vars := make(map[string]string)
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		vars[strings.TrimSpace(key)] = unquoteShell(strings.TrimSpace(value))
	}
	return vars
}

func unquoteShell(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0 {
				i++
			}
			b.WriteByte(v[i])
		}
		return b.String()
	}
	return v
}
