package runs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/maestrohq/maestro/policy"
	"github.com/maestrohq/maestro/workspace"
)

// Names of the checks of this machine as a worker host (Config.Host), in
// the order Health runs them after the Temporal checks.
const (
	CheckPolicy    = "policy"
	CheckWorkspace = "workspace"
	CheckArtifacts = "artifacts"
	CheckClock     = "clock"
)

// MaxClockSkew is the largest difference between this machine's clock and
// the Temporal server's that the clock check accepts: Temporal stamps
// timeouts with its clock and workers compare them with theirs.
const MaxClockSkew = time.Second

// clockQueue names the sticky task queues the clock check polls (nothing is
// ever scheduled on them).
const clockQueue = "maestro-doctor-clock"

// Host is this machine seen as a worker host, for Health's host checks
// (`maestro doctor`; the API's /health has none).
type Host struct {
	// Policy is the worker policy the configuration gives, or PolicyErr
	// why it does not load.
	Policy    *policy.Policy
	PolicyErr error
	// PolicyHint, when set, follows the policy's description (how to
	// allow more than the default).
	PolicyHint string
	// WorkspaceDir is where the worker keeps git mirrors and checkouts;
	// GitPath is its git ("" means git from PATH).
	WorkspaceDir string
	GitPath      string
	// ArtifactDir is the directory of the artifact store.
	ArtifactDir string
	// Now is this machine's clock; nil means time.Now.
	Now func() time.Time
}

// checkHost runs the host checks: the worker policy loads, the workspace
// directory is writable and git recent enough, the artifact directory is
// writable, and this machine's clock agrees with Temporal's (skipped when
// the namespace cannot be used).
func (s *Service) checkHost(ctx context.Context, h *Health, host *Host) {
	switch {
	case host.PolicyErr != nil:
		h.add(CheckPolicy, CheckFail, fmt.Sprintf("the worker policy does not load: %v", host.PolicyErr),
			"fix the policy file (MAESTRO_POLICY_FILE) or the MAESTRO_POLICY_* variable the error names (README, Security); workers refuse to start until then")
	case host.Policy != nil:
		detail := host.Policy.Describe()
		if host.PolicyHint != "" {
			detail += "; " + host.PolicyHint
		}
		h.add(CheckPolicy, CheckOK, detail)
	}

	if host.WorkspaceDir != "" {
		version, gitErr := workspace.CheckGit(ctx, host.GitPath)
		dirErr := writableDir(host.WorkspaceDir)
		switch {
		case errors.Is(gitErr, workspace.ErrGitTooOld):
			h.add(CheckWorkspace, CheckFail, fmt.Sprintf("workspace runs cannot run here: %v", gitErr),
				fmt.Sprintf("upgrade git to %s or later (e.g. apt-get install git from a recent release)", workspace.MinGitVersion))
		case gitErr != nil:
			h.add(CheckWorkspace, CheckFail, fmt.Sprintf("workspace runs cannot run here: %v", gitErr),
				fmt.Sprintf("install git %s or later (apt-get install git) on the worker's PATH", workspace.MinGitVersion))
		case dirErr != nil:
			h.add(CheckWorkspace, CheckFail, fmt.Sprintf("workspace directory %s: %v", host.WorkspaceDir, dirErr),
				"make it writable by the worker's user (chown/chmod), or set MAESTRO_WORKSPACE_DIR (or MAESTRO_DATA_DIR) to a directory it can write")
		default:
			h.add(CheckWorkspace, CheckOK, fmt.Sprintf("%s writable, git %s", host.WorkspaceDir, version))
		}
	}

	if host.ArtifactDir != "" {
		if err := writableDir(host.ArtifactDir); err != nil {
			h.add(CheckArtifacts, CheckFail, fmt.Sprintf("artifact directory %s: %v", host.ArtifactDir, err),
				"make it writable by the worker's and the API's user (chown/chmod), or set MAESTRO_ARTIFACT_DIR (or MAESTRO_DATA_DIR) to a directory they can write")
		} else {
			h.add(CheckArtifacts, CheckOK, host.ArtifactDir+" writable")
		}
	}

	if c := h.Check(CheckNamespace); !h.Reachable || c == nil || c.Status != CheckOK {
		h.add(CheckClock, CheckSkip, "needs Temporal and the namespace")
		return
	}
	s.checkClock(ctx, h, host.Now)
}

// writableDir checks that dir, or the nearest existing directory above it
// (in which the processes would create it), is a directory this process can
// create files in. It creates nothing that it does not remove.
func writableDir(dir string) error {
	d := dir
	for {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a directory", d)
			}
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return err
		}
		d = parent
	}
	f, err := os.CreateTemp(d, ".maestro-doctor-*")
	if err != nil {
		if d != dir {
			return fmt.Errorf("does not exist and cannot be created: %w", err)
		}
		return fmt.Errorf("not writable: %w", err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// checkClock compares this machine's clock with the Temporal server's: it
// long-polls a new sticky task queue nothing is scheduled on and reads
// back, from the queue's description, when the server saw the poll (by its
// clock). That time must fall between sending the poll and seeing it
// described, give or take MaxClockSkew.
func (s *Service) checkClock(ctx context.Context, h *Health, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	id := uuid.NewString()
	identity := "maestro-doctor-" + id
	// A sticky queue of its own: one partition, which Describe reads, and
	// gone once idle, like a worker's.
	queue := &taskqueuepb.TaskQueue{Name: clockQueue + "-" + id, Kind: enumspb.TASK_QUEUE_KIND_STICKY, NormalName: clockQueue}
	// A long poll needs a deadline of 2 s at least; it ends once seen.
	pollCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	sent := now()
	go func() {
		_, _ = s.c.WorkflowService().PollWorkflowTaskQueue(pollCtx, &workflowservice.PollWorkflowTaskQueueRequest{
			Namespace: s.cfg.Namespace,
			TaskQueue: queue,
			Identity:  identity,
		})
	}()
	var server time.Time
	for server.IsZero() {
		resp, err := s.c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace:     s.cfg.Namespace,
			TaskQueue:     queue,
			TaskQueueType: enumspb.TASK_QUEUE_TYPE_WORKFLOW,
		})
		if err != nil {
			h.add(CheckClock, CheckFail, fmt.Sprintf("cannot compare the clock with Temporal's: %v", err))
			return
		}
		for _, p := range resp.GetPollers() {
			if p.GetIdentity() == identity {
				server = p.GetLastAccessTime().AsTime()
			}
		}
		if server.IsZero() {
			select {
			case <-ctx.Done():
				h.add(CheckClock, CheckFail, fmt.Sprintf("cannot compare the clock with Temporal's: %v", ctx.Err()))
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	seen := now()
	cancel()
	var skew time.Duration // how far the server's clock is ahead (+) or behind (-)
	switch {
	case server.Before(sent):
		skew = server.Sub(sent)
	case server.After(seen):
		skew = server.Sub(seen)
	}
	within := seen.Sub(sent).Round(time.Millisecond)
	if skew > MaxClockSkew || skew < -MaxClockSkew {
		way := "ahead of"
		if skew < 0 {
			way, skew = "behind", -skew
		}
		h.add(CheckClock, CheckFail,
			fmt.Sprintf("Temporal's clock is %s %s this machine's (measured within %s); timeouts and timers would be off by as much", skew.Round(time.Millisecond), way, within),
			"synchronise the clocks of this machine and the Temporal server with NTP (timedatectl set-ntp true, or chrony)")
		return
	}
	h.add(CheckClock, CheckOK, fmt.Sprintf("agrees with Temporal's within %s", max(within, time.Millisecond)))
}
