package payloadcodec

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// Handler serves the codec's /encode and /decode endpoints (Temporal's codec
// server protocol) for the Web UI, which calls them from the operator's
// browser. Only the listed origins may call it (CORS), and when token is
// set the request needs it as a bearer token.
func Handler(c *Codec, allowedOrigins []string, token string) http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			if !slices.Contains(allowedOrigins, strings.TrimRight(origin, "/")) {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization,Content-Type,X-Namespace")
			w.Header().Set("Access-Control-Allow-Methods", "POST,OPTIONS")
			w.Header().Set("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if token != "" {
			scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if !strings.EqualFold(scheme, "bearer") || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
				return
			}
		}
		codec.ServeHTTP(w, r)
	})
}
