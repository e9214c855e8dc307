package reports

import (
	"github.com/privaudit/privaudit/reports/render"
	"github.com/privaudit/privaudit/reports/xlsx"
)

// Formats returns the renderers privaudit ships, by format name: csv and
// json (reports/render) and xlsx (reports/xlsx). A new format is one entry
// here.
func Formats() map[string]render.Renderer {
	return map[string]render.Renderer{
		"csv":  render.CSV(),
		"json": render.JSON(),
		"xlsx": xlsx.New(),
	}
}
