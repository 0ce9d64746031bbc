package workflows_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/kycflow/kycflow/internal/apicontract"
)

// contract is docs/openapi.yaml, loaded once for the package's tests.
var contract struct {
	once sync.Once
	c    *apicontract.Contract
	err  error
}

// checkNotification validates a notification the workflow sent, as the
// platform sink received it, against its webhook in docs/openapi.yaml.
// The sink's handler runs outside the test's goroutine, so a disagreement
// is reported when the test ends.
func checkNotification(t *testing.T, r *http.Request, body []byte, eventType string) {
	contract.once.Do(func() { contract.c, contract.err = apicontract.LoadRepo() })
	err := contract.err
	if err == nil {
		err = contract.c.CheckNotification(r, body, eventType)
	}
	if err != nil {
		notificationErrs.Lock()
		notificationErrs.m[t] = append(notificationErrs.m[t], err.Error())
		notificationErrs.Unlock()
	}
}

var notificationErrs = struct {
	sync.Mutex
	m map[*testing.T][]string
}{m: map[*testing.T][]string{}}

// reportNotificationErrs fails t with the disagreements its sink saw.
func reportNotificationErrs(t *testing.T) {
	notificationErrs.Lock()
	errs := notificationErrs.m[t]
	delete(notificationErrs.m, t)
	notificationErrs.Unlock()
	for _, e := range errs {
		t.Errorf("notification: %s", e)
	}
}
