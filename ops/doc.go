// Package ops holds what operators load next to kycflow: the Prometheus
// alert rules (prometheus/), their promtool unit tests
// (prometheus/tests/) and the Grafana dashboards (grafana/). It has no
// code: its tests hold the rules to promtool, each alert to a test that
// makes it fire and one that keeps it quiet, and to its runbook section in
// docs/operations.md. That every metric they name is exported is checked
// by e2e, which runs the whole system.
package ops
