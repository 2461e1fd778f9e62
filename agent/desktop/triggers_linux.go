package desktop

import (
	"context"
	"errors"
	"log"
	"os"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// netDebounce gathers a burst of route and link messages (an interface
// coming up sends dozens) into one recheck.
const netDebounce = time.Second

// watchSystem calls recheck after a resume from suspend (logind's
// PrepareForSleep(false) on the system bus) and after network changes (a
// netlink route socket), until ctx is done. Both block in the kernel or on
// the bus, so an unchanging system costs no wake-up. A signal that cannot
// be watched is logged once and done without: the Keeper still notices a
// suspend by the wall clock when its timer fires.
func WatchSystem(ctx context.Context, recheck func()) {
	if err := watchResume(ctx, recheck); err != nil {
		log.Printf("not watching for resume from suspend: %v", err)
	}
	if err := watchNetwork(ctx, recheck); err != nil {
		log.Printf("not watching for network changes: %v", err)
	}
}

// logind is the name whose owner alone says the system resumed.
const logind = "org.freedesktop.login1"

func watchResume(ctx context.Context, recheck func()) error {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return err
	}
	if err := conn.AddMatchSignal(
		dbus.WithMatchSender(logind),
		dbus.WithMatchObjectPath("/org/freedesktop/login1"),
		dbus.WithMatchInterface("org.freedesktop.login1.Manager"),
		dbus.WithMatchMember("PrepareForSleep"),
	); err != nil {
		conn.Close()
		return err
	}
	signals := make(chan *dbus.Signal, 4)
	conn.Signal(signals)
	go func() {
		<-ctx.Done()
		conn.Close() // closes signals too
	}()
	go func() {
		for sig := range signals {
			// Anyone on the bus may send a signal that looks like logind's,
			// to everyone or to the agent alone, past the match rule.
			if sig.Path != "/org/freedesktop/login1" || sig.Name != "org.freedesktop.login1.Manager.PrepareForSleep" || !ownsName(conn, sig.Sender, logind) {
				continue
			}
			// PrepareForSleep(true) comes before the suspend, false after.
			if len(sig.Body) == 1 && sig.Body[0] == false {
				recheck()
			}
		}
	}()
	return nil
}

// ownsName reports whether sender (a unique connection name) owns name on
// conn's bus now; asked at each signal, since logind may have restarted.
func ownsName(conn *dbus.Conn, sender, name string) bool {
	var owner string
	err := conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, name).Store(&owner)
	return err == nil && owner == sender
}

func watchNetwork(ctx context.Context, recheck func()) error {
	// Non-blocking, so that the runtime's poller waits for it: no thread
	// stays parked in recvfrom, and Close ends the Read.
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	groups := uint32(unix.RTMGRP_LINK | unix.RTMGRP_IPV4_ROUTE | unix.RTMGRP_IPV6_ROUTE)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		unix.Close(fd)
		return err
	}
	sock := os.NewFile(uintptr(fd), "netlink")
	debounce := time.AfterFunc(netDebounce, recheck)
	debounce.Stop()
	go func() {
		<-ctx.Done()
		sock.Close()
	}()
	go func() {
		defer debounce.Stop()
		buf := make([]byte, 1<<16)
		for {
			// Whatever the message, something changed; a lost one
			// (ENOBUFS) means a burst, which is a change too.
			if _, err := sock.Read(buf); err != nil && !errors.Is(err, unix.ENOBUFS) {
				if ctx.Err() == nil {
					log.Printf("no longer watching for network changes: %v", err)
				}
				return
			}
			debounce.Reset(netDebounce)
		}
	}()
	return nil
}
