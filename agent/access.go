package agent

import (
	"context"
	"fmt"
	"log"
	"net"
	"path/filepath"
	"time"

	"github.com/tokentray/tokentray/agent/access"
	"github.com/tokentray/tokentray/agent/proxy"
)

// Record notes in the access log that a token of profile left the agent by
// channel to process pid (0: unknown), and, when the settings ask for it,
// notifies the first time a program gets that profile's token. A log that
// cannot be written is logged, and the token is handed out all the same:
// refusing it would break the user's tools over bookkeeping.
func (t *Tokens) Record(profile, channel string, pid int) {
	pid, exe := access.Caller(pid)
	r := access.Record{Time: time.Now().UTC(), Profile: profile, Channel: channel, PID: pid, Exe: exe}
	first, err := t.access.Add(r)
	if err != nil {
		log.Printf("recording a token of %s taken by %s: %v", profile, channel, err)
		return
	}
	// The settings are read only for a first use, which is rare: reading
	// them costs a file read that every token request would pay.
	if first && t.notify != nil && t.Settings().NotifyFirstUse {
		if err := t.notify(filepath.Base(exe)+" got a token of "+profile, fmt.Sprintf("%s (pid %d) has not had a token of %s before; it took one by %s.", exe, pid, profile, channel)); err != nil {
			log.Printf("notifying a first use: %v", err)
		}
	}
}

// RecordProxy notes a client connection that a profile's proxy gave a
// token.
func (t *Tokens) RecordProxy(profile string, peer proxy.Peer) {
	pid := peer.PID
	if pid == 0 {
		pid = access.SocketPID(peer.Inode)
	}
	t.Record(profile, access.ChannelProxy, pid)
}

type connKey struct{}

// withConn keeps the LocalAPI connection in its requests' context, so that
// a handler can tell who asked.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// callerPID is the process that made the LocalAPI request of ctx, or 0
// (the tray's own clicks).
func callerPID(ctx context.Context) int {
	c, ok := ctx.Value(connKey{}).(net.Conn)
	if !ok {
		return 0
	}
	return access.PeerPID(c)
}
