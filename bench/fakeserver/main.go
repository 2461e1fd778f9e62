// Command fakeserver is a loopback fake of the identity API for bench/cli.sh:
// it accepts the client key and secret it is given and prints its base URL,
// then serves until it is interrupted. It uses auth/authtest, the fake the
// tests use, so the benchmark and the tests talk to the same server.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tokentray/tokentray/auth/authtest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fakeserver CLIENT_KEY < client-secret")
		os.Exit(2)
	}
	// The secret comes on stdin, like `tokentray add`, so it stays off argv.
	secret, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeserver: reading the client secret:", err)
		os.Exit(1)
	}
	server := authtest.NewIdentityServer(os.Args[1], strings.TrimSpace(secret))
	defer server.Close()
	fmt.Println(server.URL)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
}
