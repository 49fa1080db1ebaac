// Package bench measures Maestro at scale on a real, embedded Temporal
// server: its tests complete pipelines of up to dag.MaxNodes nodes and check
// what users rely on at that size (the run closes, its status is a summary
// with its nodes paged, history stays far from Temporal's limits), and its
// benchmarks put Maestro's DAGWorkflow side by side with a plain
// sequence/parallel workflow registered in the same worker. See
// docs/BENCHMARKS.md.
package bench
