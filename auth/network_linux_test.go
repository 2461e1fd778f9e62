package auth

import (
	"os"
	"path/filepath"
	"testing"
)

const routeHeader = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

// fakeRoot builds a procfs and sysfs tree. ifaces maps an interface name to
// its files under /sys/class/net/NAME; a value of "" makes a directory.
func fakeRoot(t *testing.T, route, ipv6Route string, ifaces map[string]map[string]string) string {
	t.Helper()
	root := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if route != "" {
		write("proc/net/route", routeHeader+route)
	}
	if ipv6Route != "" {
		write("proc/net/ipv6_route", ipv6Route)
	}
	for iface, files := range ifaces {
		for name, data := range files {
			p := "sys/class/net/" + iface + "/" + name
			if data == "" {
				if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(p)), 0o755); err != nil {
					t.Fatal(err)
				}
				continue
			}
			write(p, data)
		}
	}
	return root
}

func TestDetectNetwork(t *testing.T) {
	t.Parallel()
	ether := map[string]string{"type": "1\n", "uevent": "INTERFACE=eth0\nIFINDEX=2\n"}
	wlanDir := map[string]string{"type": "1\n", "uevent": "INTERFACE=wlp2s0\n", "wireless": ""}
	wlanUevent := map[string]string{"type": "1\n", "uevent": "DEVTYPE=wlan\nINTERFACE=wlan0\n"}
	wwan := map[string]string{"type": "519\n", "uevent": "DEVTYPE=wwan\nINTERFACE=wwan0\n"}
	tun := map[string]string{"type": "65534\n", "uevent": "DEVTYPE=tun\n"}
	all := map[string]map[string]string{"eth0": ether, "wlp2s0": wlanDir, "wlan0": wlanUevent, "wwan0": wwan, "tun0": tun}

	route := func(iface, flags, metric string) string {
		return iface + "\t00000000\t0102A8C0\t" + flags + "\t0\t0\t" + metric + "\t00000000\t0\t0\t0\n"
	}
	subnet := func(iface string) string { // a non-default route
		return iface + "\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
	}
	v6 := func(iface, metric, flags string) string {
		return "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 " + metric + " 00000001 00000000 " + flags + " " + iface + "\n"
	}
	for _, tc := range []struct {
		name, route, v6 string
		want            NetworkType
	}{
		{"wifi via wireless dir", route("wlp2s0", "0003", "600"), "", NetworkWifi},
		{"wifi via DEVTYPE=wlan", route("wlan0", "0003", "600"), "", NetworkWifi},
		{"cellular via DEVTYPE=wwan", route("wwan0", "0003", "700"), "", NetworkCellular},
		{"ethernet via ARP type 1", route("eth0", "0003", "100"), "", NetworkEthernet},
		{"tunnel is other", route("tun0", "0003", "50"), "", NetworkOther},
		{"lowest metric wins", route("wlp2s0", "0003", "600") + route("eth0", "0003", "100"), "", NetworkEthernet},
		{"lowest metric wins, other order", route("eth0", "0003", "100") + route("wwan0", "0003", "20"), "", NetworkCellular},
		{"route that is down is skipped", route("eth0", "0002", "100") + route("wlan0", "0003", "600"), "", NetworkWifi},
		{"no default route", subnet("eth0"), "", NetworkOther},
		{"no route table", "", "", NetworkOther},
		{"default route to unknown interface", route("ghost0", "0003", "0"), "", NetworkOther},
		{"slash in name is ignored", route("../../x", "0003", "0"), "", NetworkOther},
		{"ipv6-only", subnet("eth0"), v6("lo", "ffffffff", "00200200") + v6("wlan0", "00000400", "00450003"), NetworkWifi},
		{"ipv6 unreachable only", "", v6("lo", "ffffffff", "00200200"), NetworkOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeRoot(t, tc.route, tc.v6, all)
			if got := detectNetwork(os.DirFS(root)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
