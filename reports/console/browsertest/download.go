package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// Downloads makes the browser save downloads, under the names the server
// gives them, into a new temporary folder of the test, and returns it.
func (b *Browser) Downloads(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior,
		browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
	if err != nil {
		t.Fatalf("browser: set the download folder: %v", err)
	}
	return dir
}

// WaitDownload waits, up to StepTimeout, until the folder dir holds the
// complete file name (Chromium writes NAME.crdownload until it is done)
// and returns its path.
func WaitDownload(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	for deadline := time.Now().Add(StepTimeout); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(p); err == nil && !partial(dir) {
			return p
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Fatalf("download %s did not arrive within %s; the folder holds %q", name, StepTimeout, names)
		}
	}
}

// partial reports whether dir holds a download still being written.
func partial(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".crdownload") {
			return true
		}
	}
	return false
}
