package localapi

import (
	"os"
	"os/exec"
	"path/filepath"

	"github.com/tokentray/tokentray/store/privdir"
	"github.com/tokentray/tokentray/store/secretenv"
)

// StartDetached starts exe detached from this process (see detached), so
// it outlives the process that started it (the GUI starts the agent and
// then may close), with its output appended to LogPath.
func StartDetached(exe string, args ...string) error {
	if err := privdir.Ensure(filepath.Dir(LogPath())); err != nil {
		return err
	}
	log, err := os.OpenFile(LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND|privdir.NoFollow, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(exe, args...)
	// The passphrase this process took out of its environment goes to the
	// Tokentray process it starts, which needs it as much.
	cmd.Env = append(os.Environ(), secretenv.ForChild()...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}
