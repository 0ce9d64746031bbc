// Command gen writes the configuration reference (docs/configuration.md)
// from the declarations in package config: `go generate ./config`, or
// `make config-docs`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kycflow/kycflow/config"
)

func main() {
	out := flag.String("out", config.DocPath, "file to write")
	flag.Parse()
	if err := os.WriteFile(*out, config.Markdown(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "config/gen:", err)
		os.Exit(1)
	}
}
