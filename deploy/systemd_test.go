package deploy_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/internal/process"
)

// unit is a systemd unit file: section → key → values (a key may repeat).
type unit map[string]map[string][]string

// get returns the last value of key in section, as systemd reads it.
func (u unit) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// loadUnit parses a unit file's [Section] and Key=Value lines.
func loadUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			require.True(t, ok, "%s:%d: not Key=Value: %s", path, n, line)
			require.NotEmpty(t, section, "%s:%d: a key before any section", path, n)
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	require.NoError(t, sc.Err())
	return u
}

// loadEnvFile parses an EnvironmentFile's KEY=value lines.
func loadEnvFile(t *testing.T, path string) config.MapEnv {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	env := config.MapEnv{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s: not KEY=value: %s", path, line)
		env[k] = v
	}
	return env
}

// TestSystemdUnits checks deploy/systemd: each unit runs the one binary's
// subcommand under a non-root user with the shared environment file,
// restarts on failure, stops with SIGTERM, and gives the worker longer to
// stop than it takes (MAESTRO_WORKER_STOP_TIMEOUT plus its margin), so that
// systemd never SIGKILLs a worker that is stopping gracefully. The example
// environment file sets only variables the code reads and loads cleanly.
// When systemd-analyze is installed, it verifies the units too.
func TestSystemdUnits(t *testing.T) {
	dir := filepath.Join(root, "deploy", "systemd")
	envFile := loadEnvFile(t, filepath.Join(dir, "maestro.env"))
	envFile["TEMPORAL_CONFIG_FILE"] = filepath.Join(t.TempDir(), "absent.toml")
	cfg, err := config.Load(envFile)
	require.NoError(t, err, "the example environment file loads")
	literals := sourceStrings(t, root)
	temporalNames := envconfigStrings(t)
	for k := range envFile {
		switch {
		case k == "TEMPORAL_CONFIG_FILE":
		case strings.HasPrefix(k, "TEMPORAL_"):
			assert.True(t, temporalNames[k], "maestro.env sets %s, which the SDK's envconfig does not read", k)
		default:
			assert.True(t, literals[k], "maestro.env sets %s, which no Maestro code reads", k)
		}
	}

	for _, tc := range []struct {
		file, subcommand string
		// stops is how long the process may take to stop.
		stops time.Duration
	}{
		{"maestro-worker.service", "worker", cfg.WorkerStopTimeout + process.StopMargin},
		{"maestro-api.service", "api", 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			u := loadUnit(t, filepath.Join(dir, tc.file))
			assert.Equal(t, "simple", u.get("Service", "Type"))
			assert.Equal(t, "on-failure", u.get("Service", "Restart"))
			assert.Equal(t, "/etc/maestro/maestro.env", u.get("Service", "EnvironmentFile"))
			assert.Equal(t, "SIGTERM", u.get("Service", "KillSignal"))
			user := u.get("Service", "User")
			assert.NotEmpty(t, user, "runs as a dedicated user")
			assert.NotEqual(t, "root", user)
			exec := strings.Fields(u.get("Service", "ExecStart"))
			require.Len(t, exec, 2)
			assert.Equal(t, "maestro", filepath.Base(exec[0]))
			assert.True(t, filepath.IsAbs(exec[0]), "systemd wants an absolute path: %s", exec[0])
			assert.Equal(t, tc.subcommand, exec[1])
			assert.Equal(t, []string{"multi-user.target"}, u["Install"]["WantedBy"])

			stopTimeout, err := time.ParseDuration(u.get("Service", "TimeoutStopSec"))
			require.NoError(t, err, "TimeoutStopSec with a unit, e.g. 60s")
			assert.Greater(t, stopTimeout, config.DefaultWorkerStopTimeout, "TimeoutStopSec above the default stop timeout")
			assert.Greater(t, stopTimeout, tc.stops, "TimeoutStopSec above what stopping takes")
			// The data directory is writable by the service (git
			// checkouts, artifacts, process records).
			assert.Equal(t, "maestro", u.get("Service", "StateDirectory"))
			assert.Equal(t, "/var/lib/"+u.get("Service", "StateDirectory"), envFile[config.EnvDataDir])
		})
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: the units are not verified by systemd")
		return
	}
	// verify wants ExecStart's program to exist: point it at one that does.
	tmp := t.TempDir()
	var files []string
	for _, name := range []string{"maestro-worker.service", "maestro-api.service"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		f := filepath.Join(tmp, name)
		require.NoError(t, os.WriteFile(f, []byte(strings.ReplaceAll(string(data), "/usr/local/bin/maestro", "/bin/true")), 0o644))
		files = append(files, f)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, files...)...).CombinedOutput()
	require.NoError(t, err, "%s verify:\n%s", analyze, out)
	assert.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify warns")
}
