package main

import (
	"context"
	"fmt"

	"github.com/tokentray/tokentray/profile"
	"github.com/tokentray/tokentray/store"
)

var removeCommand = command{
	name:     "remove",
	synopsis: "tokentray remove NAME",
	help: `Delete profile NAME from the config and every keychain entry it owns
(client secret, session token, uid signature, token record). A web grant profile's
refresh token is revoked at the server first, best effort: a server that
cannot be reached does not keep the profile. The identity flow has no
revocation, so its tokens stay valid until they expire. A running agent
is told to reload.`,
	run: runRemove,
}

func runRemove(ctx context.Context, args []string, std stdio) error {
	fs := newFlagSet("remove")
	name, rest, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", rest[0])}
	}
	path, err := store.DefaultPath()
	if err != nil {
		return err
	}
	removal, err := profile.Remove(ctx, path, openSecrets(), name, func(ctx context.Context) { reloadAgent(ctx, std.err) })
	if removal.NotRevoked != nil {
		fmt.Fprintf(std.err, "Could not revoke the tokens of %s (%v); removing the profile anyway.\n", name, removal.NotRevoked)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(std.err, "Removed profile %s and its keychain entries.\n", name)
	return nil
}
