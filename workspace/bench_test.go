package workspace

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkNodeCycle measures one node's git work on a ~50 MB, 5,000-file
// repository with a warm mirror: Checkout (one base) + write a file + Commit +
// Push + Remove. Per-phase means are reported as extra metrics.
func BenchmarkNodeCycle(b *testing.B) {
	ctx := context.Background()
	remote, _ := newRemote(b)
	clone := filepath.Join(b.TempDir(), "clone")
	gitT(b, "", "clone", "-q", remote, clone)
	rng := rand.New(rand.NewPCG(1, 2))
	raw := make([]byte, 5000) // 10,000 hex characters per file
	for i := range 5000 {
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		p := filepath.Join(clone, fmt.Sprintf("d%02d/f%04d.txt", i%50, i))
		if i < 50 {
			os.MkdirAll(filepath.Dir(p), 0o755)
		}
		if err := os.WriteFile(p, []byte(hex.EncodeToString(raw)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	gitT(b, clone, "add", "-A")
	gitT(b, clone, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "big")
	gitT(b, clone, "push", "-q", "origin", "HEAD:refs/heads/main")

	m := newManager(b)
	base, err := m.Resolve(ctx, remote, "main") // warms the mirror
	if err != nil {
		b.Fatal(err)
	}
	var tCheckout, tCommit, tPush, tRemove time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		c, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{base}})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := os.WriteFile(filepath.Join(c.Path(), "out.txt"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			b.Fatal(err)
		}
		res, err := c.Commit(ctx, "node", [][2]string{{"Maestro-Node", fmt.Sprint(i)}}, Identity{}, time.Time{})
		if err != nil || !res.Changed {
			b.Fatal(err, res.Changed)
		}
		t2 := time.Now()
		if err := m.Push(ctx, remote, res.SHA, fmt.Sprintf("refs/maestro/bench/n%d", i)); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		if err := c.Remove(); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		tCheckout += t1.Sub(t0)
		tCommit += t2.Sub(t1)
		tPush += t3.Sub(t2)
		tRemove += t4.Sub(t3)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tCheckout.Milliseconds())/n, "checkout-ms/op")
	b.ReportMetric(float64(tCommit.Milliseconds())/n, "commit-ms/op")
	b.ReportMetric(float64(tPush.Milliseconds())/n, "push-ms/op")
	b.ReportMetric(float64(tRemove.Milliseconds())/n, "remove-ms/op")
}
