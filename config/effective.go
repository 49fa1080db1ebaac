package config

// Effective is the configuration as shown to people (`maestro config`); it
// never includes secrets, only whether they are set.
type Effective struct {
	TemporalAddress string `json:"temporal_address"`
	Namespace       string `json:"namespace"`
	TaskQueue       string `json:"task_queue"`
	DefaultMode     string `json:"default_mode"`
	TLS             bool   `json:"tls"`
	APIKeySet       bool   `json:"api_key_set"`
	DAGExecution    string `json:"maestro_enable_dag_execution"`
	Parallel        string `json:"maestro_enable_parallel_execution"`
	DataDir         string `json:"data_dir"`
	ArtifactDir     string `json:"artifact_dir"`
	WorkerProcDir   string `json:"worker_proc_dir"`
	MetricsAddr     string `json:"metrics_addr"`
	// WorkerStopTimeout is MAESTRO_WORKER_STOP_TIMEOUT.
	WorkerStopTimeout string `json:"worker_stop_timeout"`
	AgentProvider     string `json:"agent_provider,omitempty"`
	AgentModel        string `json:"agent_model,omitempty"`
	AgentPreset       string `json:"agent_preset,omitempty"`
	// PricesFile is MAESTRO_PRICES_FILE.
	PricesFile  string `json:"prices_file,omitempty"`
	APIAddr     string `json:"api_addr"`
	APITokenSet bool   `json:"api_token_set"`
	// APITokensFile is MAESTRO_API_TOKENS_FILE.
	APITokensFile string `json:"api_tokens_file,omitempty"`
	// APITokenRoles counts the configured API tokens per role
	// (MAESTRO_API_TOKEN counting as admin), nil when there is none.
	// Effective leaves it nil: the caller that parses the tokens
	// (process.APITokens) fills it in.
	APITokenRoles  map[string]int `json:"api_token_roles,omitempty"`
	APICORSOrigins []string       `json:"api_cors_origins,omitempty"`
	APIRateLimit   float64        `json:"api_rate_limit"`
	// TemporalUIURL is MAESTRO_TEMPORAL_UI_URL.
	TemporalUIURL string `json:"temporal_ui_url,omitempty"`
	PolicyFile    string `json:"policy_file,omitempty"`
	// TemplateMaxBytes and TemplateTimeout bound a template's rendering.
	TemplateMaxBytes int    `json:"template_max_bytes"`
	TemplateTimeout  string `json:"template_timeout"`
}

// Effective describes c for display; env supplies the raw mode flags.
func (c Config) Effective(env Env) Effective {
	get := func(k string) string {
		if v, ok := env.LookupEnv(k); ok {
			return v
		}
		return "(unset)"
	}
	return Effective{
		TemporalAddress:   c.Client.HostPort,
		Namespace:         c.Client.Namespace,
		TaskQueue:         c.TaskQueue,
		DefaultMode:       c.DefaultMode,
		TLS:               c.Client.ConnectionOptions.TLS != nil,
		APIKeySet:         c.Client.Credentials != nil,
		DAGExecution:      get(EnvEnableDAG),
		Parallel:          get(EnvEnableParallel),
		DataDir:           c.Dev.DataDir,
		ArtifactDir:       c.ArtifactDir,
		WorkerProcDir:     c.WorkerProcDir,
		MetricsAddr:       c.MetricsAddr,
		WorkerStopTimeout: c.WorkerStopTimeout.String(),
		AgentProvider:     c.Agent.Provider,
		AgentModel:        c.Agent.Model,
		AgentPreset:       c.Agent.Preset,
		PricesFile:        c.PricesFile,
		APIAddr:           c.API.Addr,
		APITokenSet:       c.API.Token != "",
		APITokensFile:     c.API.TokensFile,
		APICORSOrigins:    c.API.CORSOrigins,
		APIRateLimit:      c.API.RateLimit,
		TemporalUIURL:     c.API.TemporalUI,
		PolicyFile:        c.Policy.File,
		TemplateMaxBytes:  c.Template.MaxBytes,
		TemplateTimeout:   c.Template.Timeout.String(),
	}
}
