package activities

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every activity the worker registers from Activities has a priority of its
// own: one left out runs at background priority, behind the fleet's
// reconciliation, which once delayed PSC retries the platform waits on.
func TestEveryActivityHasAPriority(t *testing.T) {
	typ := reflect.TypeFor[*Activities]()
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		_, ok := priorityByKind[name]
		assert.True(t, ok, "activity %s has no priority in priorityByKind", name)
	}
	for name := range priorityByKind {
		_, ok := typ.MethodByName(name)
		assert.True(t, ok, "priorityByKind lists %s, which is not an activity", name)
	}
}
