package dag

import (
	"encoding/json"
	"strings"
	"text/template"
)

// PromptFuncs are the functions an agent node's prompt templates may call
// besides Go's built-ins: json (a value as JSON) and trim (strings.TrimSpace).
func PromptFuncs() template.FuncMap {
	return template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"trim": strings.TrimSpace,
	}
}
