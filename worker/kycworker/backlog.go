package kycworker

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/workflows"
)

// The task queue's backlog as Temporal reports it (DescribeTaskQueue with
// its statistics): the SDK's metrics show how long tasks waited once
// polled, not how many wait still.
const (
	MetricTaskQueueBacklog    = "kycflow_task_queue_backlog"
	MetricTaskQueueBacklogAge = "kycflow_task_queue_backlog_age_seconds"
)

// backlogEvery is how often the worker reads the backlog.
const backlogEvery = 30 * time.Second

// backlogGauges are the backlog's gauges, by task type (workflow, activity).
type backlogGauges struct {
	count, age *prometheus.GaugeVec
}

func newBacklogGauges(reg prometheus.Registerer) (*backlogGauges, error) {
	g := &backlogGauges{
		count: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricTaskQueueBacklog, Help: "Tasks waiting in the kyc-onboarding task queue, by type (Temporal's approximate count, read every 30 s).",
		}, []string{"type"}),
		age: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricTaskQueueBacklogAge, Help: "Age of the oldest task waiting in the kyc-onboarding task queue, by type (read every 30 s).",
		}, []string{"type"}),
	}
	for _, c := range []prometheus.Collector{g.count, g.age} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// refresh reads the backlog of both task types once.
func (g *backlogGauges) refresh(ctx context.Context, tc client.Client, ns string) error {
	for label, typ := range map[string]enumspb.TaskQueueType{"workflow": enumspb.TASK_QUEUE_TYPE_WORKFLOW, "activity": enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
		res, err := tc.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace: ns, TaskQueue: &taskqueuepb.TaskQueue{Name: workflows.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			TaskQueueType: typ, ReportStats: true,
		})
		if err != nil {
			return err
		}
		st := res.GetStats()
		g.count.WithLabelValues(label).Set(float64(st.GetApproximateBacklogCount()))
		g.age.WithLabelValues(label).Set(st.GetApproximateBacklogAge().AsDuration().Seconds())
	}
	return nil
}

// run refreshes the gauges every backlogEvery until ctx ends.
func (g *backlogGauges) run(ctx context.Context, tc client.Client, ns string, log *slog.Logger) {
	t := time.NewTicker(backlogEvery)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := g.refresh(cctx, tc, ns); err != nil && ctx.Err() == nil {
			log.Warn("read the task queue's backlog", "error", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
