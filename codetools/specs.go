package codetools

// Spec describes a tool to a model: its name, what it does, and its
// parameters as a JSON schema object
// ({"type":"object","properties":{...},"required":[...]}).
type Spec struct {
	Name        string
	Description string
	Parameters  map[string]any
}

// Tool names.
const (
	ToolListFiles  = "list_files"
	ToolReadFile   = "read_file"
	ToolWriteFile  = "write_file"
	ToolEditFile   = "edit_file"
	ToolDeleteFile = "delete_file"
	ToolRun        = "run"
	ToolFinish     = "finish"
)

// Specs returns the tools in a fixed order: list_files, read_file,
// write_file, edit_file, delete_file, run, finish. Each call returns fresh
// maps, so callers may modify them.
func Specs() []Spec {
	return []Spec{
		{
			Name:        ToolListFiles,
			Description: "List the files and directories at a path in the checkout (paths are relative to the checkout root). Directories end with \"/\"; symlinks show as \"name -> target\"; .git is never listed. Entries are sorted and named relative to the checkout root.",
			Parameters: object(map[string]any{
				"path":      str("Directory to list, relative to the checkout root. Default \".\"."),
				"recursive": boolean("List the whole tree below path, not just its direct entries. Default false."),
			}),
		},
		{
			Name:        ToolReadFile,
			Description: "Read a text file in the checkout. Long files are cut; the note at the end tells the offset to read on from. Binary files are not shown.",
			Parameters: object(map[string]any{
				"path":   str("File to read, relative to the checkout root."),
				"offset": integer("Byte offset to start reading at. Default 0."),
				"limit":  integer("Maximum number of bytes to return. Default and maximum: the worker's read cap."),
			}, "path"),
		},
		{
			Name:        ToolWriteFile,
			Description: "Write a file in the checkout, replacing it if it exists (its mode is kept) and creating missing parent directories.",
			Parameters: object(map[string]any{
				"path":    str("File to write, relative to the checkout root."),
				"content": str("The file's complete new content."),
			}, "path", "content"),
		},
		{
			Name:        ToolEditFile,
			Description: "Replace one exact piece of text in a file. old_string must occur exactly once in the file (include enough surrounding lines to make it unique); whitespace and indentation must match exactly.",
			Parameters: object(map[string]any{
				"path":       str("File to edit, relative to the checkout root."),
				"old_string": str("The exact text to replace; must occur exactly once. Not empty."),
				"new_string": str("The text to put in its place (may be empty to delete old_string)."),
			}, "path", "old_string", "new_string"),
		},
		{
			Name:        ToolDeleteFile,
			Description: "Delete a file in the checkout (not a directory).",
			Parameters: object(map[string]any{
				"path": str("File to delete, relative to the checkout root."),
			}, "path"),
		},
		{
			Name:        ToolRun,
			Description: "Run a program in the checkout (no shell: argv[0] is the program, the rest its arguments) and return its combined output and exit code. The worker's policy decides which programs may run.",
			Parameters: object(map[string]any{
				"argv": map[string]any{
					"type":        "array",
					"items":       map[string]any{"type": "string"},
					"minItems":    1,
					"description": "The program and its arguments, e.g. [\"go\", \"test\", \"./...\"].",
				},
				"dir":             str("Directory to run in, relative to the checkout root. Default \".\"."),
				"timeout_seconds": integer("Seconds before the program is stopped. Default 120; capped by the worker (600 unless configured)."),
			}, "argv"),
		},
		{
			Name:        ToolFinish,
			Description: "Finish the task: call this once the work is done (or cannot be done), with a summary of what was changed and why.",
			Parameters: object(map[string]any{
				"summary": str("What was done, for the people reviewing the change."),
			}, "summary"),
		},
	}
}

func object(props map[string]any, required ...string) map[string]any {
	if required == nil {
		required = []string{}
	}
	return map[string]any{
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	}
}

func str(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }

func integer(desc string) map[string]any {
	return map[string]any{"type": "integer", "description": desc}
}

func boolean(desc string) map[string]any {
	return map[string]any{"type": "boolean", "description": desc}
}
