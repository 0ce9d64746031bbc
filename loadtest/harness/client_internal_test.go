package harness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An answer over the bound is an error that says so, not a document cut
// short (a 10,000-user wave's delivery log once failed to decode: the
// read stopped at 4 MiB).
func TestAnswerOverTheBoundIsAnError(t *testing.T) {
	defer func(was int64) { maxAnswer = was }(maxAnswer)
	maxAnswer = 1 << 10
	big := `["` + strings.Repeat("x", 2<<10) + `"]`
	small := `["` + strings.Repeat("x", 512) + `"]`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			_, _ = w.Write([]byte(big))
			return
		}
		_, _ = w.Write([]byte(small))
	}))
	defer srv.Close()

	var out []string
	err := call(context.Background(), http.MethodGet, srv.URL+"/big", "", nil, &out)
	require.Error(t, err)
	assert.ErrorIs(t, err, errPermanent)
	assert.Contains(t, err.Error(), "over 1024 bytes")

	require.NoError(t, call(context.Background(), http.MethodGet, srv.URL+"/small", "", nil, &out))
	assert.Len(t, out, 1)
}
