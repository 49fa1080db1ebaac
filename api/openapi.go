package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"
)

// OpenAPIYAML is the API's OpenAPI 3 document, served at /openapi.yaml and,
// as JSON, at /openapi.json.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// openAPIJSON converts the embedded document once; a document that does not
// parse fails the package's tests.
var openAPIJSONDoc, openAPIErr = func() ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(OpenAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
}()

func (s *Server) openAPIJSON(c echo.Context) error {
	if openAPIErr != nil {
		return openAPIErr
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIJSONDoc)
}

func (s *Server) openAPIYAML(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", OpenAPIYAML)
}

// jsonSerializer is Echo's JSON serializer without HTML escaping, so that
// messages read as written ("a -> b", not "a -\u003e b").
type jsonSerializer struct{}

// Serialize writes i as JSON.
func (jsonSerializer) Serialize(c echo.Context, i any, indent string) error {
	enc := json.NewEncoder(c.Response())
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	return enc.Encode(i)
}

// Deserialize reads JSON into i (Echo's Bind; the API decodes strictly itself).
func (jsonSerializer) Deserialize(c echo.Context, i any) error {
	return json.NewDecoder(c.Request().Body).Decode(i)
}
