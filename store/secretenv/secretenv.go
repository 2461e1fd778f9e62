// Package secretenv takes the secrets file's passphrase out of the
// process's environment, so that nothing the agent or the window starts (a
// dbus-daemon, wl-copy, a browser) inherits it, and keeps it for the
// secrets file and for the Tokentray processes they start themselves. It is
// a leaf, so that the LocalAPI client can link it without the keychain.
package secretenv

import (
	"os"
	"sync"
)

var taken = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

// Take reads the variable name and removes it from the environment; its
// value stays for Lookup and ForChild. It returns the value, empty when
// the variable is unset.
func Take(name string) string {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return lookupTaken(name)
	}
	os.Unsetenv(name)
	taken.Lock()
	taken.m[name] = v
	taken.Unlock()
	return v
}

// Lookup returns the variable name from the environment, or, when it is
// not there, the value Take took from there.
func Lookup(name string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return lookupTaken(name)
}

func lookupTaken(name string) string {
	taken.Lock()
	defer taken.Unlock()
	return taken.m[name]
}

// ForChild returns the taken variables as NAME=value entries, for another
// Tokentray process this one starts (the window the agent opens, the agent
// the window starts), which takes them in turn.
func ForChild() []string {
	taken.Lock()
	defer taken.Unlock()
	var env []string
	for name, v := range taken.m {
		env = append(env, name+"="+v)
	}
	return env
}
