package runs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/maestrohq/maestro/workflows"
)

// ErrSearchAttributes marks a request that needs Maestro's search
// attributes on a namespace that does not have them.
var ErrSearchAttributes = errors.New("search attributes not registered")

// EnsureSearchAttributes registers Maestro's custom search attributes (see
// workflows.SearchAttributes) on the namespace where they are missing, and
// returns the names it added. An attribute registered with another type is an
// error. Registering needs operator rights on the namespace, which the dev
// server grants; on clusters where it is not allowed, register them once with
// `temporal operator search-attribute create`.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) ([]string, error) {
	missing, err := MissingSearchAttributes(ctx, c, namespace)
	if err != nil {
		return nil, err
	}
	if len(missing) == 0 {
		return nil, nil
	}
	want := workflows.SearchAttributes()
	add := make(map[string]enumspb.IndexedValueType, len(missing))
	for _, name := range missing {
		add[name] = want[name]
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: add,
	}); err != nil {
		return nil, fmt.Errorf("register search attributes %v on namespace %s: %w", missing, namespace, err)
	}
	return missing, nil
}

// MissingSearchAttributes returns the names of Maestro's custom search
// attributes that the namespace does not have, sorted. One registered with
// the wrong type is an error.
func MissingSearchAttributes(ctx context.Context, c client.Client, namespace string) ([]string, error) {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	have := resp.GetCustomAttributes()
	var missing []string
	for _, name := range slices.Sorted(maps.Keys(workflows.SearchAttributes())) {
		want := workflows.SearchAttributes()[name]
		got, ok := have[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case got != want:
			return nil, fmt.Errorf("search attribute %s of namespace %s has type %s, Maestro needs %s", name, namespace, got, want)
		}
	}
	return missing, nil
}
