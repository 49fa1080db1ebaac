package workflows

// readyQueue holds the declared indices of nodes that may start, and gives
// them back in the pipeline's order (lowest position first): a binary heap,
// so that pushing and popping cost O(log n) whatever the order nodes become
// ready in.
type readyQueue struct {
	pos   []int // declared index → position in the pipeline's order
	items []int
}

func (q *readyQueue) less(a, b int) bool { return q.pos[q.items[a]] < q.pos[q.items[b]] }

// push adds node i.
func (q *readyQueue) push(i int) {
	q.items = append(q.items, i)
	for k := len(q.items) - 1; k > 0; {
		parent := (k - 1) / 2
		if !q.less(k, parent) {
			break
		}
		q.items[k], q.items[parent] = q.items[parent], q.items[k]
		k = parent
	}
}

// pop removes and returns the node that comes first in the pipeline's
// order.
func (q *readyQueue) pop() (int, bool) {
	n := len(q.items)
	if n == 0 {
		return -1, false
	}
	top := q.items[0]
	q.items[0] = q.items[n-1]
	q.items = q.items[:n-1]
	for k := 0; ; {
		l, r, least := 2*k+1, 2*k+2, k
		if l < len(q.items) && q.less(l, least) {
			least = l
		}
		if r < len(q.items) && q.less(r, least) {
			least = r
		}
		if least == k {
			break
		}
		q.items[k], q.items[least] = q.items[least], q.items[k]
		k = least
	}
	return top, true
}
