package activities

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/policy"
)

// checkPolicy returns a PolicyDenied error naming every problem the worker
// policy finds in n, or nil. Destinations behind templates and host names
// are checked again as the node connects (see policy.Egress.Client).
func (a *Activities) checkPolicy(n dag.Node) error {
	if a.cfg.Policy == nil {
		return nil
	}
	ps := a.cfg.Policy.CheckNode(n)
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.String()
	}
	return &nodeError{typ: ErrTypePolicyDenied, nonRetryable: true, msg: strings.Join(msgs, "; ")}
}

// policyError is a PolicyDenied failure of node's field.
func policyError(node, field string, err error) *nodeError {
	return &nodeError{typ: ErrTypePolicyDenied, nonRetryable: true,
		msg: dag.Problem{Node: node, Field: "executor." + field, Message: err.Error()}.String()}
}

// deniedError returns a PolicyDenied failure when err is a connection the
// worker policy refused (a resolved address or a redirect), else nil.
func deniedError(node, field string, err error) *nodeError {
	var d *policy.DeniedError
	if !errors.As(err, &d) {
		return nil
	}
	return policyError(node, field, fmt.Errorf("connection refused: %w", d))
}

// hostPort returns the host:port of a base URL, to allow the worker's own
// configured model API whatever the policy; nil when there is none.
func hostPort(raw string) []string {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" {
		return nil
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return []string{net.JoinHostPort(u.Hostname(), port)}
}
