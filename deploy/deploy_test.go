package deploy_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/dynamicconfig"
	"gopkg.in/yaml.v3"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/process"
	"github.com/maestrohq/maestro/policy"
	"github.com/maestrohq/maestro/workflows"
)

// root is the repository root, relative to this package.
const root = ".."

// The services of the stack, by role.
const (
	svcPostgres = "postgresql"
	svcSchema   = "temporal-schema"
	svcTemporal = "temporal"
	svcSetup    = "temporal-setup"
	svcUI       = "temporal-ui"
	svcWorker   = "maestro-worker"
	svcAPI      = "maestro-api"
)

type dependency struct {
	Condition string `yaml:"condition"`
}

type service struct {
	Image       string                `yaml:"image"`
	Build       any                   `yaml:"build"`
	Entrypoint  []string              `yaml:"entrypoint"`
	Command     []string              `yaml:"command"`
	Environment map[string]string     `yaml:"environment"`
	DependsOn   map[string]dependency `yaml:"depends_on"`
	Ports       []string              `yaml:"ports"`
	Volumes     []string              `yaml:"volumes"`
	Healthcheck *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		Retries     int      `yaml:"retries"`
		StartPeriod string   `yaml:"start_period"`
	} `yaml:"healthcheck"`
	Restart         string `yaml:"restart"`
	StopGracePeriod string `yaml:"stop_grace_period"`
}

type composeFile struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
	// Extensions are the x- keys (YAML anchors for shared environment).
	Extensions map[string]any `yaml:",inline"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	var c composeFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt key is an error, as in docker compose
	require.NoError(t, dec.Decode(&c), "docker-compose.yml")
	require.NotEmpty(t, c.Services)
	for k := range c.Extensions {
		require.True(t, strings.HasPrefix(k, "x-"), "docker-compose.yml: unknown top-level key %s", k)
	}
	return c
}

// interpolated resolves compose's ${NAME:-default} and ${NAME} as compose
// does with NAME unset; a required ${NAME:?message} (or ${NAME?message}),
// which compose refuses to start without, becomes requiredValue(NAME), the
// value a user must set.
func interpolated(s string) string {
	return interpolation.ReplaceAllStringFunc(s, func(m string) string {
		sub := interpolation.FindStringSubmatch(m)
		if strings.HasSuffix(sub[2], "?") {
			return requiredValue(sub[1])
		}
		return sub[3]
	})
}

// requiredValue stands for the value a user sets for a required variable.
func requiredValue(name string) string { return "set-" + name }

// requiredVariable matches a required variable, ${NAME:?message}.
var requiredVariable = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*):\?[^}]+\}$`)

var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

func TestInterpolated(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"${A}", ""},
		{"${A-x}", "x"},
		{"${A:-x y}", "x y"},
		{"${A:-}", ""},
		{"${A:?set A}", "set-A"},
		{"${A?set A}", "set-A"},
		{"a ${A:-1} b ${B:?need B}", "a 1 b set-B"},
	} {
		assert.Equal(t, tc.want, interpolated(tc.in), tc.in)
	}
	assert.Regexp(t, requiredVariable, "${MAESTRO_API_TOKEN:?set MAESTRO_API_TOKEN}")
	assert.NotRegexp(t, requiredVariable, "${MAESTRO_API_TOKEN:-}")
}

// TestComposeStartsInOrder checks the services users rely on, and that their
// dependencies name existing services with a condition that the dependency
// can meet, without cycles: the stack starts in order.
func TestComposeStartsInOrder(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{svcPostgres, svcSchema, svcTemporal, svcSetup, svcUI, svcWorker, svcAPI} {
		require.Contains(t, c.Services, name)
	}
	for name, s := range c.Services {
		for dep, d := range s.DependsOn {
			target, ok := c.Services[dep]
			if !assert.True(t, ok, "%s depends on unknown service %s", name, dep) {
				continue
			}
			switch d.Condition {
			case "service_healthy":
				assert.NotNil(t, target.Healthcheck, "%s waits for %s to be healthy, which has no healthcheck", name, dep)
			case "service_completed_successfully":
				assert.NotContains(t, []string{"always", "unless-stopped"}, target.Restart, "%s waits for %s to complete, which is restarted forever", name, dep)
			case "service_started":
			default:
				t.Errorf("%s depends on %s with condition %q; want service_healthy, service_completed_successfully or service_started", name, dep, d.Condition)
			}
		}
	}
	// No cycles: every service can be ordered after its dependencies.
	done := map[string]bool{}
	for len(done) < len(c.Services) {
		progress := false
		for _, name := range slices.Sorted(maps.Keys(c.Services)) {
			if done[name] {
				continue
			}
			ready := true
			for dep := range c.Services[name].DependsOn {
				_, exists := c.Services[dep]
				ready = ready && (done[dep] || !exists) // unknown ones are reported above
			}
			if ready {
				done[name], progress = true, true
			}
		}
		require.True(t, progress, "dependency cycle among %v", slices.DeleteFunc(slices.Sorted(maps.Keys(c.Services)), func(s string) bool { return done[s] }))
	}

	// Temporal's layout: database healthy → schema job → server healthy →
	// namespace job; Maestro waits for the server and the namespace job.
	want := map[string]map[string]string{
		svcSchema:   {svcPostgres: "service_healthy"},
		svcTemporal: {svcSchema: "service_completed_successfully"},
		svcSetup:    {svcTemporal: "service_healthy"},
		svcUI:       {svcTemporal: "service_healthy"},
		svcWorker:   {svcTemporal: "service_healthy", svcSetup: "service_completed_successfully"},
		svcAPI:      {svcTemporal: "service_healthy", svcSetup: "service_completed_successfully"},
	}
	for name, deps := range want {
		for dep, cond := range deps {
			assert.Equal(t, cond, c.Services[name].DependsOn[dep].Condition, "%s depends_on %s", name, dep)
		}
	}
	assert.Contains(t, strings.Join(c.Services[svcPostgres].Healthcheck.Test, " "), "pg_isready")
	assert.Contains(t, strings.Join(c.Services[svcTemporal].Healthcheck.Test, " "), "7233")
}

// TestComposeImages checks that every image is pinned to a version, that
// the deprecated auto-setup image is not used, that Temporal's images are
// the ones its layout names and that the server runs on PostgreSQL.
func TestComposeImages(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		require.NotEmpty(t, s.Image, "%s has no image", name)
		repo, tag, ok := strings.Cut(s.Image, ":")
		if assert.True(t, ok, "%s: image %s has no tag", name, s.Image) {
			assert.NotEqual(t, "latest", tag, "%s: image %s is not pinned", name, s.Image)
			assert.NotEmpty(t, tag, name)
		}
		assert.NotContains(t, repo, "auto-setup", "%s: temporalio/auto-setup is deprecated", name)
	}
	assert.True(t, strings.HasPrefix(c.Services[svcPostgres].Image, "postgres:"))
	assert.True(t, strings.HasPrefix(c.Services[svcSchema].Image, "temporalio/admin-tools:"))
	assert.True(t, strings.HasPrefix(c.Services[svcSetup].Image, "temporalio/admin-tools:"))
	assert.True(t, strings.HasPrefix(c.Services[svcTemporal].Image, "temporalio/server:"))
	assert.True(t, strings.HasPrefix(c.Services[svcUI].Image, "temporalio/ui:"))
	// admin-tools runs the schema setup of the server version it ships with.
	_, serverTag, _ := strings.Cut(c.Services[svcTemporal].Image, ":")
	_, toolsTag, _ := strings.Cut(c.Services[svcSchema].Image, ":")
	assert.Equal(t, serverTag, toolsTag, "admin-tools and server versions")
	// Maestro's services run the image built from the Dockerfile.
	for _, name := range []string{svcWorker, svcAPI} {
		assert.Equal(t, ".", c.Services[name].Build, "%s builds the Dockerfile", name)
	}

	// The server images run the version of go.temporal.io/server that
	// go.mod requires: the one Maestro's tests run against, and the one
	// deploy/prodcheck/run.sh builds from the compose file's pin.
	goModData, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	serverMod := regexp.MustCompile(`(?m)^\s*go\.temporal\.io/server v(\S+)`).FindSubmatch(goModData)
	require.NotNil(t, serverMod, "go.mod does not require go.temporal.io/server")
	assert.Equal(t, string(serverMod[1]), serverTag, "temporalio/server's tag and go.mod's go.temporal.io/server")
	_, setupTag, _ := strings.Cut(c.Services[svcSetup].Image, ":")
	assert.Equal(t, serverTag, setupTag, "admin-tools (setup) and server versions")

	env := c.Services[svcTemporal].Environment
	assert.Equal(t, "postgres12", env["DB"])
	assert.Equal(t, svcPostgres, env["POSTGRES_SEEDS"])
	assert.Equal(t, "0.0.0.0", env["BIND_ON_IP"], "the server must listen beyond the container's loopback")
	assert.Equal(t, interpolated(c.Services[svcPostgres].Environment["POSTGRES_PASSWORD"]), interpolated(env["POSTGRES_PWD"]))
	assert.Equal(t, c.Services[svcPostgres].Environment["POSTGRES_USER"], env["POSTGRES_USER"])
	assert.Equal(t, "temporal:7233", c.Services[svcUI].Environment["TEMPORAL_ADDRESS"])
	assert.Equal(t, "temporal:7233", c.Services[svcSetup].Environment["TEMPORAL_ADDRESS"])
	assert.Contains(t, c.Services[svcUI].Ports, "8233:8080")
	assert.Contains(t, c.Services[svcTemporal].Ports, "7233:7233")
}

// TestComposeFiles checks that what the compose file mounts and runs exists:
// the setup scripts (creating both databases, and registering exactly
// Maestro's search attributes as Keyword) and the server's dynamic
// configuration, whose keys must be real server settings.
func TestComposeFiles(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				_, err := os.Stat(filepath.Join(root, src))
				assert.NoError(t, err, "%s mounts %s", name, src)
			} else {
				assert.Contains(t, c.Volumes, src, "%s mounts undeclared volume %s", name, src)
			}
		}
	}
	// mounted maps a path inside a service's container to the file in the
	// repository.
	mounted := func(svc, path string) string {
		t.Helper()
		for _, v := range c.Services[svc].Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 && strings.HasPrefix(parts[0], ".") && strings.HasPrefix(path, parts[1]+"/") {
				return filepath.Join(root, parts[0], strings.TrimPrefix(path, parts[1]+"/"))
			}
		}
		t.Fatalf("%s: %s is not in a mounted directory", svc, path)
		return ""
	}
	script := func(svc string) string {
		t.Helper()
		s := c.Services[svc]
		require.Equal(t, []string{"/bin/sh"}, s.Entrypoint, svc)
		require.Len(t, s.Command, 1, svc)
		data, err := os.ReadFile(mounted(svc, s.Command[0]))
		require.NoError(t, err, svc)
		return string(data)
	}

	schema := script(svcSchema)
	assert.Contains(t, schema, "for db in temporal temporal_visibility")
	assert.Contains(t, schema, "$schema/temporal/versioned")
	assert.Contains(t, schema, "$schema/visibility/versioned")
	assert.Equal(t, "postgres12", c.Services[svcSchema].Environment["SQL_PLUGIN"])
	assert.Equal(t, svcPostgres, c.Services[svcSchema].Environment["SQL_HOST"])

	setup := script(svcSetup)
	m := regexp.MustCompile(`(?m)^for name in ([A-Za-z ]+); do\n\s+temporal operator search-attribute create --namespace "\$ns" --name "\$name" --type (\w+)$`).FindStringSubmatch(setup)
	require.NotNil(t, m, "setup script does not register the search attributes:\n%s", setup)
	assert.ElementsMatch(t, slices.Collect(maps.Keys(workflows.SearchAttributes())), strings.Fields(m[1]))
	for name, typ := range workflows.SearchAttributes() {
		assert.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, typ, name)
	}
	assert.Equal(t, "Keyword", m[2])
	assert.Contains(t, setup, "temporal operator namespace create")
	// The setup job and Maestro's services use the same namespace.
	assert.Equal(t, c.Services[svcWorker].Environment["TEMPORAL_NAMESPACE"], c.Services[svcSetup].Environment["NAMESPACE"])

	dcPath := c.Services[svcTemporal].Environment["DYNAMIC_CONFIG_FILE_PATH"]
	require.NotEmpty(t, dcPath, "without DYNAMIC_CONFIG_FILE_PATH the server looks for a file the image lacks")
	data, err := os.ReadFile(mounted(svcTemporal, dcPath))
	require.NoError(t, err)
	var dc map[string][]struct {
		Value       any            `yaml:"value"`
		Constraints map[string]any `yaml:"constraints"`
	}
	require.NoError(t, yaml.Unmarshal(data, &dc))
	// Keys are case-insensitive.
	known := map[string]bool{strings.ToLower(dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key().String()): true}
	for key, values := range dc {
		assert.True(t, known[strings.ToLower(key)], "dynamic config key %s is not one this test knows the server has", key)
		assert.NotEmpty(t, values, key)
	}
}

// sourceStrings returns every string literal in the non-test Go files
// under dir: the names of environment variables the code reads are among
// them.
func sourceStrings(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != dir || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out[s] = true
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	return out
}

// envconfigStrings returns the string literals of the SDK's envconfig
// module, which reads the TEMPORAL_* variables for config.Load.
func envconfigStrings(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/sdk/contrib/envconfig").Output()
	require.NoError(t, err, "go list envconfig")
	dir := strings.TrimSpace(string(out))
	require.NotEmpty(t, dir)
	return sourceStrings(t, dir)
}

// TestComposeMaestroEnv checks the environment of Maestro's services: the
// Temporal address is the compose service, every variable is one the code
// reads (Temporal's through the SDK's envconfig, Maestro's by name), and
// the values configure what users expect: ports match the published ones,
// artifacts live on the shared volume, logs are JSON.
func TestComposeMaestroEnv(t *testing.T) {
	c := loadCompose(t)
	literals := sourceStrings(t, root)
	temporalNames := envconfigStrings(t)
	for _, name := range []string{svcWorker, svcAPI} {
		s := c.Services[name]
		env := config.MapEnv{"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "absent.toml")}
		for k, v := range s.Environment {
			env[k] = interpolated(v)
		}
		assert.Equal(t, "temporal:7233", env["TEMPORAL_ADDRESS"], name)

		for k := range s.Environment {
			switch {
			case strings.HasPrefix(k, "MAESTRO_"):
				assert.True(t, literals[k], "%s sets %s, which no Maestro code reads", name, k)
			case strings.HasPrefix(k, "TEMPORAL_"):
				assert.True(t, temporalNames[k], "%s sets %s, which the SDK's envconfig does not read", name, k)
			default: // e.g. a provider's API key the agent executor reads
				assert.True(t, literals[k], "%s sets %s, which no Maestro code names", name, k)
			}
		}

		// The values take effect through the code's own loaders.
		cfg, err := config.Load(env)
		require.NoError(t, err, name)
		assert.Equal(t, "temporal:7233", cfg.Client.HostPort, name)
		assert.Equal(t, env["TEMPORAL_NAMESPACE"], cfg.Client.Namespace, name)
		assert.Equal(t, env[config.EnvTaskQueue], cfg.TaskQueue, name)
		assert.Equal(t, string(dag.ModeDAGParallel), cfg.DefaultMode, name)
		var buf bytes.Buffer
		logger := process.NewLogger(&buf, cfg.Log, slog.LevelInfo)
		logger.Info("hello")
		assert.True(t, json.Valid(buf.Bytes()), "%s logs are not JSON: %s", name, buf.String())

		dir := env[config.EnvArtifactDir]
		assert.Equal(t, "/data/artifacts", dir, name)
		assert.Contains(t, s.Volumes, "artifacts:"+dir, "%s: artifacts are on the shared volume", name)
	}
	// Worker and API share the task queue and the namespace.
	w, a := c.Services[svcWorker].Environment, c.Services[svcAPI].Environment
	for _, k := range []string{"TEMPORAL_NAMESPACE", config.EnvTaskQueue} {
		assert.Equal(t, w[k], a[k], k)
	}
	// Published ports are the ones the processes listen on.
	wenv := config.MapEnv{"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "absent.toml")}
	for k, v := range w {
		wenv[k] = interpolated(v)
	}
	wcfg, err := config.Load(wenv)
	require.NoError(t, err)
	metricsAddr := wcfg.MetricsAddr
	assert.True(t, strings.HasPrefix(metricsAddr, "0.0.0.0:"), "worker metrics must listen beyond the container's loopback: %s", metricsAddr)
	assert.Contains(t, c.Services[svcWorker].Ports, port(t, metricsAddr)+":"+port(t, metricsAddr))
	apiAddr := a["MAESTRO_API_ADDR"]
	assert.True(t, strings.HasPrefix(apiAddr, "0.0.0.0:"), "API must listen beyond the container's loopback: %s", apiAddr)
	assert.Contains(t, c.Services[svcAPI].Ports, port(t, apiAddr)+":"+port(t, apiAddr))
	// Beyond loopback the API needs its token: compose refuses to start
	// without it, and with it the API's own rule lets it start (without,
	// the rule would refuse).
	require.Regexp(t, requiredVariable, a[config.EnvAPIToken], "compose must require %s", config.EnvAPIToken)
	aenv := config.MapEnv{"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "absent.toml")}
	for k, v := range a {
		aenv[k] = interpolated(v)
	}
	acfg, err := config.Load(aenv)
	require.NoError(t, err)
	assert.Equal(t, requiredValue(config.EnvAPIToken), acfg.API.Token)
	discard := slog.New(slog.DiscardHandler)
	require.NoError(t, process.CheckAPIExposure(acfg.API, discard))
	acfg.API.Token = ""
	require.ErrorContains(t, process.CheckAPIExposure(acfg.API, discard), config.EnvAPIToken)
	// The services run the one binary's subcommands; the worker's
	// healthcheck is maestro doctor.
	assert.Equal(t, []string{"/usr/local/bin/maestro", "worker"}, c.Services[svcWorker].Entrypoint)
	assert.Equal(t, []string{"/usr/local/bin/maestro", "api"}, c.Services[svcAPI].Entrypoint)
	assert.Equal(t, []string{"CMD", "/usr/local/bin/maestro", "doctor"}, c.Services[svcWorker].Healthcheck.Test[:3])
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	return p
}

// dockerfile is the parsed Dockerfile: its stages' base images, the
// packages built with their output paths, the final stage's ENV and USER.
type dockerfile struct {
	from   []string
	builds map[string]string // output path → package
	env    map[string]string
	user   string
	text   string
}

func loadDockerfile(t *testing.T) dockerfile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	d := dockerfile{builds: map[string]string{}, env: map[string]string{}, text: text}
	args := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "ARG":
			for _, a := range f[1:] {
				k, v, _ := strings.Cut(a, "=")
				args[k] = v
			}
		case "FROM":
			img := f[1]
			if strings.HasPrefix(img, "--platform") {
				img = f[2]
			}
			for k, v := range args {
				img = strings.ReplaceAll(img, "${"+k+"}", v)
			}
			d.from = append(d.from, img)
			d.env = map[string]string{} // ENV of the final stage only
		case "ENV":
			for _, kv := range f[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok {
					d.env[k] = v
				}
			}
		case "USER":
			d.user = f[1]
		}
	}
	for _, m := range regexp.MustCompile(`go build [^&]*?-o (\S+) (\./\S+)`).FindAllStringSubmatch(text, -1) {
		d.builds[m[1]] = m[2]
	}
	return d
}

// TestDockerfile checks that the image builds the worker, the API and the
// CLI from packages that exist and are commands, statically, with the Go
// version go.mod asks for, onto a pinned non-root final image that has the
// binaries the compose file runs.
func TestDockerfile(t *testing.T) {
	d := loadDockerfile(t)
	assert.Equal(t, map[string]string{"/out/maestro": "./cmd/maestro"}, d.builds, "one binary")
	for _, pkg := range d.builds {
		dir := filepath.Join(root, pkg)
		matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		isMain := false
		for _, m := range matches {
			if strings.HasSuffix(m, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), m, nil, parser.PackageClauseOnly)
			require.NoError(t, err)
			isMain = isMain || f.Name.Name == "main"
		}
		assert.True(t, isMain, "%s is not a command (package main)", pkg)
	}
	assert.Contains(t, d.text, "CGO_ENABLED=0")
	assert.Contains(t, d.text, "--mount=type=cache,target=/go/pkg/mod", "module cache")

	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod)
	require.NotNil(t, goVersion)
	require.GreaterOrEqual(t, len(d.from), 2, "multi-stage")
	assert.Equal(t, "golang:"+string(goVersion[1]), d.from[0], "build stage Go version")
	final := d.from[len(d.from)-1]
	assert.Regexp(t, `^\S+:\S+$`, final)
	assert.False(t, strings.HasSuffix(final, ":latest"), final)
	assert.Regexp(t, `apt-get install [^\n]*\bgit\b`, d.text, "workspace runs need git in the image")
	assert.NotEmpty(t, d.user, "final stage has no USER")
	assert.NotContains(t, []string{"root", "0", "0:0", "root:root"}, d.user)

	// The compose file runs binaries the image has, and the image's ENV
	// names are ones the code reads.
	c := loadCompose(t)
	have := map[string]bool{}
	for out := range d.builds {
		have["/usr/local/bin/"+filepath.Base(out)] = true
	}
	assert.Contains(t, d.text, "COPY --from=build /out/ /usr/local/bin/")
	for _, name := range []string{svcWorker, svcAPI} {
		ep := c.Services[name].Entrypoint
		require.NotEmpty(t, ep, name)
		assert.True(t, have[ep[0]], "%s runs %s, which the image does not have", name, ep[0])
	}
	assert.True(t, have[c.Services[svcWorker].Healthcheck.Test[1]])
	literals := sourceStrings(t, root)
	for k := range d.env {
		assert.True(t, literals[k], "the Dockerfile sets %s, which no Maestro code reads", k)
	}
	// .dockerignore must not drop what the build needs.
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	require.NoError(t, err)
	for _, line := range strings.Split(string(ignore), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, need := range []string{"go.mod", "go.sum", "worker", "starter", "cmd", "api"} {
			assert.NotEqual(t, need, strings.Trim(line, "/"), ".dockerignore drops %s", need)
		}
	}
}

// TestComposePolicy checks the worker policy compose ships: the worker and
// the API read the same file, mounted from the repository, and it loads
// (as the processes load it) to the default of `maestro worker`.
func TestComposePolicy(t *testing.T) {
	c := loadCompose(t)
	var files []string
	for _, name := range []string{svcWorker, svcAPI} {
		s := c.Services[name]
		path := interpolated(s.Environment[config.EnvPolicyFile])
		require.NotEmpty(t, path, "%s has no %s", name, config.EnvPolicyFile)
		var src string
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 && parts[1] == path {
				src = filepath.Join(root, parts[0])
				assert.Equal(t, "ro", parts[len(parts)-1], "%s mounts the policy read-only", name)
			}
		}
		require.NotEmpty(t, src, "%s does not mount %s", name, path)
		files = append(files, src)

		env := config.MapEnv{"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "absent.toml")}
		for k, v := range s.Environment {
			env[k] = interpolated(v)
		}
		cfg, err := config.Load(env)
		require.NoError(t, err, name)
		cfg.Policy.File = src
		pol, err := process.WorkerPolicy(cfg)
		require.NoError(t, err, name)
		want := policy.Default()
		want.Origin = "file " + src
		want.Commands, want.Env = nil, nil
		assert.Empty(t, pol.HTTP.Allow, name)
		pol.HTTP.Allow = nil
		if len(pol.Commands) == 0 {
			pol.Commands = nil
		}
		if len(pol.Env) == 0 {
			pol.Env = nil
		}
		assert.Equal(t, want, pol, name)
	}
	assert.Equal(t, files[0], files[1], "the worker and the API share one policy")
}

// scriptArray returns the NAME=value entries of the bash array assignment
// `name=(...)` in script; values keep their quotes.
func scriptArray(t *testing.T, script, name string) map[string]string {
	t.Helper()
	m := regexp.MustCompile(`(?ms)^` + regexp.QuoteMeta(name) + `=\((.*?)^\)`).FindStringSubmatch(script)
	require.NotNil(t, m, "deploy/prodcheck/run.sh has no %s=(...)", name)
	out := map[string]string{}
	for _, kv := range regexp.MustCompile(`([A-Z][A-Z0-9_]*)=("[^"]*"|\S+)`).FindAllStringSubmatch(m[1], -1) {
		out[kv[1]] = kv[2]
	}
	return out
}

// TestProdcheckMatchesCompose checks that deploy/prodcheck/run.sh, which runs
// the compose stack's programs without Docker, gives them the compose file's
// environment: every variable the compose file sets for the schema job, the
// server and Maestro's services is set there too, to the same value where it
// is not an address, a port or a path.
func TestProdcheckMatchesCompose(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "deploy", "prodcheck", "run.sh"))
	require.NoError(t, err)
	script := string(data)
	assert.Contains(t, script, "set -euo pipefail")
	assert.Contains(t, script, "trap cleanup EXIT")
	assert.Contains(t, script, `"$repo/deploy/scripts/setup-schema.sh"`)
	assert.Contains(t, script, `"$repo/deploy/scripts/setup-namespace.sh"`)
	assert.Contains(t, script, "temporal-server start", "the server must start as in its image: from the environment, without a config file")

	c := loadCompose(t)
	// Addresses, ports, paths and secrets differ on one host.
	local := map[string]bool{
		"SQL_HOST": true, "SQL_PORT": true, "SQL_PASSWORD": true,
		"POSTGRES_SEEDS": true, "DB_PORT": true, "POSTGRES_PWD": true, "BIND_ON_IP": true, "DYNAMIC_CONFIG_FILE_PATH": true,
		"TEMPORAL_ADDRESS": true, "MAESTRO_ARTIFACT_DIR": true, "MAESTRO_POLICY_FILE": true,
	}
	for _, tc := range []struct{ array, service string }{
		{"schema_env", svcSchema},
		{"server_env", svcTemporal},
		{"maestro_env", svcWorker},
	} {
		got := scriptArray(t, script, tc.array)
		for k, v := range c.Services[tc.service].Environment {
			want := interpolated(v)
			if tc.service == svcWorker && (want == "" || k == "MAESTRO_METRICS_ADDR") {
				continue // unset agent settings; per-worker metrics ports
			}
			g, ok := got[k]
			if !assert.True(t, ok, "%s: compose sets %s for %s", tc.array, k, tc.service) || local[k] {
				continue
			}
			assert.Equal(t, want, strings.Trim(g, `"`), "%s: %s", tc.array, k)
		}
	}
}

// TestComposeLetsTheWorkerStopGracefully: compose SIGKILLs a service that
// has not stopped within its stop_grace_period (10 s by default), and the
// worker takes up to its stop timeout plus 10 s to let running nodes finish
// and hand the rest over; the API as long as its systemd unit allows.
func TestComposeLetsTheWorkerStopGracefully(t *testing.T) {
	c := loadCompose(t)
	stopTimeout := config.DefaultWorkerStopTimeout
	if v, ok := c.Services["maestro-worker"].Environment[config.EnvWorkerStopTimeout]; ok {
		d, err := time.ParseDuration(interpolated(v))
		require.NoError(t, err)
		stopTimeout = d
	}
	for name, least := range map[string]time.Duration{"maestro-worker": stopTimeout + 10*time.Second, "maestro-api": 30 * time.Second} {
		grace, err := time.ParseDuration(c.Services[name].StopGracePeriod)
		require.NoError(t, err, "%s: stop_grace_period with a unit, e.g. 60s", name)
		assert.Greater(t, grace, least, name)
	}
}
