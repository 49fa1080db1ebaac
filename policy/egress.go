package policy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Egress says where a worker's requests may go. Addresses are checked as
// connections are made, on the resolved address, so that neither DNS (a
// name resolving to 127.0.0.1, or rebinding between checks) nor a redirect
// gets around the rules.
type Egress struct {
	// Schemes are the URL schemes allowed (http, https).
	Schemes []string `json:"schemes"`
	// Public allows every public address (not loopback, private,
	// link-local, shared, unspecified or multicast).
	Public bool `json:"public"`
	// Allow lists further destinations: a host name ("hooks.internal",
	// "*.example.com": any address it resolves to), a host name or IP with
	// a port ("127.0.0.1:8080"), an IP or a CIDR ("10.1.0.0/16"); "*" is
	// everything.
	Allow []string `json:"allow,omitempty"`
}

// Describe is the egress rules in a few words.
func (e Egress) Describe() string {
	s := "public addresses"
	if !e.Public {
		s = "no public addresses"
	}
	if len(e.Allow) > 0 {
		s += " and " + strings.Join(e.Allow, ", ")
	}
	return s + " over " + strings.Join(e.Schemes, "/")
}

// rule is one parsed Allow entry.
type rule struct {
	any    bool
	host   string // lower-case name, or "*.suffix"
	prefix netip.Prefix
	port   string // "" any port
}

func parseRule(s string) (rule, error) {
	s = strings.TrimSpace(s)
	if s == Any {
		return rule{any: true}, nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return rule{prefix: p.Masked()}, nil
	}
	if a, ok := addrOf(s); ok {
		return rule{prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return rule{}, fmt.Errorf("%q: bad port", s)
		}
		host, port = h, p
	}
	if a, ok := addrOf(host); ok {
		return rule{prefix: netip.PrefixFrom(a, a.BitLen()), port: port}, nil
	}
	name := strings.TrimPrefix(host, "*.")
	if name == "" || strings.ContainsAny(name, "/*@ ") {
		return rule{}, fmt.Errorf("%q is not a host, host:port, IP or CIDR", s)
	}
	return rule{host: strings.ToLower(host), port: port}, nil
}

func (e Egress) rules() []rule {
	var out []rule
	for _, a := range e.Allow {
		if r, err := parseRule(a); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// hostListed reports whether a host name rule allows host on port.
func (e Egress) hostListed(host, port string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, r := range e.rules() {
		if r.any {
			return true
		}
		if r.host == "" || (r.port != "" && r.port != port) {
			continue
		}
		if r.host == host || (strings.HasPrefix(r.host, "*.") && strings.HasSuffix(host, r.host[1:])) {
			return true
		}
	}
	return false
}

// DeniedError is a destination the policy does not allow.
type DeniedError struct {
	// Address is the destination (host:port, or a URL's scheme).
	Address string
	// Rule is the rule that denies it.
	Rule string
}

// Error names the address and the rule.
func (e *DeniedError) Error() string {
	return fmt.Sprintf("%s is not allowed by the worker policy: %s", e.Address, e.Rule)
}

// special names the class of a non-public address, or "".
func special(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast():
		return "multicast"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsPrivate():
		return "private"
	case cgnat.Contains(a), thisNet.Contains(a), a == broadcast, v4compat.Contains(a), nat64.Contains(a):
		return "reserved"
	}
	return ""
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	broadcast = netip.MustParseAddr("255.255.255.255")
	v4compat  = netip.MustParsePrefix("::/96")        // IPv4-compatible IPv6, deprecated
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // NAT64: reaches IPv4 addresses, private ones included
)

// CheckAddr checks a resolved destination against the rules; field names
// the policy section ("http" or "agent") in the rule.
func (e Egress) CheckAddr(ap netip.AddrPort, field string) error {
	a := ap.Addr().Unmap()
	port := strconv.Itoa(int(ap.Port()))
	for _, r := range e.rules() {
		if r.any || (r.prefix.IsValid() && r.prefix.Contains(a) && (r.port == "" || r.port == port)) {
			return nil
		}
	}
	where := netip.AddrPortFrom(a, ap.Port()).String()
	if class := special(a); class != "" {
		return &DeniedError{Address: where, Rule: fmt.Sprintf("%s addresses are denied unless listed in %s.allow", class, field)}
	}
	if !e.Public {
		return &DeniedError{Address: where, Rule: fmt.Sprintf("public addresses are denied (%s.public is false) unless listed in %s.allow", field, field)}
	}
	return nil
}

// CheckURL checks what can be checked of u before connecting: its scheme,
// and its host when it is a literal IP or localhost. It returns nil for a
// host name the rules do not list; its addresses are checked at connect
// time.
func (e Egress) CheckURL(u *url.URL, field string) error {
	if !slices.Contains(e.Schemes, strings.ToLower(u.Scheme)) {
		return &DeniedError{Address: u.Scheme + "://" + u.Host, Rule: fmt.Sprintf("scheme %q is not allowed (allowed: %s)", u.Scheme, strings.Join(e.Schemes, ", "))}
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	if e.hostListed(host, port) {
		return nil
	}
	n, _ := strconv.Atoi(port)
	if a, ok := addrOf(host); ok {
		return e.CheckAddr(netip.AddrPortFrom(a, uint16(n)), field)
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return e.CheckAddr(netip.AddrPortFrom(netip.IPv6Loopback(), uint16(n)), field)
	}
	if !e.Public && !slices.ContainsFunc(e.rules(), func(r rule) bool { return r.prefix.IsValid() }) {
		// Only listed names can be reached: no address rule could allow it.
		return &DeniedError{Address: net.JoinHostPort(host, port),
			Rule: fmt.Sprintf("the host is not listed in %s.allow (public addresses are denied: %s.public is false)", field, field)}
	}
	return nil
}

type listedKey struct{}

// Control is a net.Dialer ControlContext: it refuses a connection to an
// address the rules deny, unless the dial was for a host name they list.
func (e Egress) Control(field string) func(ctx context.Context, network, address string, _ syscall.RawConn) error {
	return func(ctx context.Context, network, address string, _ syscall.RawConn) error {
		if listed, _ := ctx.Value(listedKey{}).(bool); listed {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &DeniedError{Address: address, Rule: "not an IP address and port"}
		}
		return e.CheckAddr(ap, field)
	}
}

// DialContext returns d's DialContext checking every connection: a host
// name the rules list may resolve to any address; any other destination is
// checked on the resolved address (see Control).
func (e Egress) DialContext(d *net.Dialer, field string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	dd := *d
	dd.ControlContext = e.Control(field)
	dd.Control = nil
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && e.hostListed(host, port) {
			ctx = context.WithValue(ctx, listedKey{}, true)
		}
		return dd.DialContext(ctx, network, addr)
	}
}

// AllowsAll reports whether the rules allow every address.
func (e Egress) AllowsAll() bool { return slices.Contains(e.Allow, Any) }

// Client returns an http.Client whose every connection, redirects included,
// obeys the rules; a redirect to a scheme they do not allow is refused. It
// uses no proxy (a proxy would connect on the worker's behalf), unless the
// rules allow every address: then it is a plain client.
func (e Egress) Client(field string) *http.Client {
	if e.AllowsAll() {
		return &http.Client{}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = e.DialContext(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}, field)
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if !slices.Contains(e.Schemes, req.URL.Scheme) {
				return &DeniedError{Address: req.URL.Scheme + "://" + req.URL.Host, Rule: fmt.Sprintf("redirect to scheme %q is not allowed (allowed: %s)", req.URL.Scheme, strings.Join(e.Schemes, ", "))}
			}
			return nil
		},
	}
}

// With returns a copy of e that also allows the given host:port entries
// (the worker's own configured destinations).
func (e Egress) With(allow ...string) Egress {
	e.Allow = append(slices.Clone(e.Allow), allow...)
	return e
}
