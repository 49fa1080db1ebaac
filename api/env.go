package api

// Environment variables that configure the API wherever it runs (the
// maestro-api process and `maestro dev`).
const (
	// EnvAddr is the listen address.
	EnvAddr = "MAESTRO_API_ADDR"
	// EnvToken, when set, is the bearer token every endpoint but /health
	// requires.
	EnvToken = "MAESTRO_API_TOKEN"
	// EnvCORSOrigins is a comma-separated list of origins CORS allows.
	EnvCORSOrigins = "MAESTRO_API_CORS_ORIGINS"
	// EnvRateLimit is the requests per second allowed per client IP.
	EnvRateLimit = "MAESTRO_API_RATE_LIMIT"
)

// DefaultAddr is the listen address unless configured.
const DefaultAddr = "127.0.0.1:8080"
