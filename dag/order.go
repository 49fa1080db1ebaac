package dag

// Levels groups node IDs by depth: level 0 has no dependencies, level k
// depends on something in level k-1. Within a level, IDs keep declared order.
// Levels is meant for valid (acyclic) pipelines; nodes on a cycle or depending
// on unknown nodes are left out.
func (p Pipeline) Levels() [][]string {
	idx := p.Index()
	depth := make([]int, len(p.Nodes))
	state := make([]int8, len(p.Nodes)) // 0 new, 1 visiting, 2 done, 3 broken
	var visit func(i int) int
	visit = func(i int) int {
		switch state[i] {
		case 1, 3:
			state[i] = 3
			return -1
		case 2:
			return depth[i]
		}
		state[i] = 1
		d := 0
		for _, dep := range p.Nodes[i].DependsOn {
			j, ok := idx[dep]
			if !ok || j == i {
				state[i] = 3
				return -1
			}
			dd := visit(j)
			if dd < 0 {
				state[i] = 3
				return -1
			}
			d = max(d, dd+1)
		}
		if state[i] == 3 {
			return -1
		}
		state[i] = 2
		depth[i] = d
		return d
	}
	var levels [][]string
	for i := range p.Nodes {
		d := visit(i)
		if d < 0 {
			continue
		}
		for len(levels) <= d {
			levels = append(levels, nil)
		}
		levels[d] = append(levels[d], p.Nodes[i].ID)
	}
	return levels
}

// Order returns node IDs in the order a one-at-a-time run executes them:
// declared order for ModeLinear, levels flattened for the DAG modes.
func (p Pipeline) Order(mode Mode) []string {
	if mode == ModeLinear {
		ids := make([]string, len(p.Nodes))
		for i, n := range p.Nodes {
			ids[i] = n.ID
		}
		return ids
	}
	var ids []string
	for _, level := range p.Levels() {
		ids = append(ids, level...)
	}
	return ids
}
