package api

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Role is what an API token may do. Each role includes the ones before it:
// RoleRead < RoleOperate < RoleAdmin.
type Role string

// The roles of API tokens.
const (
	// RoleRead may call the GET endpoints (but /metrics) and open event
	// streams.
	RoleRead Role = "read"
	// RoleOperate may also start, cancel, terminate, pause, resume, retry and rewind runs,
	// decide approvals and budgets, and validate pipelines.
	RoleOperate Role = "operate"
	// RoleAdmin may do everything, /metrics included.
	RoleAdmin Role = "admin"
)

// Roles lists every role, the least privileged first.
var Roles = []Role{RoleRead, RoleOperate, RoleAdmin}

// rank orders the roles; an unknown role ranks 0.
func (r Role) rank() int {
	switch r {
	case RoleRead:
		return 1
	case RoleOperate:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether a token of role r may call what needs role need.
func (r Role) Allows(need Role) bool { return r.Valid() && r.rank() >= need.rank() }

// Token is an API bearer token with its role. Its String and LogValue
// never show the secret.
type Token struct {
	Role   Role
	Secret string
}

// String returns the role only (the %v and %s verbs): the secret is never
// printed.
func (t Token) String() string { return string(t.Role) + ":<redacted>" }

// GoString returns the role only (the %#v verb): the secret is never
// printed.
func (t Token) GoString() string {
	return "api.Token{Role: " + string(t.Role) + ", Secret: <redacted>}"
}

// LogValue keeps the secret out of logs.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// ErrTokenSyntax is wrapped by every error of ParseTokens and
// ParseTokenList. The errors name the line or entry, never its text: a
// malformed entry may be a token.
var ErrTokenSyntax = errors.New("malformed API token entry")

// ParseTokens parses a tokens file: one "<role>:<token>" a line, white space
// around either trimmed; blank lines and lines starting with # are ignored.
// A malformed line or an unknown role is an error naming the line number.
func ParseTokens(data []byte) ([]Token, error) {
	var toks []Token
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		t, err := parseToken(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		toks = append(toks, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read API tokens: %w", err)
	}
	return toks, nil
}

// ParseTokenList parses comma-separated "<role>:<token>" entries (the form
// of MAESTRO_API_TOKENS); empty entries are ignored. A malformed entry or an
// unknown role is an error naming the entry's position (from 1).
func ParseTokenList(s string) ([]Token, error) {
	var toks []Token
	for i, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		t, err := parseToken(e)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		toks = append(toks, t)
	}
	return toks, nil
}

// parseToken parses one "<role>:<token>"; its errors never quote it.
func parseToken(s string) (Token, error) {
	role, secret, ok := strings.Cut(s, ":")
	if !ok {
		return Token{}, fmt.Errorf("%w: want <role>:<token>", ErrTokenSyntax)
	}
	r := Role(strings.TrimSpace(role))
	if !r.Valid() {
		return Token{}, fmt.Errorf("%w: unknown role (want %s)", ErrTokenSyntax, roleNames())
	}
	secret = strings.TrimSpace(secret)
	if secret == "" || strings.ContainsAny(secret, " \t,") {
		return Token{}, fmt.Errorf("%w: the token is empty or holds white space or a comma", ErrTokenSyntax)
	}
	return Token{Role: r, Secret: secret}, nil
}

func roleNames() string {
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// CountRoles returns how many of toks have each role (every role present,
// zero or not).
func CountRoles(toks []Token) map[Role]int {
	n := make(map[Role]int, len(Roles))
	for _, r := range Roles {
		n[r] = 0
	}
	for _, t := range toks {
		n[t.Role]++
	}
	return n
}

// RoleDetails are the details of a 403 forbidden error: the role the route
// needs and the token's.
type RoleDetails struct {
	Required Role `json:"required_role"`
	Role     Role `json:"role"`
}

// roleKey is where the auth middleware stores the caller's role.
const roleKey = "maestro.role"

// authenticator resolves bearer tokens to roles. Secrets are kept as
// SHA-256 digests and every one is compared, in constant time, so that
// neither a token's length nor its position shows in the timing.
type authenticator struct {
	digests [][sha256.Size]byte
	roles   []Role
}

func newAuthenticator(toks []Token) *authenticator {
	a := &authenticator{}
	for _, t := range toks {
		a.digests = append(a.digests, sha256.Sum256([]byte(t.Secret)))
		a.roles = append(a.roles, t.Role)
	}
	return a
}

// role returns the role of key, or "" when key is no token. When one secret
// is listed twice, the higher role wins.
func (a *authenticator) role(key string) Role {
	d := sha256.Sum256([]byte(key))
	var found Role
	for i := range a.digests {
		if subtle.ConstantTimeCompare(d[:], a.digests[i][:]) == 1 && a.roles[i].rank() > found.rank() {
			found = a.roles[i]
		}
	}
	return found
}

// tokens returns every configured token: Tokens, and Token as an admin one.
func (s *Server) tokens() []Token {
	toks := append([]Token(nil), s.cfg.Tokens...)
	if s.cfg.Token != "" {
		toks = append(toks, Token{Role: RoleAdmin, Secret: s.cfg.Token})
	}
	return toks
}

// requiredRole is the role route c needs: admin for /metrics, operate for
// the routes that change runs (and validate), read for every other GET;
// anything else (routes added through Echo, unknown methods) needs admin.
func requiredRole(c echo.Context) Role {
	path, method := c.Path(), c.Request().Method
	if path == "/metrics" {
		return RoleAdmin
	}
	if method == http.MethodGet || method == http.MethodHead {
		return RoleRead
	}
	if method == http.MethodPost {
		switch path {
		case "/api/workflows", "/api/workflows/:id/cancel", "/api/workflows/:id/terminate", "/api/workflows/:id/pause",
			"/api/workflows/:id/resume", "/api/workflows/:id/retry", "/api/workflows/:id/rewind",
			"/api/workflows/:id/approve/:node", "/api/workflows/:id/budget", "/api/dags/validate":
			return RoleOperate
		}
	}
	return RoleAdmin
}

// authMiddleware authenticates every request but /health, the run page's
// static files (/ and /assets/) and CORS preflights (401 without a valid token) and checks the token's role
// against the route's (403 forbidden naming the role needed). An event
// stream may carry the token as a subprotocol instead (browsers cannot set
// headers on a WebSocket).
func (s *Server) authMiddleware(auth *authenticator) []echo.MiddlewareFunc {
	open := func(c echo.Context) bool {
		return isHealth(c) || isPage(c) || c.Request().Method == http.MethodOptions
	}
	keyAuth := middleware.KeyAuthWithConfig(middleware.KeyAuthConfig{
		Skipper: func(c echo.Context) bool {
			if open(c) {
				return true
			}
			if r := streamTokenRole(c, auth); r != "" {
				c.Set(roleKey, r)
				return true
			}
			return false
		},
		KeyLookup: "header:" + echo.HeaderAuthorization,
		Validator: func(key string, c echo.Context) (bool, error) {
			r := auth.role(key)
			if r == "" {
				return false, nil
			}
			c.Set(roleKey, r)
			return true, nil
		},
		ErrorHandler: func(err error, _ echo.Context) error {
			return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized,
				Message: "a valid bearer token is required (Authorization: Bearer <token>)"}
		},
	})
	checkRole := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if open(c) {
				return next(c)
			}
			role, _ := c.Get(roleKey).(Role)
			need := requiredRole(c)
			if !role.Allows(need) {
				return &Error{Status: http.StatusForbidden, Code: CodeForbidden,
					Message: fmt.Sprintf("this endpoint needs a token of role %s or above; this token's role is %s", need, role),
					Details: RoleDetails{Required: need, Role: role}}
			}
			return next(c)
		}
	}
	return []echo.MiddlewareFunc{keyAuth, checkRole}
}
