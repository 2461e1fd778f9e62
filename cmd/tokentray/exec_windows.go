package main

import "os"

// forwardedSignals are those exec passes on to its child; Windows has only
// the interrupt.
var forwardedSignals = []os.Signal{os.Interrupt}
