package workflows

// The commits of a workspace run, decided in plain Go like the rest of the
// scheduler: a node starts from its dependencies' heads (the run's start
// for a root), and leaves its own commit, or — a node that makes none, such
// as noop, http and approval nodes — passes its bases on.

// bases returns the commits node i starts from: the heads of its
// dependencies in DependsOn order, each once; start for a root.
func (s *scheduler) bases(i int, start string) []string {
	if len(s.deps[i]) == 0 {
		return []string{start}
	}
	var out []string
	seen := map[string]bool{}
	for _, j := range s.deps[i] {
		for _, h := range s.heads(j, start) {
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	return out
}

// heads returns the commits completed node i leaves: its commit, or its
// bases when it made none.
func (s *scheduler) heads(i int, start string) []string {
	if s.headsOf == nil {
		s.headsOf = make([][]string, len(s.nodes))
	}
	if h := s.headsOf[i]; h != nil {
		return h
	}
	var h []string
	if res := s.results[i]; res != nil && res.Commit != nil && res.Commit.SHA != "" {
		h = []string{res.Commit.SHA}
	} else {
		h = s.bases(i, start)
	}
	if s.results[i] != nil { // final once completed
		s.headsOf[i] = h
	}
	return h
}

// finalHeads returns the heads of the nodes nothing depends on, each once,
// in declared order: what the run's branch is made of.
func (s *scheduler) finalHeads(start string) []string {
	var out []string
	seen := map[string]bool{}
	for i := range s.nodes {
		if len(s.users[i]) > 0 {
			continue
		}
		for _, h := range s.heads(i, start) {
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	return out
}
