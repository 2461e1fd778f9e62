package proxy

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// peerOf finds who connected: SO_PEERCRED on a unix socket; for TCP the
// owner of the client's socket in the kernel's socket table, as identd
// did. Both ends are on this machine, so the client's socket is in the
// same table as ours.
func peerOf(c net.Conn) (Peer, error) {
	switch c := c.(type) {
	case *net.UnixConn:
		raw, err := c.SyscallConn()
		if err != nil {
			return Peer{}, err
		}
		var cred *unix.Ucred
		var credErr error
		if err := raw.Control(func(fd uintptr) {
			cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		}); err != nil {
			return Peer{}, err
		}
		if credErr != nil {
			return Peer{}, credErr
		}
		return Peer{UID: int(cred.Uid), PID: int(cred.Pid)}, nil
	case *net.TCPConn:
		if err := loopbackPeer(c); err != nil {
			return Peer{}, err
		}
		client := c.RemoteAddr().(*net.TCPAddr).AddrPort()
		server := c.LocalAddr().(*net.TCPAddr).AddrPort()
		for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
			p, found, err := socketOwner(table, client, server)
			if err != nil {
				return Peer{}, err
			}
			if found {
				return p, nil
			}
		}
		return Peer{}, fmt.Errorf("the socket of client %s is not in the kernel's table (closed already?)", client)
	}
	return Peer{}, fmt.Errorf("unexpected connection type %T", c)
}

// socketOwner looks up the socket whose local address is local and remote
// address is remote in a /proc/net/tcp{,6} table.
func socketOwner(table string, local, remote netip.AddrPort) (Peer, bool, error) {
	f, err := os.Open(table)
	if errors.Is(err, os.ErrNotExist) {
		return Peer{}, false, nil // no IPv6 here
	}
	if err != nil {
		return Peer{}, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		l, err1 := parseSocketAddr(fields[1])
		r, err2 := parseSocketAddr(fields[2])
		if err1 != nil || err2 != nil || !sameAddrPort(l, local) || !sameAddrPort(r, remote) {
			continue
		}
		uid, err1 := strconv.Atoi(fields[7])
		inode, err2 := strconv.ParseUint(fields[9], 10, 64)
		if err1 != nil || err2 != nil {
			return Peer{}, false, fmt.Errorf("%s: unreadable line %q", table, sc.Text())
		}
		if inode == 0 {
			// Closed, in TIME_WAIT: the table shows uid 0 for it, not
			// its owner.
			return Peer{}, false, fmt.Errorf("the socket of client %s is closed", local)
		}
		return Peer{UID: uid, Inode: inode}, true, nil
	}
	return Peer{}, false, sc.Err()
}

func sameAddrPort(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}

// parseSocketAddr reads the kernel's "0100007F:1F90": the address as
// 32-bit words in host byte order, each printed as hex, then the port.
func parseSocketAddr(s string) (netip.AddrPort, error) {
	addrHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bad socket address %q", s)
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	raw, err := hex.DecodeString(addrHex)
	if err != nil || len(raw) != 4 && len(raw) != 16 {
		return netip.AddrPort{}, fmt.Errorf("bad socket address %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
