package proxy

import (
	"bufio"
	"bytes"
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
// owner of the client's socket, as identd did. Both ends are on this
// machine, so the client's socket is among this machine's own.
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
		if p, err := diagOwner(client, server); err == nil {
			return p, nil
		}
		// Netlink may be filtered (a sandbox); the text table says the same.
		return tableOwner(client, server)
	}
	return Peer{}, fmt.Errorf("unexpected connection type %T", c)
}

// diagOwner asks the kernel's socket diagnostics (netlink, as ss does)
// about the one socket from client to server. The kernel finds it in its
// hash table, where the text table and a diagnostics dump (what netlink
// libraries offer) walk every bucket: about half a millisecond per
// connection against a few microseconds (BenchmarkPeerLookup).
func diagOwner(client, server netip.AddrPort) (Peer, error) {
	client, server = unmapped(client), unmapped(server)
	family := unix.AF_INET6
	if client.Addr().Is4() {
		family = unix.AF_INET
	}
	// struct nlmsghdr, then struct inet_diag_req_v2 (linux/inet_diag.h).
	req := make([]byte, unix.SizeofNlMsghdr+sizeofDiagReq)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	body := req[unix.SizeofNlMsghdr:]
	body[0], body[1] = byte(family), unix.IPPROTO_TCP
	ne.PutUint32(body[4:], 0xffffffff) // in any state
	id := body[8:]
	putSockID(id, client, server)
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return Peer{}, fmt.Errorf("socket diagnostics: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return Peer{}, fmt.Errorf("socket diagnostics: %w", err)
	}
	// The kernel answers while handling the request: nothing to wait for.
	answer := make([]byte, 512)
	n, _, err := unix.Recvfrom(fd, answer, 0)
	if err != nil {
		return Peer{}, fmt.Errorf("socket diagnostics: %w", err)
	}
	answer = answer[:n]
	if len(answer) < unix.SizeofNlMsghdr+4 {
		return Peer{}, errors.New("socket diagnostics: short answer")
	}
	msg := answer[unix.SizeofNlMsghdr:]
	switch ne.Uint16(answer[4:]) {
	case unix.NLMSG_ERROR:
		return Peer{}, fmt.Errorf("socket diagnostics about client %s: %w", client, unix.Errno(-int32(ne.Uint32(msg))))
	case unix.SOCK_DIAG_BY_FAMILY:
	default:
		return Peer{}, fmt.Errorf("socket diagnostics: unexpected answer type %d", ne.Uint16(answer[4:]))
	}
	// struct inet_diag_msg: family, state, timer, retrans, the socket's
	// id, then expires, rqueue, wqueue, uid and inode.
	if len(msg) < sizeofDiagMsg {
		return Peer{}, errors.New("socket diagnostics: short answer")
	}
	// Ports and addresses must be the ones asked about: not a listener
	// the lookup fell back to.
	if !bytes.Equal(msg[4:4+sockIDAddrs], id[:sockIDAddrs]) {
		return Peer{}, fmt.Errorf("socket diagnostics: no socket of client %s", client)
	}
	inode := ne.Uint32(msg[68:])
	if inode == 0 {
		return Peer{}, fmt.Errorf("the socket of client %s is closed", client)
	}
	return Peer{UID: int(ne.Uint32(msg[64:])), Inode: uint64(inode)}, nil
}

const (
	sizeofDiagReq = 56 // struct inet_diag_req_v2
	sizeofDiagMsg = 72 // struct inet_diag_msg
	sockIDAddrs   = 36 // the ports and addresses of struct inet_diag_sockid
)

// putSockID writes struct inet_diag_sockid for the socket from local to
// remote: ports and addresses in network order, any interface, no cookie.
func putSockID(id []byte, local, remote netip.AddrPort) {
	binary.BigEndian.PutUint16(id[0:], local.Port())
	binary.BigEndian.PutUint16(id[2:], remote.Port())
	copy(id[4:20], local.Addr().AsSlice())
	copy(id[20:36], remote.Addr().AsSlice())
	binary.NativeEndian.PutUint32(id[40:], 0xffffffff) // INET_DIAG_NOCOOKIE
	binary.NativeEndian.PutUint32(id[44:], 0xffffffff)
}

func unmapped(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// tableOwner finds the client's socket in /proc/net/tcp{,6}.
func tableOwner(client, server netip.AddrPort) (Peer, error) {
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
