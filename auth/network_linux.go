package auth

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// DetectNetworkType reports the kind of link that carries the default route,
// as the kernel describes it in procfs and sysfs.
func DetectNetworkType() NetworkType {
	return detectNetwork(os.DirFS("/"))
}

// detectNetwork works over root, which stands for "/", so that tests can
// build a fake procfs and sysfs.
func detectNetwork(root fs.FS) NetworkType {
	iface := defaultRouteInterface(root)
	if iface == "" {
		return NetworkOther
	}
	dir := "sys/class/net/" + iface
	if fi, err := fs.Stat(root, dir+"/wireless"); err == nil && fi.IsDir() {
		return NetworkWifi
	}
	if uevent, err := fs.ReadFile(root, dir+"/uevent"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(uevent))
		for sc.Scan() {
			switch strings.TrimSpace(sc.Text()) {
			case "DEVTYPE=wlan":
				return NetworkWifi
			case "DEVTYPE=wwan":
				return NetworkCellular
			}
		}
	}
	// ARPHRD_ETHER is 1. Wi-Fi shares it, which is why it is checked last.
	if t, err := fs.ReadFile(root, dir+"/type"); err == nil && strings.TrimSpace(string(t)) == "1" {
		return NetworkEthernet
	}
	return NetworkOther
}

// Route flags from <linux/route.h>.
const (
	rtfUp     = 0x1
	rtfReject = 0x200
)

// defaultRouteInterface returns the interface of the usable default route
// with the lowest metric, IPv4 first and IPv6 for IPv6-only hosts, or "" when
// there is none (offline).
func defaultRouteInterface(root fs.FS) string {
	if b, err := fs.ReadFile(root, "proc/net/route"); err == nil {
		// Iface Destination Gateway Flags RefCnt Use Metric Mask ...; the
		// numbers are hex except RefCnt, Use and Metric.
		if iface := bestRoute(string(b), 1, func(f []string) (string, uint64, bool) {
			if len(f) < 8 || f[1] != "00000000" || f[7] != "00000000" {
				return "", 0, false
			}
			flags, err1 := strconv.ParseUint(f[3], 16, 32)
			metric, err2 := strconv.ParseUint(f[6], 10, 32)
			return f[0], metric, err1 == nil && err2 == nil && flags&rtfUp != 0
		}); iface != "" {
			return iface
		}
	}
	b, err := fs.ReadFile(root, "proc/net/ipv6_route")
	if err != nil {
		return ""
	}
	// dest dest_plen src src_plen next_hop metric refcnt use flags iface,
	// all hex. The kernel lists unreachable defaults on lo; RTF_REJECT marks
	// them.
	return bestRoute(string(b), 0, func(f []string) (string, uint64, bool) {
		if len(f) < 10 || strings.Trim(f[0], "0") != "" || f[1] != "00" || f[9] == "lo" {
			return "", 0, false
		}
		metric, err1 := strconv.ParseUint(f[5], 16, 32)
		flags, err2 := strconv.ParseUint(f[8], 16, 32)
		return f[9], metric, err1 == nil && err2 == nil && flags&rtfUp != 0 && flags&rtfReject == 0
	})
}

// bestRoute picks the lowest-metric route that match accepts from a route
// table, skipping header lines.
func bestRoute(table string, header int, match func(fields []string) (iface string, metric uint64, ok bool)) string {
	best, bestMetric := "", uint64(0)
	for i, line := range strings.Split(table, "\n") {
		if i < header {
			continue
		}
		iface, metric, ok := match(strings.Fields(line))
		// An interface name with a slash would escape sys/class/net.
		if !ok || iface == "" || strings.ContainsAny(iface, "/") || iface == "." || iface == ".." {
			continue
		}
		if best == "" || metric < bestMetric {
			best, bestMetric = iface, metric
		}
	}
	return best
}
