// Package config is kycflow's configuration: every environment variable a
// kycflow command reads is declared once here (Vars), with its type, its
// default, its development default (KYCFLOW_DEV=1), the values it allows,
// whether it is a secret, the processes that read it and what it means.
//
// Each command loads its variables with Load, which reports every error at
// once, each naming its variable, and refuses unsafe settings (rules.go);
// the packages that parse a setting further (kycworker, bridge, callbudget,
// ...) are handed the effective values through Env.Get, never os.Getenv.
// docs/configuration.md is generated from the declarations (go generate
// ./config), and a test fails when the committed file differs.
package config

//go:generate go run ./gen -out ../docs/configuration.md

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Process is a kycflow command that reads the environment.
type Process string

// kycflow's commands.
const (
	Worker   Process = "worker"
	Bridge   Process = "webhookbridge"
	Starter  Process = "starter"
	Devstack Process = "devstack"
	Sim      Process = "mangopaysim"
	// Codec is `webhookbridge codec`: the codec server alone, which needs
	// only the payload key and its own settings.
	Codec Process = "webhookbridge codec"
	// Admin is `worker register-search-attributes`: a Temporal connection
	// and nothing else.
	Admin Process = "worker register-search-attributes"
	// Notifications is `worker notifications`: lists and re-sends held
	// platform notifications (Temporal, the payload key, the platform's
	// endpoint and secrets).
	Notifications Process = "worker notifications"
	// Parked is `webhookbridge dead-letters`, `unrouted` and `held`: they
	// read and write Redis streams and nothing else.
	Parked Process = "webhookbridge dead-letters, unrouted, held"
)

// Processes lists every command, in the order the docs show them.
var Processes = []Process{Worker, Admin, Notifications, Bridge, Codec, Parked, Starter, Devstack, Sim}

// Var declares one environment variable.
type Var struct {
	Name string
	// Type is what the value is, as the docs show it (string, bool, int,
	// number, duration, host:port, URL, list, enum).
	Type string
	// Default applies when the variable is unset or blank.
	Default string
	// DevDefault, when not empty, replaces Default under KYCFLOW_DEV=1.
	DevDefault string
	// ProcessDefault overrides Default for one process (the starter logs
	// only warnings; the simulator accepts the development credentials).
	ProcessDefault map[Process]string
	// Computed, when not empty, says how the reader computes the default
	// (the host name, the listener's address): Default is then empty.
	Computed string
	// Allowed is the range or the set of values, in words.
	Allowed string
	// Secret values are never printed.
	Secret bool
	// Required outside KYCFLOW_DEV=1 by the processes in RequiredBy.
	RequiredBy []Process
	// Readers are the processes that read the variable.
	Readers []Process
	// Meaning is one line on what it does.
	Meaning string
	// Listener marks a listen address: KYCFLOW_DEV=1 keeps it on loopback.
	Listener bool
	// check validates a non-empty value; nil accepts anything.
	check func(string) error
	// redact, when set, prints a non-secret value that may hold a secret
	// (a URL's password).
	redact func(string) string
}

// defaultFor is the default of v for process p.
func (v *Var) defaultFor(p Process, dev bool) string {
	if d, ok := v.ProcessDefault[p]; ok {
		return d
	}
	if dev && v.DevDefault != "" {
		return v.DevDefault
	}
	return v.Default
}

// ReadBy reports whether process p reads v.
func (v *Var) ReadBy(p Process) bool { return slices.Contains(v.Readers, p) }

// Lookup returns the declaration of name.
func Lookup(name string) (*Var, bool) {
	for i := range Vars {
		if Vars[i].Name == name {
			return &Vars[i], true
		}
	}
	return nil, false
}

// Source says where an effective value came from.
type Source string

// The sources of a value.
const (
	FromEnv        Source = "environment"
	FromDefault    Source = "default"
	FromDevDefault Source = "development default"
	Unset          Source = "unset"
)

// Env is the effective configuration of one process: each variable it
// reads, set or defaulted.
type Env struct {
	Process Process
	// Dev is the development switch (KYCFLOW_DEV=1).
	Dev    bool
	values map[string]string
	source map[string]Source
}

// Get returns the effective value of name: what the environment says, else
// its default. A variable the process does not declare reads as empty, so
// that a loader cannot reach around the declarations.
func (e *Env) Get(name string) string { return e.values[name] }

// Source says where the value of name came from.
func (e *Env) Source(name string) Source { return e.source[name] }

// Set overrides the value of name (tests, and the dev stack's own choices).
func (e *Env) Set(name, value string) {
	e.values[name], e.source[name] = value, FromEnv
}

// Error is one configuration error; it always names its variable.
type Error struct {
	Name string
	Err  error
}

func (e *Error) Error() string { return e.Name + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Load reads the variables process p reads through getenv (os.Getenv),
// applies their defaults, checks each, then the rules that keep an unsafe
// setting from starting (rules.go). It returns every error at once, joined;
// the Env is usable for printing even then.
func Load(p Process, getenv func(string) string) (*Env, error) {
	e := &Env{Process: p, values: map[string]string{}, source: map[string]Source{}}
	var errs []error
	dev, err := parseDev(getenv(DevSwitch))
	if err != nil {
		errs = append(errs, &Error{DevSwitch, err})
	}
	e.Dev = dev
	for i := range Vars {
		v := &Vars[i]
		if !v.ReadBy(p) {
			continue
		}
		raw := strings.TrimSpace(getenv(v.Name))
		switch {
		case raw != "":
			e.values[v.Name], e.source[v.Name] = raw, FromEnv
		case v.defaultFor(p, dev) != "":
			e.values[v.Name], e.source[v.Name] = v.defaultFor(p, dev), FromDefault
			if dev && v.DevDefault != "" && v.ProcessDefault[p] == "" {
				e.source[v.Name] = FromDevDefault
			}
		default:
			e.source[v.Name] = Unset
		}
		if val := e.values[v.Name]; val != "" && v.check != nil && v.Name != DevSwitch {
			if err := v.check(val); err != nil {
				errs = append(errs, &Error{v.Name, err})
			}
		}
	}
	errs = append(errs, rules(e)...)
	return e, errors.Join(errs...)
}

// Merge joins the errors of Load with those the parsing packages return for
// the same environment, dropping a package's error about a variable Load
// already reported, so that each command reports every problem once.
func Merge(loadErr error, more ...error) error {
	named := map[string]bool{}
	var out []error
	for _, err := range flatten(loadErr) {
		var ce *Error
		if errors.As(err, &ce) {
			named[ce.Name] = true
		}
		out = append(out, err)
	}
	for _, err := range flatten(errors.Join(more...)) {
		if !mentionsAny(err.Error(), named) {
			out = append(out, err)
		}
	}
	return errors.Join(out...)
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func mentionsAny(msg string, names map[string]bool) bool {
	for n := range names {
		if strings.Contains(msg, n) {
			return true
		}
	}
	return false
}

// Redacted is what Print shows for a secret that is set.
const Redacted = "<redacted>"

// Print writes the effective configuration, one variable a line with where
// its value came from; secrets are redacted.
func (e *Env) Print(w io.Writer) error {
	mode := ", production mode"
	switch v, _ := Lookup(DevSwitch); {
	case !v.ReadBy(e.Process):
		mode = ""
	case e.Dev:
		mode = ", development mode (" + DevSwitch + "=1)"
	}
	fmt.Fprintf(w, "# %s configuration%s\n", e.Process, mode)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i := range Vars {
		v := &Vars[i]
		if !v.ReadBy(e.Process) {
			continue
		}
		val, src := e.values[v.Name], e.source[v.Name]
		switch {
		case v.Name == DevSwitch:
			val, src = map[bool]string{true: "1", false: "0"}[e.Dev], FromEnv
		case v.Secret && val != "":
			val = Redacted
		case v.redact != nil && val != "":
			val = v.redact(val)
		}
		if src == Unset && v.Computed != "" {
			src = Source("computed: " + v.Computed)
		}
		fmt.Fprintf(tw, "%s=%s\t# %s\n", v.Name, val, src)
	}
	return tw.Flush()
}

// PrintFlag is the argument every command takes to print its effective
// configuration and exit.
const PrintFlag = "--print-config"

// WantsPrint reports whether args ask for the configuration to be printed
// (--print-config or -print-config, anywhere before a bare "--").
func WantsPrint(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == PrintFlag || a == "-print-config" {
			return true
		}
	}
	return false
}

// PrintAndExit is what a command does on --print-config: print the
// configuration to out, then the errors, if any, to errOut. It returns the
// exit code: 0 when the configuration is valid, 2 otherwise.
func PrintAndExit(e *Env, loadErr error, out, errOut io.Writer) int {
	if err := e.Print(out); err != nil {
		fmt.Fprintln(errOut, err)
		return 1
	}
	if loadErr != nil {
		fmt.Fprintf(errOut, "%s: invalid configuration:\n%v\n", e.Process, loadErr)
		return 2
	}
	return 0
}
