package apicontract

import (
	"bytes"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Middleware checks every exchange of a gin router against the contract:
// it keeps a copy of the request body for the handler and of the answer,
// and checks both once the handler is done (Violations reports what
// disagreed). Tests put it in front of the routers they exercise.
func (ct *Contract) Middleware() gin.HandlerFunc { return ct.checkExchange }

func (ct *Contract) checkExchange(c *gin.Context) {
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
	_ = ct.Check(req, body, w.Status(), w.Header(), w.body.Bytes())
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
