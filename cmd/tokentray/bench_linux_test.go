package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/auth/authtest"
	"github.com/tokentray/tokentray/internal/testkit"
)

var idleFor = flag.Duration("idle", 10*time.Second, "how long BenchmarkAgentIdle watches the idle agent")

// BenchmarkTokenVsSecretTool runs `tokentray token` for a profile whose
// token is valid and `secret-tool lookup` of one keychain entry, alternately,
// 50 times each, and reports both medians and their ratio: with the agent
// running (process start plus one socket round trip) and without (process
// start plus keychain reads).
func BenchmarkTokenVsSecretTool(b *testing.B) {
	env, runtimeDir := desktop(b)
	server := authtest.NewIdentityServer("key-bench", "secret-bench")
	defer server.Close()
	run := func(args ...string) {
		cmd := exec.Command(binary, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader("secret-bench\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("tokentray %v: %v: %s", args, err, out)
		}
	}
	run("add", "bench", "--url", server.URL, "--client-key", "key-bench")
	run("token", "bench") // the token is valid from here on

	measure := func(b *testing.B) {
		lookup := exec.Command("secret-tool", "lookup", "service", "tokentray", "username", "bench/token")
		var tokentrayTimes, lookupTimes []time.Duration
		for b.Loop() {
			for range 50 {
				start := time.Now()
				run("token", "bench")
				tokentrayTimes = append(tokentrayTimes, time.Since(start))
				start = time.Now()
				c := exec.Command(lookup.Path, lookup.Args[1:]...)
				c.Env = env
				if err := c.Run(); err != nil {
					b.Fatalf("secret-tool lookup: %v", err)
				}
				lookupTimes = append(lookupTimes, time.Since(start))
			}
		}
		tm, lm := median(tokentrayTimes), median(lookupTimes)
		b.ReportMetric(float64(tm.Microseconds())/1000, "tokentray-ms")
		b.ReportMetric(float64(lm.Microseconds())/1000, "secret-tool-ms")
		b.ReportMetric(float64(tm)/float64(lm), "ratio")
	}
	b.Run("without-agent", measure)
	b.Run("with-agent", func(b *testing.B) {
		startAgent(b, env, runtimeDir)
		measure(b)
	})
}

// BenchmarkAgentIdle reports the idle agent's resident memory and its
// wake-ups per second (context switches of all its threads) with ten
// profiles, five on each flow, all holding valid tokens and shown in the
// tray, over -idle (60s for the figures in closing notes).
func BenchmarkAgentIdle(b *testing.B) {
	env, runtimeDir := desktop(b)
	identity := authtest.NewIdentityServer("key-idle", "secret-idle")
	defer identity.Close()
	web := authtest.NewWebServer("client-idle", "secret-idle", "session-idle")
	defer web.Close()
	for i := range 5 {
		for _, add := range []struct{ stdin, args string }{
			{"secret-idle\n", fmt.Sprintf("add id%d --url %s --client-key key-idle", i, identity.URL)},
			{"secret-idle\nsession-idle\n", fmt.Sprintf("add web%d --flow web --url %s --client-id client-idle", i, web.URL)},
		} {
			cmd := exec.Command(binary, strings.Fields(add.args)...)
			cmd.Env, cmd.Stdin = env, strings.NewReader(add.stdin)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%s: %v: %s", add.args, err, out)
			}
		}
	}
	startWatcher(b, env)
	cmd, client := startAgent(b, env, runtimeDir)
	pid := cmd.Process.Pid
	tray := findTray(b, env, pid, 20*time.Second)
	// Idle means every token valid and the menu built, as after a start.
	var valid int
	var err error
	if !testkit.Poll(testkit.Patience, func() bool {
		var st localapi.Status
		st, err = client.Status(context.Background())
		valid = 0
		for _, p := range st.Profiles {
			if p.State == auth.StateValid {
				valid++
			}
		}
		return err == nil && valid == 10
	}) {
		b.Fatalf("after %v %d of 10 profiles are valid: %v", testkit.Patience, valid, err)
	}
	if n := len(tray.layout(b, 0).Children); n < 10 {
		b.Fatalf("the tray shows %d entries, want the 10 profiles and more", n)
	}
	time.Sleep(2 * time.Second) // let start-up settle
	for b.Loop() {
		before := contextSwitches(b, pid)
		time.Sleep(*idleFor)
		after := contextSwitches(b, pid)
		b.ReportMetric(float64(after-before)/idleFor.Seconds(), "wakeups/s")
	}
	b.ReportMetric(float64(statusField(b, filepath.Join("/proc", strconv.Itoa(pid), "status"), "VmRSS:"))/1024, "RSS-MB")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func contextSwitches(b *testing.B, pid int) int {
	tasks, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "status"))
	if err != nil || len(tasks) == 0 {
		b.Fatalf("reading the agent's threads: %v", err)
	}
	n := 0
	for _, status := range tasks {
		n += statusField(b, status, "voluntary_ctxt_switches:") + statusField(b, status, "nonvoluntary_ctxt_switches:")
	}
	return n
}

// statusField reads a number from a /proc status file (kB for memory).
func statusField(b *testing.B, path, key string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		// A thread that ended between Glob and ReadFile adds nothing.
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, key) {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	b.Fatalf("no %s in %s", key, path)
	return 0
}
