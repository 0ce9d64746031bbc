package bridge

import (
	"bytes"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/kycflow/kycflow/internal/apicontract"
)

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
		internalMiddleware = append(internalMiddleware, checkContract)
	}
}

// checkContract keeps a copy of the request body for the handler and of
// the answer, and checks both once the handler is done.
func checkContract(c *gin.Context) {
	req := c.Request
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		var rest io.Reader = bytes.NewReader(body)
		if err != nil {
			rest = io.MultiReader(rest, errReader{err}) // the handler sees the same failure
		}
		req.Body = io.NopCloser(rest)
	}
	w := &recordingWriter{ResponseWriter: c.Writer}
	c.Writer = w
	c.Next()
	_ = APIContract.Check(req, body, w.Status(), w.Header(), w.body.Bytes())
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// recordingWriter copies the answer's body as it is written.
type recordingWriter struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) WriteString(s string) (int, error) {
	w.body.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}
