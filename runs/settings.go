package runs

// Config returns the service's effective configuration, defaults applied, so
// that callers (the REST API, for instance) validate and report exactly as the
// service starts runs.
func (s *Service) Config() Config { return s.cfg }
