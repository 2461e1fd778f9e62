package main

import (
	"fmt"
	"os"
	"unicode/utf16"
)

// forwardedSignals are those exec passes on to its child; Windows has only
// the interrupt.
var forwardedSignals = []os.Signal{os.Interrupt}

// maxEnvValue is the most UTF-16 characters a Windows environment variable
// holds; a longer value reaches the child cut short.
const maxEnvValue = 32767

// fitsEnvironment refuses a token too long for TOKENTRAY_TOKEN on Windows,
// rather than handing the command a token cut short.
func fitsEnvironment(token string) error {
	if n := len(utf16.Encode([]rune(token))); n > maxEnvValue {
		return fmt.Errorf("the token has %d characters, more than the %d Windows allows in an environment variable: have the command read `tokentray token NAME` instead", n, maxEnvValue)
	}
	return nil
}
