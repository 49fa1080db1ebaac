// Package run holds what crosses a run's boundaries, in one place: the
// workflow's input (Input), what the workflow hands an activity for one node
// and gets back (NodeInput, NodeResult, Failure, Usage), a person's decision
// on an approval node (Approval), and the run's live or final state (Status,
// NodeStatus) with the typed run and node states. Clients, the workflow and
// the activities all speak these types; their JSON is what Temporal's
// history holds, so it only ever grows compatibly (the replay tests over
// workflows/testdata/histories guard it).
package run
