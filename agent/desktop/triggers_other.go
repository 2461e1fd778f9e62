//go:build !linux

package desktop

import "context"

// WatchSystem has no resume or network signal to watch here; the Keeper
// still notices a suspend by the wall clock's jump when its timer fires.
func WatchSystem(context.Context, func()) {}
