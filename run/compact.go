package run

import (
	"encoding/json"
	"fmt"
)

// CompactNodesAbove is the size of a status's nodes, as JSON, above which
// a run's result holds them compressed (Status.Compact): every node's
// state is ~300 bytes of JSON, most of the result of a big run and of its
// history's bytes, and compresses about tenfold. A small run's result stays
// readable as it is in the Temporal Web UI.
const CompactNodesAbove = 8 << 10

// maxStatusNodesBytes bounds the decompressed nodes of a status: no status
// holds more than StatusNodes nodes, which the live status query already
// answers within Temporal's 2 MB payload limit.
const maxStatusNodesBytes = 4 << 20

// Compact moves s.Nodes into NodesCompressed when their JSON is over
// CompactNodesAbove bytes (and not over what UnmarshalJSON accepts), to
// keep a run's result small in its history;
// decoding the status expands them again. The rest of the status (state,
// counts, the running, waiting and failed nodes, usage, error) stays
// readable as it is.
func (s *Status) Compact() error {
	if len(s.Nodes) == 0 {
		return nil
	}
	raw, err := json.Marshal(s.Nodes)
	if err != nil {
		return fmt.Errorf("compact the status: %w", err)
	}
	if len(raw) <= CompactNodesAbove || len(raw) > maxStatusNodesBytes {
		// Small enough to read as it is, or more than a decoder accepts
		// (no status the query answers is that big): left whole.
		return nil
	}
	data, err := gzipJSON(json.RawMessage(raw))
	if err != nil {
		return fmt.Errorf("compact the status: %w", err)
	}
	s.Nodes, s.NodesCompressed = nil, data
	return nil
}

// statusJSON is Status without its JSON methods.
type statusJSON Status

// UnmarshalJSON decodes a status, expanding nodes that Compact compressed.
func (s *Status) UnmarshalJSON(b []byte) error {
	var w statusJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if len(w.NodesCompressed) > 0 {
		var nodes []NodeStatus
		if err := gunzipJSON(w.NodesCompressed, maxStatusNodesBytes, &nodes); err != nil {
			return fmt.Errorf("the status's compressed nodes: %w", err)
		}
		w.Nodes, w.NodesCompressed = nodes, nil
	}
	*s = Status(w)
	return nil
}
