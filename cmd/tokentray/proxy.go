package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"text/tabwriter"
	"time"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/agent/proxy"
	"github.com/tokentray/tokentray/profile"
	"github.com/tokentray/tokentray/store"
)

var proxyCommand = command{
	name:     "proxy",
	synopsis: "tokentray proxy [NAME [--listen 127.0.0.1:PORT|unix:PATH | --off]]",
	help: `Serve a local HTTP proxy for profile NAME: every request to it goes to
the profile's base URL, path and query kept, with "Authorization: Bearer"
and a valid token; the client's own Authorization is replaced. The running
agent serves it from now on and at every start. It listens on loopback
only (127.0.0.1, ::1, localhost) or on a unix socket (made 0600 in a
private directory), and answers only processes of your user. --off
removes it. Without --listen or --off, prints the proxy of NAME, or with
no NAME of every profile that has one.`,
	run: runProxy,
}

func runProxy(ctx context.Context, args []string, std stdio) error {
	fs := newFlagSet("proxy")
	listen := fs.String("listen", "", "where to listen: 127.0.0.1:PORT or unix:PATH")
	off := fs.Bool("off", false, "remove the proxy")
	if len(args) == 0 {
		return listProxies(std)
	}
	name, rest, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", rest[0])}
	}
	if *off && *listen != "" {
		return usageError{"give --listen or --off, not both"}
	}
	if !*off && *listen == "" {
		_, cfg, err := loadConfig()
		if err != nil {
			return err
		}
		p, ok := cfg.Profile(name)
		if !ok {
			return profile.Unknown(name, cfg.Profiles)
		}
		if p.Proxy == "" {
			fmt.Fprintf(std.err, "Profile %s has no proxy; add one with 'tokentray proxy %s --listen 127.0.0.1:PORT'.\n", name, name)
			return nil
		}
		fmt.Fprintln(std.out, p.Proxy)
		return nil
	}
	path, err := store.DefaultPath()
	if err != nil {
		return err
	}
	var addr proxy.Address
	if !*off {
		if addr, err = proxy.ParseAddress(*listen); err != nil {
			return err
		}
	}
	var baseURL string
	err = store.UpdateConfig(path, func(cfg *store.Config) error {
		p, ok := cfg.Profile(name)
		if !ok {
			return profile.Unknown(name, cfg.Profiles)
		}
		p.Proxy, baseURL = "", p.BaseURL
		if !*off {
			p.Proxy = addr.String()
			if err := cfg.CheckProxyFree(name, p.Proxy); err != nil {
				return err
			}
		}
		cfg.Put(p)
		return nil
	})
	if err != nil {
		return err
	}
	reloadAgent(ctx, std.err)
	if *off {
		fmt.Fprintf(std.err, "Removed the proxy of %s.\n", name)
		return nil
	}
	fmt.Fprintf(std.err, "Requests to %s go to %s with a token of %s.\n", addr, baseURL, name)
	client, err := localapi.DefaultClient()
	if err != nil {
		return err
	}
	if _, err := client.Status(ctx); errors.Is(err, localapi.ErrNotRunning) {
		fmt.Fprintln(std.err, "The agent is not running: it serves the proxy once started ('tokentray agent').")
		return nil
	}
	// The agent starts it during the reload: when nothing answers, it
	// could not listen there.
	c, err := net.DialTimeout(addr.Network, addr.Addr, 2*time.Second)
	if err != nil {
		return fmt.Errorf("saved, but the agent does not serve %s (%v): the address may be in use; see the agent's log at %s", addr, err, localapi.LogPath())
	}
	c.Close()
	return nil
}

// listProxies prints every profile that has a proxy.
func listProxies(std stdio) error {
	_, cfg, err := loadConfig()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
	n := 0
	for _, p := range cfg.Profiles {
		if p.Proxy == "" {
			continue
		}
		if n == 0 {
			fmt.Fprintln(w, "NAME\tPROXY\tBASE URL")
		}
		n++
		fmt.Fprintf(w, "%s\t%s\t%s\n", p.Name, p.Proxy, p.BaseURL)
	}
	if n == 0 {
		fmt.Fprintln(std.err, "No profile has a proxy; add one with 'tokentray proxy NAME --listen 127.0.0.1:PORT'.")
	}
	return w.Flush()
}
