package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBenchQuickPrintsTheTables(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server and runs a few hundred workflows")
	}
	r := runCLI(t, nil, "bench", "--quick")
	assert.Equal(t, exitOK, r.code, r.stderr)
	for _, want := range []string{"## Results", "maestro bench --quick", "| SDLC-7 latency p50", "| Throughput, 10 concurrent", "| Per step, 10-node chain", "| Uneven DAG", "| 100 |", "| 500 |"} {
		assert.Contains(t, r.stdout, want)
	}
	assert.Contains(t, r.stderr, "bench: scale 500 nodes")
}
