package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Defaults for the two DeviceInfo fields a profile may override. The identity
// API treats Tokentray like a desktop browser, so these name one.
const (
	DefaultDeviceModel   = "desktop"
	DefaultDeviceVersion = "Chrome"
)

// DeviceInfo describes the installation to the identity API. The field order
// is part of the protocol: Encode writes the keys in exactly this order.
type DeviceInfo struct {
	Model     string `json:"model"`
	Version   string `json:"version"`
	OSName    string `json:"osName"`
	OSVersion string `json:"osVersion"`
}

// deviceInfoKeys are the JSON keys of DeviceInfo, in protocol order.
var deviceInfoKeys = []string{"model", "version", "osName", "osVersion"}

// Encode returns the deviceInfo request field: standard base64, with
// padding, of compact JSON. HTML escaping is off so that a value such as
// "A&B" is sent as written rather than as "A\u0026B".
func (d DeviceInfo) Encode() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	// Encoding a struct of four strings cannot fail.
	_ = enc.Encode(d)
	return base64.StdEncoding.EncodeToString(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// DecodeDeviceInfo parses a deviceInfo field as Encode writes it. It is
// strict, so that a fake server catches a client that drifts from the
// protocol: every one of the four keys must be present as a string, and no
// other key may appear.
func DecodeDeviceInfo(s string) (DeviceInfo, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("deviceInfo is not standard base64: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return DeviceInfo{}, fmt.Errorf("deviceInfo is not a JSON object: %w", err)
	}
	var unknown []string
	for k := range fields {
		if !slices.Contains(deviceInfoKeys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return DeviceInfo{}, fmt.Errorf("deviceInfo has unknown keys %s", strings.Join(unknown, ", "))
	}
	var missing []string
	values := make([]string, len(deviceInfoKeys))
	for i, k := range deviceInfoKeys {
		v, ok := fields[k]
		if !ok {
			missing = append(missing, k)
			continue
		}
		if err := json.Unmarshal(v, &values[i]); err != nil || bytes.Equal(v, []byte("null")) {
			return DeviceInfo{}, fmt.Errorf("deviceInfo key %s is not a string", k)
		}
	}
	if len(missing) > 0 {
		return DeviceInfo{}, fmt.Errorf("deviceInfo lacks keys %s", strings.Join(missing, ", "))
	}
	return DeviceInfo{Model: values[0], Version: values[1], OSName: values[2], OSVersion: values[3]}, nil
}

// DetectDeviceInfo describes this machine with the default model and version
// and the operating system's name and version as the identity API spells
// them ("Windows" 10/11, "Mac OS" 14.5, "Linux" 24.04).
func DetectDeviceInfo() DeviceInfo {
	name, version := detectOS()
	return DeviceInfo{Model: DefaultDeviceModel, Version: DefaultDeviceVersion, OSName: name, OSVersion: version}
}

// NetworkType is the networkType request field: the kind of link that
// carries the default route.
type NetworkType string

// The network types the identity API knows.
const (
	NetworkOther    NetworkType = "other"
	NetworkWifi     NetworkType = "wifi"
	NetworkEthernet NetworkType = "ethernet"
	NetworkCellular NetworkType = "cellular"
)

// NetworkAuto is the Device.Network setting that detects the network type at
// request time instead of pinning one.
const NetworkAuto = "auto"

var networkChoices = []string{NetworkAuto, string(NetworkOther), string(NetworkWifi), string(NetworkEthernet), string(NetworkCellular)}

// ParseNetwork validates a profile's network setting and returns its
// canonical form: NetworkAuto for "" or "auto", else one of the four types.
// Case and surrounding spaces are forgiven because people type this.
func ParseNetwork(s string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "" {
		return NetworkAuto, nil
	}
	if slices.Contains(networkChoices, v) {
		return v, nil
	}
	return "", fmt.Errorf("network %q is not one of %s", s, strings.Join(networkChoices, ", "))
}

// Device is what the identity flow says about the installation it runs on.
type Device struct {
	// ID is the installation's UUID (see NewDeviceID). The store keeps it
	// for good: the API ties tokens to it, so it must survive restarts and
	// upgrades and be shared by all profiles.
	ID   string
	Info DeviceInfo
	// Network is NetworkAuto or "" to detect the type at each request, or
	// one of the NetworkType values to pin it.
	Network string
}

// NetworkType returns the pinned network type, or detects it now when the
// setting is automatic. The network may change between two requests, which
// is why detection is not done once.
func (d Device) NetworkType() NetworkType {
	if d.Network == "" || d.Network == NetworkAuto {
		return DetectNetworkType()
	}
	return NetworkType(d.Network)
}

// NewDeviceID returns a fresh installation ID, a random UUID.
func NewDeviceID() string {
	return uuid.NewString()
}
