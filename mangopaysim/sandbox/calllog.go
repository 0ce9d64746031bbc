package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CallRecord is one API call as the simulator received it, for the load
// harness's rates and per-user counts: every call sent to the API counts,
// including those a fault or the rate limit answered (they were sent, and
// a call budget governs what is sent), token requests excluded.
type CallRecord struct {
	// At is the wall-clock time the call arrived, in Unix milliseconds
	// (not the simulated clock, which /_sim/clock/advance moves).
	At     int64  `json:"At"`
	Route  string `json:"Route"` // "GET /identity-verifications/{id}"; "" when no route matched
	UserID string `json:"UserId,omitempty"`
	Status int    `json:"Status"`
}

// maxCallLog bounds the call log; older records are dropped first and
// counted in CallLog.Dropped.
const maxCallLog = 1_000_000

// CallLog is the answer of GET /_sim/calls/log.
type CallLog struct {
	Calls []CallRecord `json:"Calls"`
	// Dropped is how many of the oldest records the bound pushed out.
	Dropped int `json:"Dropped"`
}

// Calls returns the call log from Unix millisecond since on.
func (s *Sandbox) Calls(since int64) CallLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := CallLog{Calls: []CallRecord{}, Dropped: s.callsDropped}
	for _, c := range s.callLog {
		if c.At >= since {
			out.Calls = append(out.Calls, c)
		}
	}
	return out
}

func (s *Sandbox) ctlCallLog(r *http.Request, _ params, _ []byte) (int, any) {
	var since int64
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return http.StatusBadRequest, map[string]string{"Message": "since must be Unix milliseconds, got " + strconv.Quote(v)}
		}
		since = n
	}
	return http.StatusOK, s.Calls(since)
}

// logCall records an API call once it is answered. The user it concerns
// is read from the path: the user's own routes, or the owner of the
// session or document named.
func (s *Sandbox) logCall(r *http.Request, at time.Time, status int) {
	segs := split(r.URL.Path)
	if len(segs) < 2 || (len(segs) == 3 && strings.EqualFold(segs[1], "oauth")) {
		return // a token request, or no ClientId
	}
	_, p, pattern, matched, _ := s.api.match(r.Method, "/"+strings.Join(segs[2:], "/"))
	rec := CallRecord{At: at.UnixMilli(), Status: status}
	if matched {
		rec.Route = r.Method + " " + pattern
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case p["userId"] != "":
		rec.UserID = p["userId"]
	case p["id"] != "" && strings.HasPrefix(pattern, "/identity-verifications/"):
		if ses, ok := s.st.sessions[p["id"]]; ok {
			rec.UserID = ses.UserID
		}
	case p["docId"] != "":
		if d, ok := s.st.docs[p["docId"]]; ok {
			rec.UserID = d.UserID
		}
	}
	s.callLog = append(s.callLog, rec)
	if len(s.callLog) > maxCallLog {
		// A tenth at a time, so the copy is rare.
		n := maxCallLog / 10
		s.callsDropped += n
		s.callLog = append(s.callLog[:0], s.callLog[n:]...)
	}
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
