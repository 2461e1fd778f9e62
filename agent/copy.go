package agent

import (
	"context"

	"github.com/tokentray/tokentray/agent/access"
	"github.com/tokentray/tokentray/agent/clipboard"
	"github.com/tokentray/tokentray/auth"
)

// copyToken puts a valid access token of profile on the clipboard.
func copyToken(ctx context.Context, tokens *Tokens, clip *clipboard.Clipboard, profile string) (auth.Token, error) {
	return copyAs(ctx, tokens, clip, profile, false)
}

// copyHeader puts the line "Authorization: Bearer …" with a valid access
// token of profile on the clipboard, as `tokentray token --header` prints it.
func copyHeader(ctx context.Context, tokens *Tokens, clip *clipboard.Clipboard, profile string) (auth.Token, error) {
	return copyAs(ctx, tokens, clip, profile, true)
}

// copyAs copies the token, or with header its header line. The copy is
// cleared after the delay in the settings, read now so that a change made
// in the window applies to the next copy.
func copyAs(ctx context.Context, tokens *Tokens, clip *clipboard.Clipboard, profile string, header bool) (auth.Token, error) {
	tok, err := tokens.Token(ctx, profile)
	if err != nil {
		return auth.Token{}, err
	}
	text := tok.AccessToken
	if header {
		text = "Authorization: Bearer " + tok.AccessToken
	}
	if err := clip.Write(text, tokens.Settings().ClipboardClear()); err != nil {
		return tok, err
	}
	// From the tray, whoever pastes is unknown: the record has no process.
	tokens.Record(profile, access.ChannelCopy, callerPID(ctx))
	return tok, nil
}
