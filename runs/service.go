package runs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/policy"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/workflows"
	"github.com/maestrohq/maestro/workspace"
)

// Errors the service returns; match them with errors.Is.
var (
	ErrNotFound     = errors.New("run not found")
	ErrNotRunning   = errors.New("run is not running")
	ErrNotRetryable = errors.New("run cannot be retried")
	// ErrPayloadTooLarge marks a run whose input (the pipeline with its
	// params and requirement) is over Temporal's payload limit.
	ErrPayloadTooLarge = errors.New("run input too large")
	// ErrIdempotencyConflict marks a start whose ID names an existing run
	// that was started with a different request.
	ErrIdempotencyConflict = errors.New("run ID in use by a different request")
)

// MaxInputBytes is the largest encoded workflow input Start sends: Temporal's
// default per-payload limit (limit.blobSize.error, 2 MiB). A larger input is
// ErrPayloadTooLarge before anything is started; a server configured with a
// lower limit refuses the start itself, which is reported the same way.
const MaxInputBytes = 2 << 20

// memoRequestHash is the memo field holding the hash of the request a run was
// started with (see Start).
const memoRequestHash = "request_hash"

// closeGrace is added to the pipeline's timeout for the server-side execution
// timeout, a safety net: the workflow's own timer normally ends the run first
// and records every node's state.
const closeGrace = 10 * time.Minute

// Config configures a Service.
type Config struct {
	// TaskQueue is where runs are started; default workflows.DefaultTaskQueue.
	TaskQueue string
	// Namespace is the client's Temporal namespace; Health checks that it
	// exists and has Maestro's search attributes (empty: those checks are
	// skipped).
	Namespace string
	// Address is the client's Temporal address (host:port), only named in
	// Health's details.
	Address string
	// DefaultMode applies to pipelines that name no mode; default linear.
	DefaultMode dag.Mode
	// DataConverter must match the client's; nil means the default.
	DataConverter converter.DataConverter
	// TemplateRepos, when set (by `maestro dev`), gives every run of a
	// built-in template that names no workspace a new repository of its
	// own in this directory, so that templates leave a branch to look at.
	TemplateRepos string
	// Workspaces returns the git workspace manager that computes the
	// diffs of workspace runs (Diff), or why this process has none; nil
	// means none. It is called when a diff is first asked for.
	Workspaces func() (*workspace.Manager, error)
	// Policy, when set, is checked before a run starts: a pipeline it
	// forbids is refused with every problem as a *dag.ValidationError, and
	// nothing starts. The workers check every node again before it runs.
	Policy *policy.Policy
	// Host, when set, makes Health also check this machine as a worker
	// host (`maestro doctor`): the policy, the workspace directory and
	// git, the artifact directory, and the clock against Temporal's.
	Host *Host
}

// Service starts, inspects and controls runs through a Temporal client.
type Service struct {
	c   client.Client
	cfg Config
	// noOrderBy records that the visibility store refused ORDER BY.
	noOrderBy atomic.Bool
}

// New returns a Service using c.
func New(c client.Client, cfg Config) *Service {
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = workflows.DefaultTaskQueue
	}
	if cfg.DataConverter == nil {
		cfg.DataConverter = converter.GetDefaultDataConverter()
	}
	return &Service{c: c, cfg: cfg}
}

// Started identifies a run.
type Started struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// Existing says the ID was already in use and this is that run.
	Existing bool `json:"existing,omitempty"`
	// Status is the run's state: running for a run just started, the
	// existing run's state (as List reports it) when Existing is set.
	Status run.State `json:"status,omitempty"`
}

// unsafeID matches what a pipeline name may hold but a generated ID may not.
var unsafeID = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// Start validates req and starts a run. A request whose ID names an existing
// run, running or closed, returns that run with Existing set and starts
// nothing, if that run was started with the same request (the same workflow
// input once built, compared by a hash kept in the run's memo; runs started
// before the hash existed count as the same); with a different request it is
// ErrIdempotencyConflict. An ID that ValidateID refuses is a *FieldError
// naming "id"; an input over MaxInputBytes is ErrPayloadTooLarge.
func (s *Service) Start(ctx context.Context, req StartRequest) (*Started, error) {
	in, err := s.Build(req)
	if err != nil {
		return nil, err
	}
	id := strings.TrimSpace(req.ID)
	if id == "" {
		name := strings.Trim(unsafeID.ReplaceAllString(in.Pipeline.Name, "-"), "-")
		id = fmt.Sprintf("maestro-%s-%s", name[:min(len(name), 100)], uuid.NewString())
	} else if err := ValidateID("id", id); err != nil {
		return nil, err
	}
	if s.cfg.TemplateRepos != "" && in.Template != "" && in.Pipeline.Workspace == nil {
		in.Pipeline.Workspace = &dag.Workspace{Repo: filepath.Join(s.cfg.TemplateRepos, dag.RefSafe(id)+".git"), Create: true}
		addVerify(&in.Pipeline, testCommand(&in.Pipeline, true))
		if err := in.Pipeline.ValidateStart(); err != nil {
			return nil, err
		}
		if s.cfg.Policy != nil {
			if err := s.cfg.Policy.Check(in.Pipeline); err != nil {
				return nil, err
			}
		}
	}
	return s.start(ctx, id, in)
}

// Build validates req and returns the workflow input a start would use,
// with the service's default mode, checked against the service's policy.
func (s *Service) Build(req StartRequest) (*run.Input, error) {
	in, err := Build(req, s.cfg.DefaultMode)
	if err != nil {
		return nil, err
	}
	if s.cfg.Policy != nil {
		if err := s.cfg.Policy.Check(in.Pipeline); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// requestHash is the hash of a start's normalized request: its workflow input
// as JSON (struct fields in order, map keys sorted).
func requestHash(in *run.Input) (string, error) {
	data, err := json.Marshal(in)
	if err != nil {
		return "", fmt.Errorf("hash the run input: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// checkInputSize refuses an input over MaxInputBytes once encoded, and
// returns its encoded size.
func (s *Service) checkInputSize(in *run.Input) (int, error) {
	p, err := s.cfg.DataConverter.ToPayloads(*in)
	if err != nil {
		return 0, fmt.Errorf("encode the run input: %w", err)
	}
	n := proto.Size(p)
	if n > MaxInputBytes {
		return n, fmt.Errorf("%w: the run input is %d bytes encoded, over the limit of %d (Temporal's payload limit); pass large data by reference", ErrPayloadTooLarge, n, MaxInputBytes)
	}
	return n, nil
}

// isBlobSizeError tells Temporal's refusal of a payload over its limit.
func isBlobSizeError(err error) bool {
	var invalid *serviceerror.InvalidArgument
	return errors.As(err, &invalid) && strings.Contains(strings.ToLower(invalid.Message), "size exceeds limit")
}

func (s *Service) start(ctx context.Context, id string, in *run.Input) (*Started, error) {
	size, err := s.checkInputSize(in)
	if err != nil {
		return nil, err
	}
	input := *in
	if size > run.CompressInputAbove {
		// A big pipeline travels compressed (the workflow decodes it).
		if input, err = run.Compressed(*in); err != nil {
			return nil, fmt.Errorf("compress the run input: %w", err)
		}
	}
	hash, err := requestHash(in)
	if err != nil {
		return nil, err
	}
	req, _ := in.Pipeline.Params["requirement"].(string)
	title := in.Pipeline.Name
	if req != "" {
		title += ": " + oneLine(req, 200)
	}
	we, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                s.cfg.TaskQueue,
		WorkflowExecutionTimeout:                 in.Pipeline.RunTimeout() + closeGrace,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            title,
		// A worker sharing this client (maestro dev, maestro bench) gets
		// the run's first workflow task in the start's answer, without a
		// trip through matching; elsewhere the SDK does not ask for it.
		EnableEagerStart:      true,
		TypedSearchAttributes: searchAttributes(in),
		Memo: map[string]any{
			"pipeline":      in.Pipeline.Name,
			"template":      in.Template,
			"mode":          string(in.Pipeline.Mode),
			"requirement":   oneLine(req, 1000),
			"retry_of":      in.RetryOf,
			memoRequestHash: hash,
		},
	}, workflows.WorkflowName, input)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return s.existing(ctx, id, already.RunId, hash)
	}
	if isBlobSizeError(err) {
		return nil, fmt.Errorf("%w: %w", ErrPayloadTooLarge, err)
	}
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) && strings.Contains(strings.ToLower(invalid.Message), "search attribute") {
		return nil, fmt.Errorf("%w: %s (register Maestro's search attributes; 'maestro doctor' checks them)", ErrSearchAttributes, invalid.Message)
	}
	if err != nil {
		return nil, fmt.Errorf("start run: %w", err)
	}
	return &Started{WorkflowID: we.GetID(), RunID: we.GetRunID(), Status: run.Running}, nil
}

// existing describes the run that holds id, and returns it if it was started
// with the request whose hash is hash.
func (s *Service) existing(ctx context.Context, id, runID, hash string) (*Started, error) {
	st := &Started{WorkflowID: id, RunID: runID, Existing: true, Status: run.Running}
	desc, err := s.c.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		// The run exists (the server just said so); its state is unknown.
		return st, nil
	}
	info := desc.GetWorkflowExecutionInfo()
	if p := info.GetMemo().GetFields()[memoRequestHash]; p != nil {
		var old string
		if err := s.cfg.DataConverter.FromPayload(p, &old); err == nil && old != "" && old != hash {
			return nil, fmt.Errorf("%w: %s was started with a different request; use another ID (or Idempotency-Key) for a different run", ErrIdempotencyConflict, id)
		}
	}
	st.Status = summaryState(info)
	return st, nil
}

// searchAttributes are the typed search attributes a run starts with; the
// workflow keeps MaestroStatus up to date.
func searchAttributes(in *run.Input) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{
		workflows.SearchAttrPipeline.ValueSet(in.Pipeline.Name),
		workflows.SearchAttrMode.ValueSet(string(in.Pipeline.Mode)),
		workflows.SearchAttrStatus.ValueSet(string(run.Running)),
	}
	if in.Template != "" {
		updates = append(updates, workflows.SearchAttrTemplate.ValueSet(in.Template))
	}
	return temporal.NewSearchAttributes(updates...)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// Status returns a run's state: live from the status query while it runs,
// from its recorded result once it closed. The live attempt count and last
// failure of retrying nodes are merged from the server's pending activities.
func (s *Service) Status(ctx context.Context, workflowID string) (*run.Status, error) {
	if err := checkLookupID("id", workflowID); err != nil {
		return nil, err
	}
	desc, err := s.c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return nil, MapNotFound(workflowID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	runID := info.GetExecution().GetRunId()
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return s.closedStatus(ctx, workflowID, runID, info.GetStatus())
	}
	st, err := s.query(ctx, workflowID, runID)
	if err != nil {
		return nil, err
	}
	if st.Closed() {
		// The query saw the run end before Temporal closed it: the
		// workflow task that ends it is still in flight, or a worker
		// without the run in its cache replayed the events that task
		// will answer. A run is closed once Temporal says so.
		return s.closingStatus(ctx, workflowID, runID, st)
	}
	s.mergePending(desc.GetPendingActivities(), st.Node)
	return st, nil
}

// closingStatus is the status of a run whose state says it ended while
// Temporal had it running: its closed status if Temporal closed it since,
// else st as running (no end time, the reason it is ending kept in Error).
func (s *Service) closingStatus(ctx context.Context, workflowID, runID string, st *run.Status) (*run.Status, error) {
	desc, err := s.c.DescribeWorkflowExecution(ctx, workflowID, runID)
	if err != nil {
		return nil, MapNotFound(workflowID, err)
	}
	switch status := desc.GetWorkflowExecutionInfo().GetStatus(); status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
	default:
		return s.closedStatus(ctx, workflowID, runID, status)
	}
	st.Status, st.EndedAt = run.Running, nil
	s.mergePending(desc.GetPendingActivities(), st.Node)
	return st, nil
}

// mergePending merges the live attempt count, last failure and progress of
// running nodes from the server's pending activities into the nodes that
// node finds (nil for a node not at hand).
func (s *Service) mergePending(pending []*workflowpb.PendingActivityInfo, node func(id string) *run.NodeStatus) {
	for _, pa := range pending {
		id, own := workflows.NodeOfActivity(pa.GetActivityId())
		n := node(id)
		if n == nil || !own { // a repair agent's attempts are not the node's
			continue
		}
		n.Attempts = max(n.Attempts, pa.GetAttempt())
		if f := pa.GetLastFailure(); f != nil {
			n.LastError = f.GetMessage()
		}
		if d := pa.GetHeartbeatDetails(); d != nil && n.Status == run.NodeRunning {
			// The attempt's heartbeat details (activities' attempt state)
			// say what it is doing.
			var hb struct {
				Progress *run.Progress `json:"progress"`
			}
			if s.cfg.DataConverter.FromPayloads(d, &hb) == nil {
				n.Progress = hb.Progress
			}
		}
	}
}

func (s *Service) query(ctx context.Context, workflowID, runID string) (*run.Status, error) {
	v, err := s.c.QueryWorkflow(ctx, workflowID, runID, workflows.QueryStatus)
	if err != nil {
		return nil, fmt.Errorf("query status of %s: %w", workflowID, err)
	}
	var st run.Status
	if err := v.Get(&st); err != nil {
		return nil, fmt.Errorf("decode status of %s: %w", workflowID, err)
	}
	return &st, nil
}

// closedStatus reads the final status from the run's close event: the result
// of a completed run, the failure details of a failed or timed-out one, the
// cancellation details of a cancelled one. A run that recorded none
// (terminated, timed out on the server's safety net, or closed before its
// first workflow task ran) is replayed, or read from its history when it
// cannot be; its end time and error are then the close event's, and its
// unfinished nodes are ended as in a cancelled run (see closedState).
func (s *Service) closedStatus(ctx context.Context, workflowID, runID string, status enumspb.WorkflowExecutionStatus) (*run.Status, error) {
	st, _, err := s.closedState(ctx, workflowID, runID, status)
	return st, err
}

func closePayloads(ev *historypb.HistoryEvent) *commonpb.Payloads {
	if a := ev.GetWorkflowExecutionCompletedEventAttributes(); a != nil {
		return a.GetResult()
	}
	if a := ev.GetWorkflowExecutionFailedEventAttributes(); a != nil {
		return a.GetFailure().GetApplicationFailureInfo().GetDetails()
	}
	if a := ev.GetWorkflowExecutionCanceledEventAttributes(); a != nil {
		return a.GetDetails()
	}
	return nil
}

// Wait blocks until the run closes and returns its final status.
func (s *Service) Wait(ctx context.Context, workflowID string) (*run.Status, error) {
	if err := checkLookupID("id", workflowID); err != nil {
		return nil, err
	}
	err := s.c.GetWorkflow(ctx, workflowID, "").Get(ctx, nil)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, MapNotFound(workflowID, err)
	}
	return s.Status(ctx, workflowID)
}

// Cancel asks a run to stop: running nodes are cancelled, their processes
// killed, and every node's final state recorded.
// Cancelling a run that has closed is ErrNotRunning.
func (s *Service) Cancel(ctx context.Context, workflowID string) error {
	if err := checkLookupID("id", workflowID); err != nil {
		return err
	}
	// The server accepts a cancellation request for a closed run without
	// complaint, so look first.
	desc, err := s.c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return MapNotFound(workflowID, err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return fmt.Errorf("%w: %s has already closed", ErrNotRunning, workflowID)
	}
	if err := s.c.CancelWorkflow(ctx, workflowID, ""); err != nil {
		return s.controlError(ctx, workflowID, err)
	}
	return nil
}

// Terminate ends a run at once, for a run that does not react to Cancel:
// Temporal closes it as terminated with reason, without the workflow
// recording its nodes' final states (Status replays them up to the end);
// running nodes' attempts are cancelled at their next heartbeat and their
// processes killed. An empty reason is a *FieldError naming "reason";
// terminating a run that has closed is ErrNotRunning.
func (s *Service) Terminate(ctx context.Context, workflowID, reason string) error {
	if err := checkLookupID("id", workflowID); err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return &FieldError{Field: "reason", Message: "is required: say why the run is terminated (it is recorded in the run's history)"}
	}
	// The server would terminate nothing for a closed run; say so.
	desc, err := s.c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return MapNotFound(workflowID, err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return fmt.Errorf("%w: %s has already closed", ErrNotRunning, workflowID)
	}
	if err := s.c.TerminateWorkflow(ctx, workflowID, "", reason); err != nil {
		return s.controlError(ctx, workflowID, err)
	}
	return nil
}

// Pause stops a run from starting new nodes; running nodes finish.
func (s *Service) Pause(ctx context.Context, workflowID string) error {
	return s.signal(ctx, workflowID, workflows.SignalPause)
}

// Resume lets a paused run start nodes again.
func (s *Service) Resume(ctx context.Context, workflowID string) error {
	return s.signal(ctx, workflowID, workflows.SignalResume)
}

func (s *Service) signal(ctx context.Context, workflowID, name string) error {
	if err := checkLookupID("id", workflowID); err != nil {
		return err
	}
	if err := s.c.SignalWorkflow(ctx, workflowID, "", name, nil); err != nil {
		return s.controlError(ctx, workflowID, err)
	}
	return nil
}

// controlError tells a closed run from an unknown one.
func (s *Service) controlError(ctx context.Context, workflowID string, err error) error {
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		return err
	}
	if _, derr := s.c.DescribeWorkflowExecution(ctx, workflowID, ""); derr == nil {
		return fmt.Errorf("%w: %s has already closed", ErrNotRunning, workflowID)
	}
	return MapNotFound(workflowID, err)
}

// Exists returns nil if a run with the ID exists, ErrNotFound if none does.
func (s *Service) Exists(ctx context.Context, workflowID string) error {
	if err := checkLookupID("id", workflowID); err != nil {
		return err
	}
	if _, err := s.c.DescribeWorkflowExecution(ctx, workflowID, ""); err != nil {
		return MapNotFound(workflowID, err)
	}
	return nil
}

// MapNotFound turns Temporal's not-found error for workflowID into
// ErrNotFound; other errors pass unchanged.
func MapNotFound(workflowID string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: %s", ErrNotFound, workflowID)
	}
	return err
}

// Retry starts a new run of a failed, cancelled, timed-out or terminated run.
// Nodes that completed in it (or that it had reused itself) are carried over
// with their outputs and not executed again. A pipeline the service's policy
// forbids (it may have changed since) is a *dag.ValidationError.
func (s *Service) Retry(ctx context.Context, workflowID string) (*Started, error) {
	if err := checkLookupID("id", workflowID); err != nil {
		return nil, err
	}
	desc, err := s.c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return nil, MapNotFound(workflowID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return nil, fmt.Errorf("%w: %s is still running", ErrNotRetryable, workflowID)
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return nil, fmt.Errorf("%w: %s completed; nothing to retry", ErrNotRetryable, workflowID)
	}
	in, err := s.completedWork(ctx, workflowID, info.GetExecution().GetRunId())
	if err != nil {
		return nil, err
	}
	if s.cfg.Policy != nil {
		if err := s.cfg.Policy.Check(in.Pipeline); err != nil {
			return nil, err
		}
	}
	root, _, _ := strings.Cut(workflowID, "-retry-")
	root = root[:min(len(root), MaxIDLength-20)]
	return s.start(ctx, root+"-retry-"+uuid.NewString()[:8], in)
}

// completedWork reads a run's input and the results of its completed nodes
// from its history, and returns the input for a retry.
func (s *Service) completedWork(ctx context.Context, workflowID, runID string) (*run.Input, error) {
	it := s.c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var in run.Input
	scheduled := map[int64]string{} // activity ID by scheduled event
	types := map[int64]string{}     // activity type by scheduled event
	reuse := map[string]run.NodeResult{}
	var startSHA string
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, MapNotFound(workflowID, err)
		}
		switch {
		case ev.GetWorkflowExecutionStartedEventAttributes() != nil:
			if err := s.cfg.DataConverter.FromPayloads(ev.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in); err != nil {
				return nil, fmt.Errorf("decode input of %s: %w", workflowID, err)
			}
		case ev.GetActivityTaskScheduledEventAttributes() != nil:
			scheduled[ev.GetEventId()] = ev.GetActivityTaskScheduledEventAttributes().GetActivityId()
			types[ev.GetEventId()] = ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
		case ev.GetActivityTaskCompletedEventAttributes() != nil:
			a := ev.GetActivityTaskCompletedEventAttributes()
			switch types[a.GetScheduledEventId()] {
			case activities.PrepareWorkspaceName:
				if err := s.cfg.DataConverter.FromPayloads(a.GetResult(), &startSHA); err != nil {
					return nil, fmt.Errorf("decode the start commit of %s: %w", workflowID, err)
				}
				continue
			case activities.FinishWorkspaceName:
				continue
			}
			var res run.NodeResult
			if err := s.cfg.DataConverter.FromPayloads(a.GetResult(), &res); err != nil {
				return nil, fmt.Errorf("decode result of node %s: %w", scheduled[a.GetScheduledEventId()], err)
			}
			// A repaired command's later runs complete its node; repair
			// agents complete no node.
			if id, own := workflows.NodeOfActivity(scheduled[a.GetScheduledEventId()]); own {
				reuse[id] = res
			}
		}
	}
	// A compressed input, or the last part of a run that continued as
	// new: the run's input, and the nodes completed in earlier parts.
	in, c, err := run.Open(in)
	if err != nil {
		return nil, fmt.Errorf("decode the carried state of %s: %w", workflowID, err)
	}
	if c != nil {
		for _, cn := range c.Nodes {
			if cn.State != run.NodeCompleted || cn.Index < 0 || cn.Index >= len(in.Pipeline.Nodes) {
				continue
			}
			id := in.Pipeline.Nodes[cn.Index].ID
			if _, ok := reuse[id]; !ok {
				reuse[id] = cn.Result()
			}
		}
		if c.Workspace != nil && startSHA == "" {
			startSHA = c.Workspace.StartSHA
		}
	}
	for id, res := range in.Reuse {
		if _, ok := reuse[id]; !ok {
			reuse[id] = res
		}
	}
	in.Reuse = reuse
	in.RetryOf = workflowID
	if w := in.Pipeline.Workspace; w != nil && startSHA != "" {
		// The retry starts where the run started, and pushes to its branch.
		ws := *w
		ws.Ref, ws.Branch, ws.Create = startSHA, w.BranchFor(workflowID), false
		in.Pipeline.Workspace = &ws
	}
	return &in, nil
}
