package config

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// load loads env without reading a temporal.toml of the machine's.
func load(t *testing.T, env MapEnv) (Config, error) {
	t.Helper()
	full := MapEnv{"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "absent.toml"), "HOME": "/home/ana"}
	for k, v := range env {
		full[k] = v
	}
	return Load(full)
}

func TestDefaultMode(t *testing.T) {
	tests := []struct {
		name          string
		dag, parallel string // "" is unset
		want          string
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
			env := MapEnv{}
			if tt.dag != "" {
				env[EnvEnableDAG] = tt.dag
			}
			if tt.parallel != "" {
				env[EnvEnableParallel] = tt.parallel
			}
			got, err := load(t, env)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), "want true or false")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.DefaultMode)
		})
	}
	assert.Equal(t, "MAESTRO_ENABLE_DAG_EXECUTION", EnvEnableDAG)
	assert.Equal(t, "MAESTRO_ENABLE_PARALLEL_EXECUTION", EnvEnableParallel)
}

func TestLoadDefaults(t *testing.T) {
	c, err := load(t, nil)
	require.NoError(t, err)
	assert.Equal(t, "localhost:7233", c.Client.HostPort)
	assert.Equal(t, "default", c.Client.Namespace)
	assert.Equal(t, DefaultTaskQueue, c.TaskQueue)
	assert.Equal(t, DefaultMetricsAddr, c.MetricsAddr)
	assert.Equal(t, "/home/ana/.local/share/maestro", c.Dev.DataDir)
	assert.Equal(t, "/home/ana/.local/share/maestro/artifacts", c.ArtifactDir, "artifacts live in the data directory, wherever a command runs")
	assert.Equal(t, DefaultAPIAddr, c.API.Addr)
	assert.Equal(t, float64(DefaultAPIRateLimit), c.API.RateLimit)
	assert.Equal(t, DefaultTemporalListen, c.Dev.TemporalAddr)
	assert.Equal(t, DefaultUIListen, c.Dev.UIAddr)
	assert.Nil(t, c.Log.Level)
	assert.Equal(t, slog.LevelWarn, c.Log.LevelOr(slog.LevelWarn))
}

func TestLoadReadsEveryVariable(t *testing.T) {
	c, err := load(t, MapEnv{
		EnvTaskQueue:      " sdlc ",
		EnvLogLevel:       "debug",
		EnvLogFormat:      "JSON",
		EnvMetricsAddr:    "",
		EnvDataDir:        "/srv/maestro",
		EnvAgentProvider:  "Anthropic",
		EnvAgentModel:     "claude-x",
		EnvAgentMaxTokens: "900",
		EnvAgentCommand:   "claude -p",
		EnvAPIAddr:        "0.0.0.0:9000",
		EnvAPIToken:       "s3cret",
		EnvAPICORSOrigins: "https://a.example, ,https://b.example",
		EnvAPIRateLimit:   "0",
		EnvUIListen:       "",
		EnvTemporalUIURL:  "https://temporal.example:8233/",
		"XDG_DATA_HOME":   "/xdg",
	})
	require.NoError(t, err)
	assert.Equal(t, "sdlc", c.TaskQueue)
	assert.Equal(t, slog.LevelDebug, c.Log.LevelOr(slog.LevelWarn))
	assert.True(t, c.Log.JSON)
	assert.Empty(t, c.MetricsAddr, "set but empty disables metrics")
	assert.Equal(t, "/srv/maestro", c.Dev.DataDir)
	assert.Equal(t, "/srv/maestro/artifacts", c.ArtifactDir)
	assert.Equal(t, Agent{Provider: "anthropic", Model: "claude-x", MaxTokens: 900, Command: []string{"claude", "-p"}}, c.Agent)
	assert.Equal(t, API{Addr: "0.0.0.0:9000", Token: "s3cret", CORSOrigins: []string{"https://a.example", "https://b.example"}, RateLimit: -1,
		TemporalUI: "https://temporal.example:8233"}, c.API)
	assert.Empty(t, c.Dev.UIAddr, "set but empty disables the Web UI")
	eff := c.Effective(MapEnv{})
	assert.True(t, eff.APITokenSet)
	assert.NotContains(t, eff.APIAddr+eff.AgentModel, "s3cret")
}

func TestLoadReportsEveryBadVariable(t *testing.T) {
	_, err := load(t, MapEnv{
		EnvLogLevel:       "loud",
		EnvAgentMaxTokens: "-3",
		EnvAPIRateLimit:   "fast",
		EnvEnableDAG:      "maybe",
		EnvTemporalUIURL:  "localhost:8233",
	})
	require.Error(t, err)
	for _, name := range []string{EnvLogLevel, EnvAgentMaxTokens, EnvAPIRateLimit, EnvEnableDAG, EnvTemporalUIURL} {
		assert.Contains(t, err.Error(), name)
	}
}

func TestLoadTemplateLimits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      MapEnv
		maxBytes int
		timeout  time.Duration
		bad      []string // variables the error must name
	}{
		{"defaults", nil, DefaultTemplateMaxBytes, DefaultTemplateTimeout, nil},
		{"set", MapEnv{EnvTemplateMaxBytes: " 4096 ", EnvTemplateTimeout: "250ms"}, 4096, 250 * time.Millisecond, nil},
		{"blank is unset", MapEnv{EnvTemplateMaxBytes: " ", EnvTemplateTimeout: ""}, DefaultTemplateMaxBytes, DefaultTemplateTimeout, nil},
		{"malformed", MapEnv{EnvTemplateMaxBytes: "1MB", EnvTemplateTimeout: "5"}, 0, 0, []string{EnvTemplateMaxBytes, EnvTemplateTimeout}},
		{"not positive", MapEnv{EnvTemplateMaxBytes: "0", EnvTemplateTimeout: "-1s"}, 0, 0, []string{EnvTemplateMaxBytes, EnvTemplateTimeout}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.env)
			if tc.bad != nil {
				require.Error(t, err)
				for _, name := range tc.bad {
					assert.Contains(t, err.Error(), name)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, Template{MaxBytes: tc.maxBytes, Timeout: tc.timeout}, c.Template)
			eff := c.Effective(MapEnv{})
			assert.Equal(t, tc.maxBytes, eff.TemplateMaxBytes)
			assert.Equal(t, tc.timeout.String(), eff.TemplateTimeout)
		})
	}
	assert.Equal(t, "MAESTRO_TEMPLATE_MAX_BYTES", EnvTemplateMaxBytes)
	assert.Equal(t, "MAESTRO_TEMPLATE_TIMEOUT", EnvTemplateTimeout)
}

func TestLoadWorkerStopTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  MapEnv
		want time.Duration
		bad  bool
	}{
		{"default", nil, DefaultWorkerStopTimeout, false},
		{"set", MapEnv{EnvWorkerStopTimeout: " 2m "}, 2 * time.Minute, false},
		{"blank is unset", MapEnv{EnvWorkerStopTimeout: " "}, DefaultWorkerStopTimeout, false},
		{"no unit", MapEnv{EnvWorkerStopTimeout: "30"}, 0, true},
		{"zero", MapEnv{EnvWorkerStopTimeout: "0s"}, 0, true},
		{"negative", MapEnv{EnvWorkerStopTimeout: "-5s"}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.env)
			if tc.bad {
				require.Error(t, err)
				assert.Contains(t, err.Error(), EnvWorkerStopTimeout)
				assert.Contains(t, err.Error(), "want a positive duration")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.WorkerStopTimeout)
			assert.Equal(t, tc.want.String(), c.Effective(MapEnv{}).WorkerStopTimeout)
		})
	}
	assert.Equal(t, "MAESTRO_WORKER_STOP_TIMEOUT", EnvWorkerStopTimeout)
}

func TestXDGDataHome(t *testing.T) {
	c, err := load(t, MapEnv{"XDG_DATA_HOME": "/xdg"})
	require.NoError(t, err)
	assert.Equal(t, "/xdg/maestro", c.Dev.DataDir)
	c, err = load(t, MapEnv{"XDG_DATA_HOME": "relative", "HOME": ""})
	require.NoError(t, err)
	assert.True(t, filepath.IsAbs(c.Dev.DataDir))
	assert.Equal(t, FallbackDataDir, filepath.Base(c.Dev.DataDir))
}

func TestSetDataDir(t *testing.T) {
	c, err := load(t, nil)
	require.NoError(t, err)
	require.NoError(t, c.SetDataDir("/srv/m"))
	assert.Equal(t, "/srv/m", c.Dev.DataDir)
	assert.Equal(t, "/srv/m/artifacts", c.ArtifactDir, "artifacts follow the data directory")

	c, err = load(t, MapEnv{EnvArtifactDir: "/shared/artifacts"})
	require.NoError(t, err)
	require.NoError(t, c.SetDataDir("/srv/m"))
	assert.Equal(t, "/shared/artifacts", c.ArtifactDir, "MAESTRO_ARTIFACT_DIR keeps them where it says")

	c, err = load(t, MapEnv{EnvArtifactDir: "  "})
	require.NoError(t, err)
	require.NoError(t, c.SetDataDir("/srv/m"))
	assert.Equal(t, "/srv/m/artifacts", c.ArtifactDir, "a blank MAESTRO_ARTIFACT_DIR is unset")
}

func TestPolicySources(t *testing.T) {
	c, err := Load(MapEnv{})
	require.NoError(t, err)
	assert.False(t, c.Policy.Configured())
	assert.Nil(t, c.Policy.Commands)

	c, err = Load(MapEnv{
		EnvPolicyFile:      " /etc/maestro/policy.yaml ",
		EnvPolicyCommands:  "go, make ,git status",
		EnvPolicyEnv:       "",
		EnvPolicyHTTPAllow: "hooks.internal:8443,10.0.0.0/8",
	})
	require.NoError(t, err)
	assert.True(t, c.Policy.Configured())
	assert.Equal(t, "/etc/maestro/policy.yaml", c.Policy.File)
	assert.Equal(t, []string{"go", "make", "git status"}, c.Policy.Commands)
	assert.Equal(t, []string{}, c.Policy.Env, "set but empty is an empty list")
	assert.Nil(t, c.Policy.Kinds, "unset")
	assert.Equal(t, []string{"hooks.internal:8443", "10.0.0.0/8"}, c.Policy.HTTPAllow)
	assert.Equal(t, "/etc/maestro/policy.yaml", c.Effective(MapEnv{}).PolicyFile)
}

// TestLoadReadsTheAPITokenVariables: MAESTRO_API_TOKENS and
// MAESTRO_API_TOKENS_FILE are passed on as set (trimmed), unparsed (package
// api parses them); Effective shows the file and never a token.
func TestLoadReadsTheAPITokenVariables(t *testing.T) {
	c, err := load(t, MapEnv{
		EnvAPITokens:     " read:r-secret,admin:a-secret ",
		EnvAPITokensFile: " /etc/maestro/tokens ",
	})
	require.NoError(t, err)
	assert.Equal(t, "read:r-secret,admin:a-secret", c.API.Tokens)
	assert.Equal(t, "/etc/maestro/tokens", c.API.TokensFile)
	assert.Empty(t, c.API.Token)
	eff := c.Effective(MapEnv{})
	assert.False(t, eff.APITokenSet, "api_token_set is MAESTRO_API_TOKEN's")
	assert.Equal(t, "/etc/maestro/tokens", eff.APITokensFile)
	assert.Nil(t, eff.APITokenRoles, "counted by the caller that parses them")
	assert.NotContains(t, fmt.Sprintf("%+v", eff), "secret")
}

func TestWorkerProcDir(t *testing.T) {
	c, err := load(t, MapEnv{EnvDataDir: "/srv/m"})
	require.NoError(t, err)
	assert.Equal(t, "/srv/m/worker/procs", c.WorkerProcDir, "in the data directory by default")
	require.NoError(t, c.SetDataDir("/srv/n"))
	assert.Equal(t, "/srv/n/worker/procs", c.WorkerProcDir, "it follows the data directory")
	assert.Equal(t, "/srv/n/worker/procs", c.Effective(MapEnv{}).WorkerProcDir)

	c, err = load(t, MapEnv{EnvWorkerProcDir: "/run/maestro/procs"})
	require.NoError(t, err)
	require.NoError(t, c.SetDataDir("/srv/m"))
	assert.Equal(t, "/run/maestro/procs", c.WorkerProcDir, "MAESTRO_WORKER_PROC_DIR keeps it where it says")

	c, err = load(t, MapEnv{EnvWorkerProcDir: "rel/procs"})
	require.NoError(t, err)
	assert.True(t, filepath.IsAbs(c.WorkerProcDir), c.WorkerProcDir)
}
