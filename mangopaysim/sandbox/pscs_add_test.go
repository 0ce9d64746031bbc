package sandbox_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

// Mangopay may add a PSC it finds missing to a validated main session: the
// user is verified only once that one is validated too.
func TestAddPsc(t *testing.T) {
	e := newEnv(t, fastSettings())
	userID, session := e.validatedBusiness("BUSINESS")
	first := e.pscs(session)[0]["Id"].(string)

	added, err := e.sim.AddPsc(session, sandbox.PscPerson{FirstName: "Ada", LastName: "Late"})
	require.NoError(t, err)
	require.Len(t, e.pscs(session), 2)
	assert.Contains(t, e.eventTypes(added), sandbox.EventPscPending)

	require.Equal(t, http.StatusOK, e.pscOutcome(first, "VALIDATED").status)
	assert.Equal(t, "LIGHT", e.kycLevel(userID), "the added PSC is not validated yet")
	require.Equal(t, http.StatusOK, e.pscOutcome(added, "VALIDATED").status)
	assert.Equal(t, "REGULAR", e.kycLevel(userID))

	_, err = e.sim.AddPsc("idnver_nope", sandbox.PscPerson{FirstName: "A", LastName: "B"})
	assert.ErrorIs(t, err, sandbox.ErrNotFound)
	_, err = e.sim.AddPsc(session, sandbox.PscPerson{})
	assert.ErrorIs(t, err, sandbox.ErrInvalidOutcome)
}
