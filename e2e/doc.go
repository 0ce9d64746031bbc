// Package e2e holds kycflow's end-to-end tests. They start the whole system
// in-process with devstack/stack, wired as in production: a real Temporal dev
// server (the Temporal CLI that `make temporal-cli` installs, or the one
// $TEMPORAL_CLI names), a real Redis (REDIS_URL, else the one on
// 127.0.0.1:6379, else an embedded one), the Mangopay simulator, the worker,
// the webhook bridge with its hooks registered at the simulator, and a
// stand-in platform receiving kycflow's notifications.
//
// Each scenario drives one Mangopay user through public interfaces only: the
// platform API, the hosted verification page, the simulator's control API
// and Mangopay API, and the Temporal client. They run with `make test`, or
// alone with
//
//	go test -race -count=1 -v ./e2e/
//
// and are skipped under -short or when the Temporal CLI is not installed.
//
// The package has no code of its own: everything is in its _test.go files.
package e2e
