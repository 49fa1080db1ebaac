// Package deploy holds the files of Maestro's production stack besides the
// Dockerfile and docker-compose.yml at the repository root: the one-shot
// setup scripts the compose file runs in temporalio/admin-tools (scripts/),
// the Temporal server's dynamic configuration (temporal/), and the systemd
// units of `maestro worker` and `maestro api` with their example
// environment file (systemd/). It has no code; its tests check that the
// compose file, the Dockerfile, the units and these files agree with each
// other and with the environment variables Maestro reads, since no Docker
// engine or systemd runs in CI (systemd-analyze verifies the units when
// installed). prodcheck/run.sh runs the same stack without Docker
// (PostgreSQL from Debian, Temporal's server and tools built from the Go
// module proxy) and drives 200 runs through it; a test checks that it gives
// the programs the compose file's environment.
package deploy
