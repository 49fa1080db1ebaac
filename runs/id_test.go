package runs

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/templates"
)

func TestValidateID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		ok   bool
		want string // in the message
	}{
		{"maestro-sdlc-parallel-0b4c", true, ""},
		{"order_42.v1:a@b+c=d~e", true, ""},
		{"maestro-key-order-42", true, ""},
		{strings.Repeat("k", MaxIDLength), true, ""},
		{"", false, "empty"},
		{strings.Repeat("k", MaxIDLength+1), false, "at most"},
		{"a/b", false, `"/"`},
		{`a\b`, false, `"\\"`},
		{"..", false, "'.'"},
		{"a..b", false, `".."`},
		{".hidden", false, "'.'"},
		{"sp ace", false, `" "`},
		{"ключ", false, "non-ASCII"},
		{"tab\there", false, "control"},
		{"del\x7f", false, "control"},
		{"q?x", false, `"?"`},
	} {
		t.Run(tc.id, func(t *testing.T) {
			err := ValidateID("id", tc.id)
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidRequest)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "id", fe.Field)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// Every ID IdempotentID gives is valid.
	for _, key := range []string{"order-42", "ключ", "a/b", "..", strings.Repeat("k", 255)} {
		id, err := IdempotentID(key)
		require.NoError(t, err)
		assert.NoError(t, ValidateID("id", id), key)
	}
}

func TestWorkflowTypeIsResolvedInBuild(t *testing.T) {
	for _, tc := range []struct {
		name     string
		req      StartRequest
		template string
		kind     error
	}{
		{"parallel", StartRequest{WorkflowType: "parallel", Requirement: "x"}, templates.SDLCParallel, nil},
		{"linear, any case and spaces", StartRequest{WorkflowType: " Linear ", Requirement: "x"}, templates.SDLCLinear, nil},
		{"unknown", StartRequest{WorkflowType: "diagonal"}, "", templates.ErrUnknown},
		{"with template", StartRequest{WorkflowType: "linear", Template: templates.SDLCParallel}, "", ErrInvalidRequest},
		{"with dag", StartRequest{WorkflowType: "linear", DAG: &dag.Pipeline{Name: "x"}}, "", ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Build(tc.req, dag.ModeLinear)
			if tc.kind == nil {
				require.NoError(t, err)
				assert.Equal(t, tc.template, in.Template)
				return
			}
			assert.ErrorIs(t, err, tc.kind)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "workflow_type", fe.Field)
		})
	}
}

func TestRequestHashTellsRequestsApart(t *testing.T) {
	build := func(req StartRequest) *run.Input {
		t.Helper()
		in, err := Build(req, dag.ModeLinear)
		require.NoError(t, err)
		return in
	}
	hash := func(in *run.Input) string {
		t.Helper()
		h, err := requestHash(in)
		require.NoError(t, err)
		return h
	}
	a := hash(build(StartRequest{Template: templates.SDLCParallel, Requirement: "x", Params: map[string]any{"a": 1, "b": 2}}))
	assert.Equal(t, a, hash(build(StartRequest{Template: templates.SDLCParallel, Requirement: "x", Params: map[string]any{"b": 2, "a": 1}})), "stable")
	assert.Equal(t, a, hash(build(StartRequest{WorkflowType: "parallel", Requirement: "x", Params: map[string]any{"a": 1, "b": 2}})), "normalized")
	assert.NotEqual(t, a, hash(build(StartRequest{Template: templates.SDLCParallel, Requirement: "y", Params: map[string]any{"a": 1, "b": 2}})))
	assert.NotEqual(t, a, hash(build(StartRequest{Template: templates.SDLCLinear, Requirement: "x", Params: map[string]any{"a": 1, "b": 2}})))
}

func TestPayloadLimit(t *testing.T) {
	s := New(nil, Config{})
	in, err := Build(StartRequest{Template: templates.SDLCLinear, Requirement: "x"}, dag.ModeLinear)
	require.NoError(t, err)
	in.Pipeline.Description = strings.Repeat("x", MaxInputBytes)
	_, err = s.checkInputSize(in)
	assert.ErrorIs(t, err, ErrPayloadTooLarge)
	in, err = Build(StartRequest{Template: templates.SDLCLinear, Requirement: strings.Repeat("x", 60<<10)}, dag.ModeLinear)
	require.NoError(t, err)
	_, err = s.checkInputSize(in)
	assert.NoError(t, err)

	assert.True(t, isBlobSizeError(serviceerror.NewInvalidArgument("Blob data size exceeds limit.")), "the server's own refusal")
	assert.False(t, isBlobSizeError(serviceerror.NewInvalidArgument("something else")))
	assert.False(t, isBlobSizeError(errors.New("Blob data size exceeds limit.")))
}
