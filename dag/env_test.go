package dag

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestModeFromEnv(t *testing.T) {
	tests := []struct {
		name          string
		dag, parallel string // "" is unset
		want          Mode
		wantErr       string // the variable the error must name
	}{
		{name: "both unset", want: ModeLinear},
		{name: "DAG on, parallel unset", dag: "true", want: ModeDAGLinear},
		{name: "DAG on, parallel off", dag: "true", parallel: "false", want: ModeDAGLinear},
		{name: "both on", dag: "true", parallel: "true", want: ModeDAGParallel},
		{name: "DAG off, parallel on", dag: "false", parallel: "true", want: ModeLinear},
		{name: "DAG unset, parallel on", parallel: "true", want: ModeLinear},
		{name: "both off", dag: "false", parallel: "false", want: ModeLinear},
		// strconv.ParseBool spellings are accepted (the CLI tests rely on "1").
		{name: "1 and TRUE", dag: "1", parallel: "TRUE", want: ModeDAGParallel},
		{name: "t and 0", dag: "t", parallel: "0", want: ModeDAGLinear},
		{name: "DAG yes", dag: "yes", wantErr: EnvEnableDAG},
		{name: "DAG sometimes", dag: "sometimes", parallel: "true", wantErr: EnvEnableDAG},
		{name: "DAG with blank space", dag: " true", wantErr: EnvEnableDAG},
		{name: "parallel on", dag: "true", parallel: "on", wantErr: EnvEnableParallel},
		{name: "parallel invalid while DAG is off", dag: "false", parallel: "yes please", wantErr: EnvEnableParallel},
		{name: "both invalid names the first", dag: "y", parallel: "n", wantErr: EnvEnableDAG},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			if tt.dag != "" {
				env[EnvEnableDAG] = tt.dag
			}
			if tt.parallel != "" {
				env[EnvEnableParallel] = tt.parallel
			}
			getenv := func(k string) string { return env[k] }
			got, err := ModeFromEnv(getenv)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), "want true or false")
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Equal(t, "MAESTRO_ENABLE_DAG_EXECUTION", EnvEnableDAG)
	assert.Equal(t, "MAESTRO_ENABLE_PARALLEL_EXECUTION", EnvEnableParallel)
}
