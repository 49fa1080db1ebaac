package devserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// DatabaseFile is the name of the SQLite file in Options.DataDir.
const DatabaseFile = "temporal.db"

const clusterName = "active"

// Options configures Start.
type Options struct {
	// DataDir holds the SQLite database; it is created if missing. State
	// survives restarts.
	DataDir string
	// FrontendAddr is the gRPC host:port of Temporal's frontend, e.g.
	// 127.0.0.1:7233.
	FrontendAddr string
	// UIAddr is the host:port of the Temporal Web UI; empty means no UI.
	UIAddr string
	// Namespace is created if missing; default "default".
	Namespace string
	// SearchAttributes are registered on a new namespace.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's logs; nil discards them below warnings.
	Logger *slog.Logger
}

// Server is a running embedded Temporal server (and Web UI).
type Server struct {
	srv          temporal.Server
	ui           *uiserver.Server
	frontendAddr string
	uiURL        string
}

// FrontendAddr is the host:port clients dial.
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// UIURL is the Web UI's address, or "" without a UI.
func (s *Server) UIURL() string { return s.uiURL }

// Stop stops the UI and the server.
func (s *Server) Stop() {
	if s.ui != nil {
		s.ui.Stop()
	}
	s.srv.Stop()
}

// Start starts a single-node Temporal server persisting to a SQLite file in
// opts.DataDir (WAL journal), tuned for low latency (see DynamicConfig), and,
// when opts.UIAddr is set, the Temporal Web UI.
func Start(opts Options) (*Server, error) {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	host, port, err := splitHostPort("frontend", opts.FrontendAddr)
	if err != nil {
		return nil, err
	}
	// Fail clearly on taken ports: the server and UI would otherwise fail
	// late (the UI by exiting the process).
	if err := checkFree(opts.FrontendAddr); err != nil {
		return nil, fmt.Errorf("temporal frontend: %w", err)
	}
	if opts.UIAddr != "" {
		if _, _, err := splitHostPort("ui", opts.UIAddr); err != nil {
			return nil, err
		}
		if err := checkFree(opts.UIAddr); err != nil {
			return nil, fmt.Errorf("temporal web UI: %w", err)
		}
	}
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	sqlCfg, err := prepareDatabase(filepath.Join(opts.DataDir, DatabaseFile), opts.Namespace, opts.SearchAttributes)
	if err != nil {
		return nil, err
	}

	ports, err := freePorts(host, 4) // frontend HTTP, history, matching, worker
	if err != nil {
		return nil, err
	}
	cfg := serverConfig(host, port, ports, sqlCfg)
	internal := func(name primitives.ServiceName) static.Hosts {
		return static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(cfg.Services[string(name)].RPC.GRPCPort)))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: internal(primitives.FrontendService),
			primitives.HistoryService:  internal(primitives.HistoryService),
			primitives.MatchingService: internal(primitives.MatchingService),
			primitives.WorkerService:   internal(primitives.WorkerService),
		}),
		temporal.WithLogger(newServerLogger(opts.Logger)),
		temporal.WithDynamicConfigClient(DynamicConfig()),
	)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	s := &Server{srv: srv, frontendAddr: opts.FrontendAddr}
	if opts.UIAddr != "" {
		uiHost, uiPort, _ := splitHostPort("ui", opts.UIAddr)
		s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
			Host:                uiHost,
			Port:                uiPort,
			TemporalGRPCAddress: opts.FrontendAddr,
			EnableUI:            true,
			DefaultNamespace:    opts.Namespace,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
		}))
		go func() {
			if err := s.ui.Start(); err != nil {
				opts.Logger.Error("temporal web UI stopped", "error", err)
			}
		}()
		s.uiURL = "http://" + opts.UIAddr
	}
	return s, nil
}

// prepareDatabase creates the schema when the file is new, and the namespace
// when it is missing.
func prepareDatabase(file, namespace string, attrs map[string]enumspb.IndexedValueType) (*config.SQL, error) {
	sqlCfg := &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: file,
		ConnectAttributes: map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "normal",
		},
	}
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			_ = os.Remove(file) // a half-made schema would be taken as done next time
			return nil, fmt.Errorf("create database %s: %w", file, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("database %s: %w", file, err)
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, attrs)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", namespace, err)
	}
	return sqlCfg, nil
}

func serverConfig(host string, port int, ports []int, sqlCfg *config.SQL) *config.Config {
	frontendHTTP, history, matching, worker := ports[0], ports[1], ports[2], ports[3]
	addr := func(p int) string { return net.JoinHostPort(host, strconv.Itoa(p)) }
	svc := func(grpc, http int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpc, HTTPPort: http, BindOnIP: host}}
	}
	var cfg config.Config
	cfg.Global.Membership.MaxJoinDuration = 30 * time.Second
	cfg.Global.Membership.BroadcastAddress = host
	cfg.Persistence.DefaultStore = "sqlite"
	cfg.Persistence.VisibilityStore = "sqlite"
	cfg.Persistence.NumHistoryShards = 1
	cfg.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlCfg}}
	cfg.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             addr(port),
				HTTPAddress:            addr(frontendHTTP),
			},
		},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"
	cfg.Services = map[string]config.Service{
		"frontend": svc(port, frontendHTTP),
		"history":  svc(history, 0),
		"matching": svc(matching, 0),
		"worker":   svc(worker, 0),
	}
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	cfg.PublicClient.HostPort = addr(port)
	return &cfg
}

func splitHostPort(what, addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%s address %q: %w", what, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("%s address %q: bad port", what, addr)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// checkFree reports an error if addr cannot be listened on.
func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return l.Close()
}

// freePorts returns n ports on host that were free a moment ago.
func freePorts(host string, n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// FreeAddr returns 127.0.0.1:port for a port that was free a moment ago,
// for tests.
func FreeAddr() (string, error) {
	ports, err := freePorts("127.0.0.1", 1)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), nil
}
