package runs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestFreshPollersLeaveOutStoppedWorkers(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	seen := func(ago time.Duration) *taskqueuepb.PollerInfo {
		return &taskqueuepb.PollerInfo{Identity: ago.String(), LastAccessTime: timestamppb.New(now.Add(-ago))}
	}
	tests := []struct {
		name    string
		pollers []*taskqueuepb.PollerInfo
		want    int
	}{
		{"none", nil, 0},
		{"polling now and in a long poll", []*taskqueuepb.PollerInfo{seen(0), seen(59 * time.Second)}, 2},
		{"a worker stopped two minutes ago", []*taskqueuepb.PollerInfo{seen(time.Second), seen(2 * time.Minute)}, 1},
		{"at the bound", []*taskqueuepb.PollerInfo{seen(PollerFresh)}, 1},
		{"no access time: counted", []*taskqueuepb.PollerInfo{{Identity: "x"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, freshPollers(tt.pollers, now))
		})
	}
}
