package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Custom search attributes set on every run, so that `temporal workflow list
// --query` and the Web UI can filter runs. They must be registered on the
// namespace (see runs.EnsureSearchAttributes); the dev server registers them
// on start.
var (
	// SearchAttrPipeline is the pipeline's name.
	SearchAttrPipeline = temporal.NewSearchAttributeKeyKeyword("MaestroPipeline")
	// SearchAttrTemplate is the built-in template the run came from, if any.
	SearchAttrTemplate = temporal.NewSearchAttributeKeyKeyword("MaestroTemplate")
	// SearchAttrMode is the execution mode.
	SearchAttrMode = temporal.NewSearchAttributeKeyKeyword("MaestroMode")
	// SearchAttrStatus is the run state as the workflow sees it: running,
	// paused, completed, failed, cancelled or timed_out.
	SearchAttrStatus = temporal.NewSearchAttributeKeyKeyword("MaestroStatus")
)

// SearchAttributes lists Maestro's custom search attributes and their types,
// for registration on a namespace.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		SearchAttrPipeline.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrTemplate.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrMode.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrStatus.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}
