//go:build !windows

package agent

const exeSuffix = ""
