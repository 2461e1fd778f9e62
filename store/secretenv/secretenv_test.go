package secretenv

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Take removes the variable from the environment, so a child started the
// ordinary way does not inherit it, and keeps it for Lookup and for the
// Tokentray processes started with ForChild.
func TestTakeRemovesFromChildren(t *testing.T) {
	const name, value = "TOKENTRAY_TEST_TAKEN", "taken passphrase"
	t.Setenv(name, value)
	if got := Take(name); got != value {
		t.Fatalf("Take = %q", got)
	}
	if _, ok := os.LookupEnv(name); ok {
		t.Error("the variable is still in the environment")
	}
	printEnv := exec.Command("env")
	if runtime.GOOS == "windows" {
		printEnv = exec.Command("cmd", "/c", "set")
	}
	out, err := printEnv.Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), value) {
		t.Error("a child inherited the passphrase")
	}
	if got := Lookup(name); got != value {
		t.Errorf("Lookup after Take = %q", got)
	}
	if got := Take(name); got != value {
		t.Errorf("a second Take = %q", got)
	}
	if !slices.Contains(ForChild(), name+"="+value) {
		t.Errorf("ForChild = %q", ForChild())
	}
}
