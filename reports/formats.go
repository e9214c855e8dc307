package reports

import (
	"github.com/privaudit/privaudit/reports/render"
	"github.com/privaudit/privaudit/reports/xlsx"
)

// Formats returns the renderers privaudit ships, by format name: csv, json
// and html (reports/render) and xlsx (reports/xlsx). A new format is one
// entry here.
func Formats() map[string]render.Renderer {
	return map[string]render.Renderer{
		"csv":  render.CSV(),
		"html": render.HTML(),
		"json": render.JSON(),
		"xlsx": xlsx.New(),
	}
}
