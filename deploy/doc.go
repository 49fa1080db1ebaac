// Package deploy holds the files of Maestro's production stack besides the
// Dockerfile and docker-compose.yml at the repository root: the one-shot
// setup scripts the compose file runs in temporalio/admin-tools (scripts/)
// and the Temporal server's dynamic configuration (temporal/). It has no
// code; its test checks that the compose file, the Dockerfile and these
// files agree with each other and with the environment variables Maestro
// reads, since no Docker engine runs in CI. prodcheck/run.sh runs the same
// stack without Docker (PostgreSQL from Debian, Temporal's server and tools
// built from the Go module proxy) and drives 200 runs through it; the test
// checks that it gives the programs the compose file's environment.
package deploy
