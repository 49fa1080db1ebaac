package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/metrics"
	"github.com/maestrohq/maestro/runs"
)

// APIShutdownTimeout bounds the API's graceful shutdown.
const APIShutdownTimeout = 15 * time.Second

// NewAPI returns the REST API over c, configured by cfg, with its metrics on
// m's registry (shared with the SDK's).
func NewAPI(c client.Client, cfg config.Config, logger *slog.Logger, m *metrics.Metrics) (*api.Server, error) {
	// /health answers without a token: its checks do not name the
	// Temporal address.
	rc := runsConfig(cfg)
	rc.Address = ""
	toks, err := APITokens(cfg.API)
	if err != nil {
		return nil, err
	}
	return api.New(api.Config{
		Runs:        runs.New(c, rc),
		Namespace:   cfg.Client.Namespace,
		Artifacts:   artifacts.NewDir(cfg.ArtifactDir),
		Logger:      logger,
		Tokens:      toks,
		CORSOrigins: cfg.API.CORSOrigins,
		TemporalUI:  cfg.API.TemporalUI,
		RateLimit:   cfg.API.RateLimit,
		Registerer:  m.Registerer(),
		Gatherer:    m.Gatherer(),
	})
}

// APITokens returns every API token configured in a: the entries of
// MAESTRO_API_TOKENS_FILE, then those of MAESTRO_API_TOKENS, then
// MAESTRO_API_TOKEN as an admin token. A file that cannot be read, a
// malformed entry or an unknown role is an error naming the variable and the
// line or entry, never the token; so is one token given two roles.
func APITokens(a config.API) ([]api.Token, error) {
	var toks []api.Token
	if a.TokensFile != "" {
		data, err := os.ReadFile(a.TokensFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.EnvAPITokensFile, err)
		}
		ft, err := api.ParseTokens(data)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", config.EnvAPITokensFile, a.TokensFile, err)
		}
		toks = append(toks, ft...)
	}
	lt, err := api.ParseTokenList(a.Tokens)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.EnvAPITokens, err)
	}
	toks = append(toks, lt...)
	if a.Token != "" {
		toks = append(toks, api.Token{Role: api.RoleAdmin, Secret: a.Token})
	}
	roles := make(map[string]api.Role, len(toks))
	for _, t := range toks {
		if r, ok := roles[t.Secret]; ok && r != t.Role {
			return nil, fmt.Errorf("API tokens (%s): %w: one token has two roles, %s and %s; give it one",
				tokenVars, ErrTokenTwoRoles, r, t.Role)
		}
		roles[t.Secret] = t.Role
	}
	return toks, nil
}

// ErrTokenTwoRoles is wrapped by APITokens' error for a token listed with
// two different roles (the same role twice is harmless).
var ErrTokenTwoRoles = errors.New("ambiguous API token")

// TokenRoles counts toks per role, by the role's name (every role present).
func TokenRoles(toks []api.Token) map[string]int {
	n := map[string]int{}
	for r, c := range api.CountRoles(toks) {
		n[string(r)] = c
	}
	return n
}

// tokenVars names the variables that configure API tokens.
var tokenVars = config.EnvAPIToken + ", " + config.EnvAPITokens + " or " + config.EnvAPITokensFile

// ServeAPI serves srv on addr in the background. It returns the address it
// listens on and stop, which shuts the server down gracefully and returns
// why serving ended (nil after a clean stop); done is closed if serving ends
// on its own.
func ServeAPI(srv *api.Server, addr string) (listening string, done <-chan struct{}, stop func() error, err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, nil, fmt.Errorf("API: listen on %s: %w", addr, err)
	}
	served := make(chan struct{})
	var serveErr error
	go func() {
		serveErr = srv.Serve(l)
		close(served)
	}()
	stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), APIShutdownTimeout)
		defer cancel()
		err := srv.Shutdown(ctx)
		<-served
		if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("API: serve: %w", serveErr))
		}
		return err
	}
	return l.Addr().String(), served, stop, nil
}

// IsLoopback reports whether addr (host:port) is a loopback address:
// "localhost" or a loopback IP. An empty host (all interfaces), any other
// name and anything unparsable are not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckAPIExposure is the rule of every process that serves the API: beyond
// loopback, the API needs a token (MAESTRO_API_TOKEN, MAESTRO_API_TOKENS or
// MAESTRO_API_TOKENS_FILE; any role counts), or anyone who can reach it
// could start and control runs. It returns an error naming the variables
// and the address, unless a.Insecure is set (--insecure), which is logged
// as a warning. An empty address (no API) passes; otherwise a tokens
// variable that does not parse is an error (APITokens), loopback included.
func CheckAPIExposure(a config.API, logger *slog.Logger) error {
	if a.Addr == "" {
		return nil
	}
	toks, err := APITokens(a)
	if err != nil {
		return fmt.Errorf("API: %w", err)
	}
	if len(toks) > 0 || IsLoopback(a.Addr) {
		return nil
	}
	if a.Insecure {
		logger.Warn("the API listens beyond loopback without a token (--insecure): anyone who can reach it can start and control runs; set "+tokenVars,
			"addr", a.Addr)
		return nil
	}
	return fmt.Errorf("API: refusing to listen on %s without %s: beyond loopback, anyone who can reach the API could start and control runs; set one, listen on 127.0.0.1, or pass --insecure",
		a.Addr, tokenVars)
}

// RunAPI is the API process: it serves the REST API on cfg.API.Addr until ctx
// is done, unless CheckAPIExposure refuses the address. It connects to Temporal lazily, so it starts (and /health answers
// 503) while Temporal is down. When ready is not nil, it receives the
// address once the server accepts connections.
func RunAPI(ctx context.Context, cfg config.Config, logger *slog.Logger, ready chan<- string) error {
	if err := CheckAPIExposure(cfg.API, logger); err != nil {
		return err
	}
	// One registry for the SDK client's metrics and the API's, on /metrics.
	m, err := metrics.New(metrics.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer func() { _ = m.Shutdown(context.Background()) }()
	c, err := client.NewLazyClient(ClientOptions(cfg, logger, m.SDKHandler()))
	if err != nil {
		return fmt.Errorf("create a Temporal client for %s (namespace %s): %w", cfg.Client.HostPort, cfg.Client.Namespace, err)
	}
	defer c.Close()
	srv, err := NewAPI(c, cfg, logger, m)
	if err != nil {
		return err
	}
	toks, err := APITokens(cfg.API)
	if err != nil {
		return err
	}
	// Counts per role only: never the tokens.
	auth, tokens := len(toks) > 0, TokenRoles(toks)
	addr, done, stop, err := ServeAPI(srv, cfg.API.Addr)
	if err != nil {
		return err
	}
	logger.Info("API listening",
		"addr", addr,
		"temporal_address", cfg.Client.HostPort,
		"namespace", cfg.Client.Namespace,
		"task_queue", cfg.TaskQueue,
		"auth", auth,
		"tokens", tokens,
		"cors_origins", cfg.API.CORSOrigins)
	if ready != nil {
		ready <- addr
	}
	select {
	case <-done:
	case <-ctx.Done():
		logger.Info("API shutting down")
	}
	if err := stop(); err != nil {
		return err
	}
	logger.Info("API stopped")
	return nil
}
