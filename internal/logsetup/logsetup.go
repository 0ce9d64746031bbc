// Package logsetup builds the slog logger of kycflow's commands from the
// environment: LOG_FORMAT (json or text; text on a terminal, JSON otherwise,
// as in containers) and LOG_LEVEL (debug, info, warn, error).
package logsetup

import (
	"log/slog"
	"os"
	"strings"
)

// New returns the logger for a command writing to stderr.
func New(getenv func(string) string) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.TrimSpace(getenv("LOG_LEVEL")))); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	format := strings.ToLower(strings.TrimSpace(getenv("LOG_FORMAT")))
	if format == "" && isTerminal(os.Stderr) {
		format = "text"
	}
	if format == "text" {
		return slog.New(WithTrace(slog.NewTextHandler(os.Stderr, opts)))
	}
	return slog.New(WithTrace(slog.NewJSONHandler(os.Stderr, opts)))
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
