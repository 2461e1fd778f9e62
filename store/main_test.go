package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// helperEnv makes the test binary a helper process for the tests that need
// another process (to kill it, or to contend with it) instead of running
// the tests.
const helperEnv = "TOKENTRAY_STORE_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "lock-loop":
		lockLoop(os.Getenv("HELPER_DIR"), os.Getenv("HELPER_OUT"))
	case "lock-hold":
		lockHold(os.Getenv("HELPER_DIR"))
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// helper starts the test binary as the helper role with env added.
func helper(t *testing.T, role string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	// The race detector sleeps a second before exit unless told not to.
	cmd.Env = append(os.Environ(), helperEnv+"="+role, "GORACE=atexit_sleep_ms=0")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// crashContents are the two configs the writer TestSaveSurvivesSIGKILL
// kills alternates between.
func crashContents() [2]*Config {
	var cs [2]*Config
	for i := range cs {
		cs[i] = &Config{DeviceID: "device-" + strconv.Itoa(i)}
		for j := range 20 * (i + 1) { // different sizes, so a torn write shows
			cs[i].Put(Profile{Name: fmt.Sprintf("p%d-%d", i, j), Flow: FlowIdentity, BaseURL: "https://api.example.com"})
		}
	}
	return cs
}

// lockLoop takes profile "shared"'s lock 50 times and, holding it, appends
// a start and an end line to out.
func lockLoop(dir, out string) {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pid := os.Getpid()
	for range 50 {
		unlock, err := ProfileLocks{Dir: dir}.Lock(context.Background(), "shared")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintf(f, "start %d\n", pid)
		time.Sleep(200 * time.Microsecond) // widen the window an overlap needs
		fmt.Fprintf(f, "end %d\n", pid)
		unlock()
	}
}

// lockHold takes profile "shared"'s lock, says "locked", and holds it until
// its stdin closes.
func lockHold(dir string) {
	if _, err := (ProfileLocks{Dir: dir}).Lock(context.Background(), "shared"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
}
