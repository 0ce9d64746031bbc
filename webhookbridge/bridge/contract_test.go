package bridge_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/kycflow/kycflow/webhookbridge/bridge"
)

// reportAPIContract fails the run when an exchange of the tests with an
// internal router disagreed with docs/openapi.yaml, and, when every test of
// the package ran (no -run, no -short, the dev server there), when an
// operation of the document was never exercised.
func reportAPIContract(code int) int {
	if bridge.APIContractErr != nil {
		fmt.Fprintf(os.Stderr, "API contract: %v\n", bridge.APIContractErr)
		return 1
	}
	c := bridge.APIContract
	if v := c.Violations(); len(v) > 0 {
		fmt.Fprintf(os.Stderr, "API contract: %d exchanges disagree with the document:\n", len(v))
		var unique []string
		count := map[string]int{}
		for _, s := range v {
			if count[s]++; count[s] == 1 {
				unique = append(unique, s)
			}
		}
		for _, s := range unique {
			fmt.Fprintf(os.Stderr, "  (%d×) %s\n", count[s], s)
		}
		code = 1
	}
	if !wholeRun() {
		return code
	}
	if missing := c.Unexercised(); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "API contract: operations of the document no test exercised: %v\n", missing)
		code = 1
	}
	if testing.Verbose() {
		fmt.Printf("API contract: operations exercised, with the statuses answered: %v\n", c.Exercised())
	}
	return code
}

// wholeRun reports whether every test of the package ran.
func wholeRun() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return !testing.Short() && shared.devErr == nil && shared.dev != nil
}
