package payloadcodec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/kycflow/kycflow/internal/tokens"
)

// MaxRequestBody caps a codec request: the Web UI sends the payloads of a
// few events at once, and Temporal limits a payload to 2 MiB.
const MaxRequestBody = 4 << 20

// MinTokenLength is the shortest CODEC_SERVER_TOKEN accepted.
const MinTokenLength = 16

// Handler serves the codec's /encode and /decode endpoints (Temporal's codec
// server protocol) for the Web UI, which calls them from the operator's
// browser, and for the Temporal CLI. It decrypts whatever it is sent, so
// every request needs token: as a bearer token (the CLI's --codec-auth), or
// as the first path segment, /<token>/decode (for a Web UI that sends no
// Authorization header: its codec endpoint is then
// http://host:port/codec/<token>). token may list several, comma-separated
// (CODEC_SERVER_TOKEN during a rotation: the new one first, the old one
// after it): any of them is accepted. An empty token refuses everything. Only
// the listed origins may call it from a browser (CORS, preflights checked),
// and bodies over MaxRequestBody get 413.
func Handler(c *Codec, allowedOrigins []string, token string) http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(c)
	accepted := tokens.Split(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin != "" && !slices.Contains(allowedOrigins, strings.TrimRight(origin, "/")) {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		if origin != "" {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
		}
		if r.Method == http.MethodOptions {
			preflight(w, r, origin)
			return
		}
		if len(accepted) == 0 {
			http.Error(w, "the codec server has no CODEC_SERVER_TOKEN and refuses every request", http.StatusServiceUnavailable)
			return
		}
		op, ok := authorize(r, accepted)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kycflow-codec"`)
			http.Error(w, "a valid codec token is required", http.StatusUnauthorized)
			return
		}
		if op != "/encode" && op != "/decode" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST, OPTIONS")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.ContentLength > MaxRequestBody {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			http.Error(w, "unreadable request body", http.StatusBadRequest)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.Body = op, io.NopCloser(bytes.NewReader(body))
		codec.ServeHTTP(w, r2)
	})
}

// authorize checks the bearer token or the path token against the
// accepted ones and returns the operation's path (/encode or /decode).
func authorize(r *http.Request, accepted []string) (string, bool) {
	path := r.URL.Path
	if scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "bearer") &&
		tokens.Match(got, accepted) >= 0 {
		return path, true
	}
	seg, rest, found := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if found && tokens.Match(seg, accepted) >= 0 {
		return "/" + rest, true
	}
	return "", false
}

// preflight answers a CORS preflight: only from an allowed origin, only
// for POST and the headers the Web UI sends.
func preflight(w http.ResponseWriter, r *http.Request, origin string) {
	if origin == "" || r.Header.Get("Access-Control-Request-Method") != http.MethodPost {
		http.Error(w, "not a CORS preflight for POST from an allowed origin", http.StatusForbidden)
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// ServerConfig is the configuration of the codec server running on its
// own listener (`webhookbridge codec`).
type ServerConfig struct {
	Addr    string   // CODEC_SERVER_ADDR
	Token   string   // CODEC_SERVER_TOKEN, required: one or more, comma-separated
	Origins []string // CODEC_ALLOWED_ORIGINS
}

// DefaultServerAddr is where `webhookbridge codec` listens by default.
const DefaultServerAddr = "127.0.0.1:8089"

// LoadServerConfig reads the codec server's settings through getenv.
func LoadServerConfig(getenv func(string) string) (ServerConfig, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := ServerConfig{Addr: get("CODEC_SERVER_ADDR", DefaultServerAddr), Token: get("CODEC_SERVER_TOKEN", "")}
	var errs []error
	origins, err := ParseOrigins(get("CODEC_ALLOWED_ORIGINS", "http://127.0.0.1:8233,http://localhost:8233"))
	c.Origins = origins
	errs = append(errs, err, CheckToken(c.Token))
	return c, errors.Join(errs...)
}

// CheckToken rejects a missing CODEC_SERVER_TOKEN, or one of its
// comma-separated values that is short or holds a character a URL path
// segment cannot carry as is (without quoting it).
func CheckToken(token string) error {
	list := tokens.Split(token)
	if len(list) == 0 {
		return errors.New("CODEC_SERVER_TOKEN is required to serve the codec (it decrypts whatever it is sent; e.g. openssl rand -hex 32)")
	}
	for i, t := range list {
		if len(t) < MinTokenLength || strings.ContainsAny(t, "/ ?#") {
			return fmt.Errorf("CODEC_SERVER_TOKEN: token %d of %d must be at least %d characters, without / ? # or spaces (several are separated by commas)",
				i+1, len(list), MinTokenLength)
		}
	}
	return nil
}

// ParseOrigins reads a comma-separated list of web origins
// (scheme://host[:port]), as CODEC_ALLOWED_ORIGINS holds.
func ParseOrigins(v string) ([]string, error) {
	var out []string
	for o := range strings.SplitSeq(v, ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			return nil, fmt.Errorf("CODEC_ALLOWED_ORIGINS: %q is not an origin (scheme://host[:port])", o)
		}
		out = append(out, o)
	}
	return out, nil
}

// NewServer is the codec server on its own listener, with timeouts.
func NewServer(c *Codec, cfg ServerConfig) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/codec/", http.StripPrefix("/codec", Handler(c, cfg.Origins, cfg.Token)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return &http.Server{Addr: cfg.Addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 90 * time.Second, MaxHeaderBytes: 16 << 10}
}
