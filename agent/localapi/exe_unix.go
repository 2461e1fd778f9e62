//go:build !windows

package localapi

const exeSuffix = ""
