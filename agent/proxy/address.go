package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Address is where a proxy listens: Network "tcp" with a loopback
// host:port, or "unix" with the path of a socket.
type Address struct {
	Network string
	Addr    string
}

// String is the address as the user writes it.
func (a Address) String() string {
	if a.Network == "unix" {
		return "unix:" + a.Addr
	}
	return a.Addr
}

// ParseAddress reads a listen address: 127.0.0.1:PORT, [::1]:PORT,
// localhost:PORT, or unix:PATH with an absolute PATH. Any other host is
// refused: on another interface the token would be anybody's who can reach
// the port. unix: is refused on Windows, where a socket file is guarded by
// no mode bits (Listen's 0600 in a 0700 directory) but by ACLs the proxy
// does not set, and where Wine, which tests it, has no unix sockets.
func ParseAddress(s string) (Address, error) {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if runtime.GOOS == "windows" {
			return Address{}, fmt.Errorf("the proxy address %q is a unix socket, which Tokentray does not offer on Windows; use 127.0.0.1:PORT", s)
		}
		if !filepath.IsAbs(path) {
			return Address{}, fmt.Errorf("the proxy socket %q must be an absolute path, such as unix:$XDG_RUNTIME_DIR/tokentray/NAME.sock", path)
		}
		return Address{Network: "unix", Addr: filepath.Clean(path)}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Address{}, fmt.Errorf("the proxy address %q is not HOST:PORT or unix:PATH; use 127.0.0.1:PORT", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return Address{}, fmt.Errorf("the proxy address %q needs a port from 1 to 65535, such as 127.0.0.1:8787", s)
	}
	if strings.EqualFold(host, "localhost") {
		// One address, not whatever localhost resolves to first.
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return Address{}, fmt.Errorf("the proxy may listen on loopback only (127.0.0.1, ::1 or localhost), not %q: on another interface other machines could use the token", host)
	}
	return Address{Network: "tcp", Addr: net.JoinHostPort(ip.String(), port)}, nil
}
