package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/health"
)

func TestReadyz(t *testing.T) {
	up := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("dial tcp 10.0.0.7:6379: connection refused") }
	tests := []struct {
		name       string
		checks     []health.Check
		query      string
		wantStatus int
		want       map[string]any
	}{
		{"all up", []health.Check{{Name: "Redis", Run: up}, {Name: "Temporal", Run: up}}, "", http.StatusOK,
			map[string]any{"Redis": "ok", "Temporal": "ok"}},
		{"a required check down", []health.Check{{Name: "Redis", Run: down}, {Name: "Temporal", Run: up}}, "", http.StatusServiceUnavailable,
			map[string]any{"Redis": "unavailable", "Temporal": "ok"}},
		{"an optional check down", []health.Check{{Name: "Redis", Run: up}, {Name: "Mangopay", Optional: true, Run: down}}, "", http.StatusOK,
			map[string]any{"Redis": "ok", "Mangopay": "unavailable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := health.ReadyHandler(func() []health.Check { return tt.checks }, slog.New(slog.DiscardHandler))
			w := httptest.NewRecorder()
			h(w, httptest.NewRequest(http.MethodGet, "/readyz"+tt.query, nil))
			require.Equal(t, tt.wantStatus, w.Code)
			var got map[string]any
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, w.Body.String(), "refused", "no cause for the caller")
		})
	}
}

func TestReadyzVerboseListsEveryCheck(t *testing.T) {
	checks := []health.Check{
		{Name: "Redis", Run: func(context.Context) error { return nil }},
		{Name: "Mangopay", Optional: true, Run: func(context.Context) error { return errors.New("timeout") }},
	}
	w := httptest.NewRecorder()
	health.ReadyHandler(func() []health.Check { return checks }, slog.New(slog.DiscardHandler))(w, httptest.NewRequest(http.MethodGet, "/readyz?verbose", nil))
	require.Equal(t, http.StatusOK, w.Code)
	var got struct {
		Redis, Mangopay string
		Checks          []health.Result
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	require.Len(t, got.Checks, 2)
	assert.Equal(t, "Redis", got.Checks[0].Name)
	assert.Equal(t, health.StatusOK, got.Checks[0].Status)
	assert.False(t, got.Checks[0].Optional)
	assert.Equal(t, "Mangopay", got.Checks[1].Name)
	assert.Equal(t, health.StatusUnavailable, got.Checks[1].Status)
	assert.True(t, got.Checks[1].Optional)
}

func TestLivezChecksNothing(t *testing.T) {
	w := httptest.NewRecorder()
	health.LiveHandler(w, httptest.NewRequest(http.MethodGet, "/livez", nil))
	require.Equal(t, http.StatusOK, w.Code)
	body, _ := io.ReadAll(w.Body)
	assert.JSONEq(t, `{"Status":"ok"}`, string(body))
}

func TestReachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, health.Reachable("http://"+addr)(context.Background()))
	require.NoError(t, ln.Close())
	require.Error(t, health.Reachable("http://"+addr)(context.Background()), "nothing listens any more")
	require.Error(t, health.Reachable("not a url")(context.Background()))
}
