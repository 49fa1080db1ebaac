package process_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/devserver"
	"github.com/maestrohq/maestro/internal/process"
)

const secret = "Qq7-do-not-leak"

// writeFile writes a tokens file in a fresh directory and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// TestAPITokensReadsTheFileTheListAndTheSingleToken: a real file, the
// comma-separated variable and MAESTRO_API_TOKEN (as admin) all count.
func TestAPITokensReadsTheFileTheListAndTheSingleToken(t *testing.T) {
	file := writeFile(t, "# CI\nread:"+secret+"-r1\n\n  read:"+secret+"-r2\noperate:"+secret+"-o\n")
	toks, err := process.APITokens(config.API{
		TokensFile: file,
		Tokens:     "admin:" + secret + "-a,operate:" + secret + "-o2",
		Token:      secret + "-single",
	})
	require.NoError(t, err)
	assert.Equal(t, []api.Token{
		{Role: api.RoleRead, Secret: secret + "-r1"},
		{Role: api.RoleRead, Secret: secret + "-r2"},
		{Role: api.RoleOperate, Secret: secret + "-o"},
		{Role: api.RoleAdmin, Secret: secret + "-a"},
		{Role: api.RoleOperate, Secret: secret + "-o2"},
		{Role: api.RoleAdmin, Secret: secret + "-single"},
	}, toks)
	assert.Equal(t, map[string]int{"read": 2, "operate": 2, "admin": 2}, process.TokenRoles(toks))

	// The same token twice with the same role is harmless.
	twice, err := process.APITokens(config.API{Tokens: "read:" + secret + ",read:" + secret})
	require.NoError(t, err)
	assert.Len(t, twice, 2)

	none, err := process.APITokens(config.API{})
	require.NoError(t, err)
	assert.Empty(t, none)
	assert.Equal(t, map[string]int{"read": 0, "operate": 0, "admin": 0}, process.TokenRoles(none))
}

// TestAPITokensRefusesMalformedFiles: each malformed file (or list) is an
// error naming the variable and the line (or entry), wrapping the cause,
// and never quoting the token.
func TestAPITokensRefusesMalformedFiles(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent")
	for _, tc := range []struct {
		name string
		a    func(t *testing.T) config.API
		want []string
		is   error
	}{
		{"a bare token", func(t *testing.T) config.API {
			return config.API{TokensFile: writeFile(t, "# ok\nread:fine\n"+secret+"\n")}
		}, []string{config.EnvAPITokensFile, "line 3", "<role>:<token>"}, api.ErrTokenSyntax},
		{"an unknown role", func(t *testing.T) config.API {
			return config.API{TokensFile: writeFile(t, "writer:"+secret+"\n")}
		}, []string{config.EnvAPITokensFile, "line 1", "unknown role", "read, operate, admin"}, api.ErrTokenSyntax},
		{"an empty token", func(t *testing.T) config.API {
			return config.API{TokensFile: writeFile(t, "\n\nadmin:   \n")}
		}, []string{config.EnvAPITokensFile, "line 3"}, api.ErrTokenSyntax},
		{"a token with spaces", func(t *testing.T) config.API {
			return config.API{TokensFile: writeFile(t, "admin:"+secret+" "+secret+"\n")}
		}, []string{config.EnvAPITokensFile, "line 1"}, api.ErrTokenSyntax},
		{"a missing file", func(t *testing.T) config.API {
			return config.API{TokensFile: missing}
		}, []string{config.EnvAPITokensFile, missing}, fs.ErrNotExist},
		{"a bad list entry", func(t *testing.T) config.API {
			return config.API{Tokens: "read:ok," + secret}
		}, []string{config.EnvAPITokens, "entry 2"}, api.ErrTokenSyntax},
		{"a bad list role", func(t *testing.T) config.API {
			return config.API{Tokens: "root:" + secret}
		}, []string{config.EnvAPITokens, "entry 1", "unknown role"}, api.ErrTokenSyntax},
		{"one token, two roles", func(t *testing.T) config.API {
			return config.API{TokensFile: writeFile(t, "read:"+secret+"\n"), Token: secret}
		}, []string{"two roles, read and admin"}, process.ErrTokenTwoRoles},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a(t)
			_, err := process.APITokens(a)
			require.Error(t, err)
			require.ErrorIs(t, err, tc.is)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), secret)

			// The API process refuses to start on it, loopback included.
			a.Addr = "127.0.0.1:0"
			err = process.CheckAPIExposure(a, slog.New(slog.DiscardHandler))
			require.ErrorIs(t, err, tc.is)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

// TestCheckAPIExposureCountsAnyToken: beyond loopback, a token of any role
// from any variable lets the API listen; a file with no token (comments
// only) does not; the refusal names every variable, and --insecure's
// warning logs no token.
func TestCheckAPIExposureCountsAnyToken(t *testing.T) {
	const addr = "0.0.0.0:8080"
	for _, tc := range []struct {
		name   string
		a      config.API
		refuse bool
	}{
		{"no token", config.API{}, true},
		{"a file without a token", config.API{TokensFile: writeFile(t, "# none yet\n\n")}, true},
		{"the single token", config.API{Token: secret}, false},
		{"a read token in a file", config.API{TokensFile: writeFile(t, "read:"+secret+"\n")}, false},
		{"an operate token in the list", config.API{Tokens: "operate:" + secret}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			a := tc.a
			a.Addr = addr
			err := process.CheckAPIExposure(a, logger)
			if !tc.refuse {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, v := range []string{addr, config.EnvAPIToken, config.EnvAPITokens, config.EnvAPITokensFile, "--insecure"} {
				assert.Contains(t, err.Error(), v)
			}
			a.Insecure = true
			require.NoError(t, process.CheckAPIExposure(a, logger))
			assert.Contains(t, logs.String(), "--insecure")
			assert.NotContains(t, logs.String(), secret)
		})
	}
}

// TestCheckDevExposure: dev's Temporal server and Web UI have no
// authentication, so beyond loopback they need --insecure (a warning);
// RunDev refuses before starting anything.
func TestCheckDevExposure(t *testing.T) {
	for _, tc := range []struct {
		name, temporal, ui string
		refuse             string
	}{
		{"loopback", "127.0.0.1:7233", "localhost:8233", ""},
		{"no Web UI", "[::1]:7233", "", ""},
		{"Temporal on every interface", "0.0.0.0:7233", "127.0.0.1:8233", "--temporal-listen"},
		{"Web UI on every interface", "127.0.0.1:7233", ":8233", "--ui-listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			cfg := config.Config{Dev: config.Dev{TemporalAddr: tc.temporal, UIAddr: tc.ui}}
			err := process.CheckDevExposure(cfg, logger)
			if tc.refuse == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.refuse)
			assert.Contains(t, err.Error(), "--insecure")

			cfg.API.Insecure = true
			require.NoError(t, process.CheckDevExposure(cfg, logger))
			assert.Contains(t, logs.String(), "--insecure")
		})
	}
	cfg := config.Config{Dev: config.Dev{DataDir: t.TempDir(), TemporalAddr: "0.0.0.0:0"}}
	err := process.RunDev(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing to serve the embedded Temporal server on 0.0.0.0:0")
	_, statErr := os.Stat(filepath.Join(cfg.Dev.DataDir, devserver.DatabaseFile))
	assert.True(t, os.IsNotExist(statErr), "nothing started")
}
