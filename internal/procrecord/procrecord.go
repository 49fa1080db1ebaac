// Package procrecord records the process groups of a worker's running
// commands in a directory, so that a worker that starts again after a crash
// can kill what its killed predecessor left running. The kernel kills a
// command when its worker dies (the parent-death signal), but not the
// processes the command started: they live on in the command's process
// group while Temporal retries the node elsewhere, and two attempts of one
// node would run at once.
//
// Every running group has one record, a JSON file named after a random
// token that the command's environment carries (TokenEnv) and its children
// inherit. Cleanup, run when a worker starts, kills the processes of the
// groups whose owning worker is dead and that prove, by the token in their
// environment, to belong to the recorded attempt. Only Linux records
// anything; elsewhere the functions do nothing.
package procrecord

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// TokenEnv is the variable that carries a running command's token; every
// process the command starts inherits it unless it clears its environment.
const TokenEnv = "MAESTRO_PROCESS_TOKEN"

// Record describes one running command's process group.
type Record struct {
	// PGID is the process group ID (the group leader's PID).
	PGID int `json:"pgid"`
	// LeaderStart is the group leader's start time (field 22 of
	// /proc/<pid>/stat, in clock ticks since boot); 0 when it was gone by
	// the time the record was written.
	LeaderStart uint64 `json:"leader_start"`
	// OwnerPID and OwnerStart identify the worker process that runs the
	// command: its PID and start time. A record whose owner is alive is
	// never touched by another worker.
	OwnerPID   int    `json:"owner_pid"`
	OwnerStart uint64 `json:"owner_start"`
	// WorkflowID, NodeID and Attempt name the node's attempt.
	WorkflowID string `json:"workflow_id"`
	NodeID     string `json:"node_id"`
	Attempt    int32  `json:"attempt"`
	// Token is the random value of TokenEnv in the command's environment.
	Token string `json:"token"`
}

// NewToken returns a new random token: 32 hex digits.
func NewToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("process token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// validToken reports whether tok is a token NewToken could have made, and so
// a safe file name.
func validToken(tok string) bool {
	if len(tok) != 32 {
		return false
	}
	_, err := hex.DecodeString(tok)
	return err == nil
}
