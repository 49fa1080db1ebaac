package runs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/maestrohq/maestro/run"
)

func TestDiffReportsRepairRounds(t *testing.T) {
	now := time.Unix(1700000000, 0)
	started := now.Add(-time.Minute)
	round := func(k int, tail string) run.RepairRound {
		return run.RepairRound{Round: k, State: run.RepairRunning, OutputTail: tail}
	}
	pending := &run.Status{Nodes: []run.NodeStatus{{ID: "t", Status: run.NodePending}}}
	running := &run.Status{Nodes: []run.NodeStatus{{ID: "t", Status: run.NodeRunning, StartedAt: &started, Attempts: 1}}}
	repairing := &run.Status{Nodes: []run.NodeStatus{{ID: "t", Status: run.NodeRunning, StartedAt: &started, Attempts: 1,
		Repairs: []run.RepairRound{round(1, "boom")}}}}
	failed := &run.Status{Nodes: []run.NodeStatus{{ID: "t", Status: run.NodeFailed, StartedAt: &started, EndedAt: &now, Attempts: 3,
		Error: "exit code 1", Repairs: []run.RepairRound{round(1, "boom"), round(2, "again")}}}}

	evs := Diff(running, repairing, now)
	if assert.Len(t, evs, 1) {
		assert.Equal(t, Event{Type: EventNodeRepairing, Node: "t", NodeStatus: run.NodeRunning, Attempts: 1, Error: "boom", Round: 1, At: &now}, evs[0])
	}
	assert.Empty(t, Diff(repairing, repairing, now))

	// Started, repaired and failed between two looks: in that order.
	var types []string
	var rounds []int
	for _, ev := range Diff(pending, failed, now) {
		types = append(types, ev.Type)
		rounds = append(rounds, ev.Round)
	}
	assert.Equal(t, []string{EventNodeStarted, EventNodeRepairing, EventNodeRepairing, EventNodeFailed}, types)
	assert.Equal(t, []int{0, 1, 2, 0}, rounds)
}
