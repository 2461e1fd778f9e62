// Package deptest holds the one table of which Tokentray package may not
// import which, in the manner of Tailscale's tstest/deptest: the rules that
// keep the agent idle, the window and the CLI light, and the protocol code
// free of any desktop, checked for every platform Tokentray ships on.
package deptest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tokentray/tokentray"

// Groups of packages that rules forbid.
var (
	fyne      = []string{"fyne.io/fyne/v2"}
	tray      = []string{"fyne.io/systray"}
	x11       = []string{"github.com/jezek/xgb"}
	dbus      = []string{"github.com/godbus/dbus/v5"}
	clipboard = []string{"golang.design/x/clipboard", module + "/agent/clipboard"}
	theAgent  = []string{module + "/agent"}
)

func join(groups ...[]string) []string {
	var all []string
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}

// forbidden says, for each package (relative to the module), what it must
// not link, directly or not, and why.
var forbidden = []struct {
	pkg, why string
	deny     []string
	goos     string // only there; "" for every platform
}{
	{"auth", "protocol code knows no desktop", join(fyne, tray, x11, dbus, clipboard, theAgent), ""},
	// The keychain on Linux is the Secret Service, spoken over D-Bus: store,
	// and so profile, may link godbus, but nothing else of the desktop.
	{"store", "persistence knows no desktop", join(fyne, tray, x11, clipboard, theAgent), ""},
	{"profile", "the profile home is shared by the window, the CLI and the agent", join(fyne, tray, x11, clipboard, theAgent), ""},
	{"agent/logging", "every process logs through it", join(fyne, tray, x11, dbus, clipboard, theAgent), ""},
	{"agent/localapi", "the window and the CLI's client commands link it alone", join(fyne, tray, x11, dbus, clipboard, theAgent, []string{module + "/agent/desktop"}), ""},
	{"agent/desktop", "the window links it for start at login", join(fyne, tray, x11, clipboard, theAgent), ""},
	{"agent/clipboard", "only the agent owns the clipboard", join(fyne, tray, theAgent), ""},
	{"agent/proxy", "a profile's proxy speaks HTTP and knows no desktop", join(fyne, tray, x11, dbus, clipboard, theAgent), ""},
	{"agent/access", "the window and the CLI read the access log", join(fyne, tray, x11, dbus, clipboard, theAgent), ""},
	{"agent", "a Fyne loop would wake the idle agent 60 times a second", fyne, ""},
	// Built without cgo, as the Makefile builds it, golang.design/x/clipboard
	// compiles but cannot copy; the agent's own X11 clipboard needs no cgo.
	{"cmd/tokentray", "the Linux agent copies with its own X11 clipboard", []string{"golang.design/x/clipboard"}, "linux"},
	{"cmd/tokentray", "the agent and the CLI start in milliseconds and idle at 0 wake-ups", fyne, ""},
	// Fyne's own GLFW driver imports fyne.io/systray, so the window's rule
	// is about what Tokentray's packages bring in: none of the agent.
	{"ui", "the window links no tray, X11 clipboard or agent code of ours", join(x11, clipboard, theAgent), ""},
	{".", "the window links no tray, X11 clipboard or agent code of ours", join(x11, clipboard, theAgent), ""},
}

func TestDependencies(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		t.Run(goos, func(t *testing.T) {
			t.Parallel()
			deps := listDeps(t, goos)
			for _, rule := range forbidden {
				if rule.goos != "" && rule.goos != goos {
					continue
				}
				t.Run(rule.pkg, func(t *testing.T) {
					pkg := module
					if rule.pkg != "." {
						pkg += "/" + rule.pkg
					}
					for _, dep := range deps[pkg] {
						for _, deny := range rule.deny {
							if dep == deny || (!strings.HasPrefix(deny, module) && strings.HasPrefix(dep, deny+"/")) {
								t.Errorf("%s links %s on %s: %s", rule.pkg, dep, goos, rule.why)
							}
						}
					}
				})
			}
		})
	}
}

// listDeps lists the dependencies of every package the rules name, built
// for goos, by import path: one go list for them all, not one each.
func listDeps(t *testing.T, goos string) map[string][]string {
	t.Helper()
	args := []string{"list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}"}
	seen := map[string]bool{}
	for _, rule := range forbidden {
		pkg := module
		if rule.pkg != "." {
			pkg += "/" + rule.pkg
		}
		if !seen[pkg] {
			seen[pkg] = true
			args = append(args, pkg)
		}
	}
	list := exec.Command("go", args...)
	list.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=1")
	out, err := list.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("go list for %s: %v\n%s", goos, err, ee.Stderr)
	} else if err != nil {
		t.Fatalf("go list for %s: %v", goos, err)
	}
	deps := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) > 0 {
			deps[fields[0]] = fields[1:]
		}
	}
	for pkg := range seen {
		if _, ok := deps[pkg]; !ok {
			t.Fatalf("go list for %s did not list %s:\n%s", goos, pkg, out)
		}
	}
	return deps
}
