// Command configwriter is the writer TestSaveSurvivesSIGKILL kills: it
// loads two configs and saves them to a path in turn, for ever, saying
// "ready" after the first save. It is built without the race detector, so
// that each of the test's 200 starts is cheap.
//
// Usage: configwriter PATH CONFIG-A CONFIG-B
package main

import (
	"fmt"
	"os"

	"github.com/tokentray/tokentray/store"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: configwriter PATH CONFIG-A CONFIG-B")
		os.Exit(2)
	}
	var cs [2]*store.Config
	for i, src := range os.Args[2:] {
		c, err := store.Load(src)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		cs[i] = c
	}
	for i := 0; ; i++ {
		if err := cs[i%2].Save(os.Args[1]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if i == 0 {
			fmt.Println("ready")
		}
	}
}
