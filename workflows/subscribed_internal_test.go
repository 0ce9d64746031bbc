package workflows

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kycflow/kycflow/mangopay"
)

// TestEverySubscribedTypeIsRoutedAndHandled walks every event type kycflow
// subscribes to through the one classification the bridge, the workflow and
// the reconciliation share: the bridge routes by the resource a type names,
// the workflow dispatches by its topic. A type added to HookEventTypes that
// either side does not know fails here (the bridge's own walk,
// TestEverySubscribedTypeRoutesToItsUser, routes each through the index).
func TestEverySubscribedTypeIsRoutedAndHandled(t *testing.T) {
	handlers := (&onboarding{}).eventHandlers()
	for _, et := range HookEventTypes {
		t.Run(string(et), func(t *testing.T) {
			assert.NotEqual(t, mangopay.ResourceNone, et.Resource(), "the bridge cannot route it")
			assert.Contains(t, handlers, et.Topic(), "the workflow has no handler for its topic")
		})
	}
	assert.Len(t, handlers, 6, "one handler per topic but TopicNone")
	assert.NotContains(t, handlers, mangopay.TopicNone)
}
