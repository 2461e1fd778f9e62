package auth

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Interface types from ipifcons.h that x/sys/windows does not define.
const (
	ifTypeWWANPP  = 243 // GSM-based mobile broadband
	ifTypeWWANPP2 = 244 // CDMA-based mobile broadband
)

// DetectNetworkType reports the kind of adapter Windows would route a public
// address through. Asking for the route sends no packet.
func DetectNetworkType() NetworkType {
	var index uint32
	// 192.0.2.1 (TEST-NET-1) stands for "anywhere on the internet".
	if err := windows.GetBestInterfaceEx(&windows.SockaddrInet4{Addr: [4]byte{192, 0, 2, 1}}, &index); err != nil {
		return NetworkOther
	}
	switch adapterType(index) {
	case windows.IF_TYPE_IEEE80211:
		return NetworkWifi
	case windows.IF_TYPE_ETHERNET_CSMACD:
		return NetworkEthernet
	case ifTypeWWANPP, ifTypeWWANPP2:
		return NetworkCellular
	}
	return NetworkOther
}

// adapterType returns the IfType of the adapter with the given index, or 0
// when it cannot be found.
func adapterType(index uint32) uint32 {
	const flags = windows.GAA_FLAG_SKIP_UNICAST | windows.GAA_FLAG_SKIP_ANYCAST |
		windows.GAA_FLAG_SKIP_MULTICAST | windows.GAA_FLAG_SKIP_DNS_SERVER
	size := uint32(15 << 10) // Microsoft's suggested first try
	for range 3 {
		buf := make([]byte, size)
		first := (*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0]))
		err := windows.GetAdaptersAddresses(windows.AF_UNSPEC, flags, 0, first, &size)
		if errors.Is(err, windows.ERROR_BUFFER_OVERFLOW) {
			continue // size now holds what is needed; adapters may appear meanwhile
		}
		if err != nil {
			return 0
		}
		for a := first; a != nil; a = a.Next {
			if a.IfIndex == index {
				return a.IfType
			}
		}
		return 0
	}
	return 0
}
