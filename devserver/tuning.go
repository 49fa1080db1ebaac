// Package devserver runs a real Temporal server inside a Maestro process, for
// the all-in-one dev mode and for tests.
package devserver

import "go.temporal.io/server/common/dynamicconfig"

// DynamicConfig returns server settings tuned for a single-node server: the
// history service's queue processors poll up to 1,000 times a second instead
// of 20, which takes a one-activity workflow's latency from ~100 ms to ~20 ms
// on one history shard.
func DynamicConfig() dynamicconfig.StaticClient {
	fast := []dynamicconfig.ConstrainedValue{{Value: 1000}}
	return dynamicconfig.StaticClient{
		dynamicconfig.TransferProcessorMaxPollRPS.Key():   fast,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():      fast,
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key(): fast,
		dynamicconfig.OutboundProcessorMaxPollRPS.Key():   fast,
		// Search attributes added at start are visible at once.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
	}
}
