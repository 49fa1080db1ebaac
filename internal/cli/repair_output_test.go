package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/maestrohq/maestro/run"
)

func TestPrintNodesShowsRepairRounds(t *testing.T) {
	three := 3
	var b bytes.Buffer
	printNodes(&b, []run.NodeStatus{{
		ID: "test", Phase: "backend", Status: run.NodeRunning, Attempts: 2,
		Repairs: []run.RepairRound{
			{Round: 1, State: run.RepairUnfixed, ExitCode: &three, OutputTail: "FAIL x\nfixed.txt is missing\n",
				Commit: &run.Commit{SHA: "0123456789abcdef", Changed: true, Files: 1, Insertions: 2}, AgentOutput: "touched it"},
			{Round: 2, State: run.RepairRunning, ExitCode: &three, OutputTail: "fixed.txt is missing"},
			{Round: 3, State: run.RepairFailed, ExitCode: &three, Commit: nil, Error: "exit code 1: no key"},
		},
	}, {ID: "plain", Status: run.NodePending}})
	out := b.String()
	assert.Regexp(t, `(?m)^test +backend +running +2 `, out)
	assert.Regexp(t, `(?m)^  ↳ repair 1 +unfixed +after exit code 3: 0123456789ab \(1 files, \+2 -0\) touched it$`, out)
	assert.Regexp(t, `(?m)^  ↳ repair 2 +running +after exit code 3: fixed.txt is missing$`, out)
	assert.Regexp(t, `(?m)^  ↳ repair 3 +failed +after exit code 3: agent failed: exit code 1: no key$`, out)
	assert.Regexp(t, `(?m)^plain +- +pending`, out)
}
