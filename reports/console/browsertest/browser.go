// Package browsertest drives a real headless Chromium (Debian's chromium,
// through github.com/chromedp/chromedp) for the console's end-to-end tests,
// and checks pages with axe-core. Only tests import it.
//
// `make deps-test` installs both: the chromium package, and axe-core from
// npm into reports/console/testdata/node_modules (never committed).
// PRIVAUDIT_CHROMIUM and PRIVAUDIT_AXE_JS point elsewhere.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// StepTimeout bounds one step: generous, for a loaded 2-core machine.
const StepTimeout = 90 * time.Second

// Browser is one headless Chromium with a fresh profile, closed at the
// test's cleanup.
type Browser struct {
	ctx context.Context
	// Shots is the folder screenshots go to: PRIVAUDIT_SCREENSHOT_DIR if
	// set, else a temporary folder of the test.
	Shots string
}

// Start launches Chromium for t; a missing Chromium fails the test with
// how to install it.
func Start(t testing.TB) *Browser {
	t.Helper()
	bin := os.Getenv("PRIVAUDIT_CHROMIUM")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Fatal("chromium not found: `make deps-test` installs it (apt-get install chromium), or set PRIVAUDIT_CHROMIUM")
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Do starts the browser and binds it to ctx: no timeout on it
	// (a timeout would stop the browser), so it runs in a goroutine that the
	// test waits for with a deadline.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium %s: %v", bin, err)
		}
	case <-time.After(StepTimeout):
		t.Fatalf("start chromium %s: no answer within %s", bin, StepTimeout)
	}
	b := &Browser{ctx: ctx, Shots: os.Getenv("PRIVAUDIT_SCREENSHOT_DIR")}
	if b.Shots == "" {
		b.Shots = t.TempDir()
	}
	return b
}

// Do runs steps within StepTimeout and fails the test on an error.
func (b *Browser) Do(t testing.TB, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := Run(b, what, chromedp.Steps(steps...)); err != nil {
		t.Fatal(err)
	}
}

// Run runs one action within StepTimeout and returns its value.
func Run[T any](b *Browser, what string, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		return v, fmt.Errorf("browser: %s: %w", what, err)
	}
	return v, nil
}

// Must is Run failing the test on an error.
func Must[T any](t testing.TB, b *Browser, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := Run(b, what, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Text returns the visible text of the first element matching the CSS
// selector sel, waiting until it is visible.
func (b *Browser) Text(t testing.TB, sel string) string {
	t.Helper()
	b.Do(t, "wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	return Must(t, b, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// Location returns the address of the page shown.
func (b *Browser) Location(t testing.TB) string {
	t.Helper()
	return Must(t, b, "location", chromedp.Location())
}

// Cookies returns the browser's cookies for the page shown, HttpOnly ones
// included.
func (b *Browser) Cookies(t testing.TB) []*network.Cookie {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatalf("browser: cookies: %v", err)
	}
	return res.Cookies
}

// Screenshot saves the whole page as name.png in b.Shots and returns its
// path.
func (b *Browser) Screenshot(t testing.TB, name string) string {
	t.Helper()
	png := Must(t, b, "screenshot "+name, chromedp.FullScreenshot(100))
	p := filepath.Join(b.Shots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// NoHorizontalScroll fails the test when the page is wider than the
// browser's 1280 px window.
func (b *Browser) NoHorizontalScroll(t testing.TB, page string) {
	t.Helper()
	type width struct{ Scroll, Client int }
	w := Must(t, b, "measure "+page, chromedp.Evaluate[width](
		`({Scroll: document.documentElement.scrollWidth, Client: document.documentElement.clientWidth})`))
	if w.Scroll > w.Client {
		t.Errorf("%s: page is %d px wide in a %d px window: it scrolls sideways", page, w.Scroll, w.Client)
	}
}

// TabThrough presses Tab n times from the top of the page and returns what
// each press focused, as "TAG text" (the tag in capitals).
func TabThrough(t testing.TB, b *Browser, n int) []string {
	t.Helper()
	b.Do(t, "focus the top of the page", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	var out []string
	for range n {
		b.Do(t, "press Tab", chromedp.KeyEvent("\t"))
		out = append(out, Must(t, b, "read the focus", chromedp.Evaluate[string](
			`(e => e ? e.tagName + " " + (e.innerText || e.value || "").trim() : "")(document.activeElement)`)))
	}
	return out
}

// Violation is one axe-core rule broken on a page.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// Axe runs axe-core on the page shown and fails the test for every serious
// or critical violation; it returns all of them. The script is injected
// through the DevTools protocol, which the page's CSP does not govern.
func (b *Browser) Axe(t testing.TB, page string) []Violation {
	t.Helper()
	src, err := os.ReadFile(AxePath(t))
	if err != nil {
		t.Fatal(err)
	}
	b.Do(t, "inject axe-core", chromedp.Evaluate[chromedp.Void](string(src)))
	js := Must(t, b, "axe "+page, chromedp.Evaluate[string](
		`axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	var vs []Violation
	if err := json.Unmarshal([]byte(js), &vs); err != nil {
		t.Fatalf("axe %s: %v", page, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("axe on %s: %s violation %s (%s) at %v", page, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
	return vs
}

// AxePath is axe.min.js: PRIVAUDIT_AXE_JS, or the copy `make deps-test`
// installs under reports/console/testdata/node_modules.
func AxePath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PRIVAUDIT_AXE_JS"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("axe-core: no go.mod above the test's folder; set PRIVAUDIT_AXE_JS")
		}
	}
	p := filepath.Join(dir, "reports", "console", "testdata", "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("axe-core not installed (%s): `make deps-test` installs it (npm ci in reports/console/testdata), or set PRIVAUDIT_AXE_JS",
			strings.TrimPrefix(p, dir+string(filepath.Separator)))
	}
	return p
}
