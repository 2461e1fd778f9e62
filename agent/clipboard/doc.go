// Package clipboard is the system clipboard as the agent owns it: a copy
// is marked as a secret where the platform has a way to say so, outlives
// the window, and is cleared again after a delay if it is still ours. On
// Linux it speaks X11 itself (github.com/jezek/xgb), with wl-copy on a
// Wayland session without X; on Windows it calls user32 itself, to add
// the formats that keep a copy out of clipboard history and cloud sync;
// on macOS it uses golang.design/x/clipboard.
//
// It knows nothing of tokens or profiles; only the agent imports it.
package clipboard
