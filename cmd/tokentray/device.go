package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

var deviceCommand = command{
	name:     "device",
	synopsis: "tokentray device [--json]",
	help: `Show this device's id (made once and kept for good), its device_info
(encoded as sent, and decoded) and the network type detected now.`,
	run: runDevice,
}

func runDevice(_ context.Context, args []string, std stdio) error {
	fs := newFlagSet("device")
	asJSON := fs.Bool("json", false, "print a JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	path, err := store.DefaultPath()
	if err != nil {
		return err
	}
	// Made and saved the first time it is asked for, under the config lock.
	deviceID, err := store.DeviceID(path)
	if err != nil {
		return err
	}
	info := auth.DetectDeviceInfo()
	network := auth.DetectNetworkType()
	if *asJSON {
		enc := json.NewEncoder(std.out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			DeviceID    string           `json:"device_id"`
			DeviceInfo  string           `json:"device_info"`
			Decoded     auth.DeviceInfo  `json:"device_info_decoded"`
			NetworkType auth.NetworkType `json:"network_type"`
		}{deviceID, info.Encode(), info, network})
	}
	decoded, err := json.Marshal(info)
	if err != nil {
		return err
	}
	fmt.Fprintf(std.out, "device id:    %s\n", deviceID)
	fmt.Fprintf(std.out, "device_info:  %s\n", info.Encode())
	fmt.Fprintf(std.out, "  decoded:    %s\n", decoded)
	fmt.Fprintf(std.out, "network type: %s\n", network)
	return nil
}
