// Package xlsxtest opens workbooks with LibreOffice Calc in tests: it
// exports each sheet to csv, cell contents as shown, so a test can compare
// what a spreadsheet program displays with the csv renderer's output.
package xlsxtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// csvFilter exports every sheet (last token -1, LibreOffice ≥ 7.2) as
// UTF-8 (76) csv with "," (44) and '"' (34), cell contents as shown (the
// 9th token), so dates print in their number format.
const csvFilter = `csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1`

// Soffice returns LibreOffice's binary; it skips the test when there is
// none, except in CI, where the spreadsheet check must run.
func Soffice(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"soffice", "libreoffice"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("LibreOffice (soffice) is not installed; CI must open the xlsx with it: " +
			"apt-get install libreoffice-calc-nogui (make deps-test)")
	}
	t.Skip("LibreOffice not installed (apt-get install libreoffice-calc-nogui); skipping outside CI")
	return ""
}

// ConvertSheets converts the workbooks at paths (distinct base names) with
// one LibreOffice run and returns, for each, its sheets' csv by sheet name.
func ConvertSheets(t testing.TB, soffice string, paths ...string) []map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"--headless", "--norestore",
		"-env:UserInstallation=file://" + filepath.Join(dir, "profile"),
		"--convert-to", csvFilter, "--outdir", out}, paths...)
	if b, err := exec.CommandContext(ctx, soffice, args...).CombinedOutput(); err != nil {
		t.Fatalf("libreoffice conversion: %v\n%s", err, b)
	}
	res := make([]map[string][]byte, len(paths))
	for i, path := range paths {
		base := strings.TrimSuffix(filepath.Base(path), ".xlsx")
		files, err := filepath.Glob(filepath.Join(out, base+"-*.csv"))
		if err != nil || len(files) == 0 {
			t.Fatalf("libreoffice wrote no csv for %s (err %v)", path, err)
		}
		res[i] = map[string][]byte{}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res[i][strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), base+"-"), ".csv")] = b
		}
	}
	return res
}

// SheetText is a sheet's cells as excelize reads them, one line per row,
// cells joined with "|".
func SheetText(t testing.TB, f *excelize.File, sheet string) string {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "|") + "\n")
	}
	return b.String()
}
