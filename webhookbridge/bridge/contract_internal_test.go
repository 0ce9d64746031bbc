package bridge

import "github.com/kycflow/kycflow/internal/apicontract"

// APIContract is docs/openapi.yaml, against which every exchange the
// package's tests have with an internal router is checked (TestMain reports
// what disagrees, and which operations no test reached). APIContractErr is
// why it could not be loaded.
var (
	APIContract    *apicontract.Contract
	APIContractErr error
)

func init() {
	APIContract, APIContractErr = apicontract.LoadRepo()
	if APIContractErr == nil {
		internalMiddleware = append(internalMiddleware, APIContract.Middleware())
	}
}
