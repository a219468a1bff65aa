package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/incident-channels/incident-channels/internal/replay"
)

// chromiumPath is Debian's chromium package, the browser the page is
// tested in (`apt-get install chromium`; .ci/run installs it).
const chromiumPath = "/usr/bin/chromium"

// screenshotEnv names a file for the test's screenshot of the page, to look
// at it; without it the screenshot goes to a temporary directory.
const screenshotEnv = "SANDBOX_SCREENSHOT"

// browser starts a headless chromium with a fresh profile and returns a
// tab's context. Without chromium the test is skipped on a developer
// machine and fails under CI (CI set), so CI cannot pass by skipping it.
func browser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		msg := fmt.Sprintf("no browser at %s (install Debian's chromium package): %v", chromiumPath, err)
		if os.Getenv("CI") != "" {
			t.Fatalf("%s\nCI is set, so the browser test fails instead of being skipped", msg)
		}
		t.Skip(msg)
	}
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in first-out)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1000),
	)
	t.Cleanup(cancelAlloc) // waits for the browser to exit
	tab, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	return tab
}

// pageChannel is what the test reads of one channel on the page.
type pageChannel struct {
	Name        string   `json:"name"`
	Topic       string   `json:"topic"`
	Bookmarks   []string `json:"bookmarks"`
	Members     string   `json:"members"`
	Header      string   `json:"header"`
	Status      string   `json:"status"`
	BorderColor string   `json:"borderColor"`
	Fields      []string `json:"fields"`
	Buttons     []string `json:"buttons"`
	Replies     []string `json:"replies"`
	// Messages are the text of every top-level message (its blocks, not
	// its thread), Threads the number of replies under each.
	Messages []string `json:"messages"`
	Threads  []int    `json:"threads"`
}

// readChannels returns every incident channel on the page as its reader
// sees it (innerText: what is rendered, not the markup); readShared the
// shared channels.
var (
	readChannels = readChannelsOf(".channel:not(.shared)")
	readShared   = readChannelsOf(".channel.shared")
)

func readChannelsOf(selector string) string {
	return `[...document.querySelectorAll('` + selector + `')].map(ch => {
  const root = ch.querySelector('.message.root');
  const roots = [...ch.querySelectorAll('.message.root')];
  const all = (el, sel) => el ? [...el.querySelectorAll(sel)].map(e => e.innerText.trim()) : [];
  return {
    name: ch.querySelector('.channel-name').innerText.trim(),
    topic: ch.querySelector('.topic').innerText.trim(),
    bookmarks: all(ch, '.bookmarks a'),
    members: ch.querySelector('.members').innerText.trim(),
    header: root && root.querySelector('.b-header') ? root.querySelector('.b-header').innerText.trim() : '',
    status: root ? root.dataset.status : '',
    borderColor: root ? getComputedStyle(root).borderLeftColor : '',
    fields: all(root, '.b-field'),
    buttons: root ? [...root.querySelectorAll('.b-actions a')].map(a => a.innerText.trim() + ' ' + a.href) : [],
    replies: all(root, '.reply'),
    messages: roots.map(m => [...m.querySelectorAll(':scope > .b-header, :scope > .b-section, :scope > .b-context')].map(e => e.innerText.trim()).join('\n')),
    threads: roots.map(m => m.querySelectorAll('.reply').length),
  };
})`
}

// TestPageInBrowser replays incidents into an in-process sandbox, loads
// the page in headless chromium and reads it as a responder would: the
// channel, the root message's fields coloured by status, the replies in
// order, a hostile title shown as text and never run, and the page's own
// refresh and replay button at work.
func TestPageInBrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t, 50*time.Second)
	sb, _ := start(t, nil)

	sendLifecycle(t, sb, replay.Options{FirstNumber: 1234})
	const hostile = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> <!channel> db down`
	sendLifecycle(t, sb, replay.Options{FirstNumber: 1235, Title: hostile})

	checkConsole := collectConsole(t, ctx)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(sb.PageURL()),
		chromedp.WaitVisible(chromedp.CSS(`[data-channel="inc-1234-checkout-latency-above-2s-p99"] .reply`)),
	); err != nil {
		t.Fatalf("load %s: %v", sb.PageURL(), err)
	}
	chs, err := chromedp.Run(ctx, chromedp.Evaluate[[]pageChannel](readChannels))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	if len(chs) != 2 {
		t.Fatalf("page shows %d channels, want 2: %+v", len(chs), chs)
	}
	// Newest first: the hostile one, then #1234.
	evil, ch := chs[0], chs[1]

	// The name, then the channel id.
	if want := "#inc-1234-checkout-latency-above-2s-p99 C00000003"; ch.Name != want {
		t.Errorf("channel name = %q, want %q", ch.Name, want)
	}
	if want := "Resolved · high · P1 · Checkout API"; ch.Topic != want {
		t.Errorf("topic = %q, want %q", ch.Topic, want)
	}
	slices.Sort(ch.Bookmarks)
	if want := []string{"🔖 Conference bridge", "🔖 PagerDuty #1234"}; !slices.Equal(ch.Bookmarks, want) {
		t.Errorf("bookmarks = %q, want %q", ch.Bookmarks, want)
	}
	if want := "🟢 #1234 Checkout latency above 2s (p99)"; ch.Header != want {
		t.Errorf("root header = %q, want %q", ch.Header, want)
	}
	if ch.Status != "resolved" || ch.BorderColor != "rgb(46, 182, 125)" {
		t.Errorf("root status %q coloured %s, want resolved in green rgb(46, 182, 125)", ch.Status, ch.BorderColor)
	}
	fields := map[string]string{}
	for _, f := range ch.Fields {
		label, value, _ := strings.Cut(f, "\n")
		fields[label] = value
	}
	for label, want := range map[string]string{"Status": "🟢 Resolved", "Priority": "P1", "Service": "Checkout API", "Urgency": "High", "Escalation policy": "Checkout on-call"} {
		if got := fields[label]; got != want {
			t.Errorf("root field %s = %q, want %q (fields %q)", label, got, want, ch.Fields)
		}
	}
	if len(ch.Buttons) != 2 || !strings.HasPrefix(ch.Buttons[0], "Open in PagerDuty https://acme.pagerduty.com/incidents/Q") ||
		ch.Buttons[1] != "Join conference https://meet.example.com/checkout" {
		t.Errorf("buttons = %q, want Open in PagerDuty and Join conference as links", ch.Buttons)
	}
	wantReplies := []string{"Acknowledged by Ada Lovelace", "Note from Ada Lovelace\nRolled back deploy 7f3a; watching p99.\n<!channel> ignore this",
		"Escalated to Grace Hopper (Checkout on-call)", "Priority changed to P1 by Ada Lovelace",
		"Could not add to this channel: Alan Turing (no Slack account)", "Resolved by Ada Lovelace after 42m"}
	if len(ch.Replies) == len(wantReplies) && strings.HasPrefix(ch.Replies[3], "Could not add") {
		// Posted concurrently with the priority change's reply.
		ch.Replies[3], ch.Replies[4] = ch.Replies[4], ch.Replies[3]
	}
	if len(ch.Replies) != len(wantReplies) {
		t.Errorf("replies = %q, want %d", ch.Replies, len(wantReplies))
	} else {
		for i, want := range wantReplies {
			if !strings.HasPrefix(ch.Replies[i], want) {
				t.Errorf("reply %d = %q, want it to start with %q", i, ch.Replies[i], want)
			}
		}
	}
	if want := "2 members: Incident Channels (bot), Ada Lovelace"; ch.Members != want {
		t.Errorf("members = %q, want %q", ch.Members, want)
	}

	// The announce channel: one line per incident channel, linking it.
	shared, err := chromedp.Run(ctx, chromedp.Evaluate[[]pageChannel](readShared))
	if err != nil {
		t.Fatalf("read the shared channels: %v", err)
	}
	if len(shared) != 2 || shared[0].Name != "#incidents "+sb.Announce || shared[1].Name != "#incidents-low "+sb.Low {
		t.Fatalf("shared channels = %+v, want #incidents and #incidents-low with their ids", shared)
	}
	if msgs := shared[0].Messages; len(msgs) != 2 ||
		msgs[0] != "🟢 #1234 Checkout latency above 2s (p99) → #inc-1234-checkout-latency-above-2s-p99\nResolved · high · P1 · Checkout API" ||
		!strings.HasPrefix(msgs[1], "🟢 #1235 ") || shared[0].BorderColor != "rgb(46, 182, 125)" {
		t.Errorf("#incidents = %q (border %s), want the two incidents' announce lines, resolved in green", msgs, shared[0].BorderColor)
	}

	// The hostile title is text on the page, and nothing in it ran.
	if want := "🟢 #1235 " + hostile; evil.Header != want {
		t.Errorf("hostile root header = %q, want the title as text %q", evil.Header, want)
	}
	pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__pwned !== undefined || document.querySelector('.channels script, .channels img') !== null`))
	if err != nil || pwned {
		t.Errorf("the hostile title ran or became markup (pwned=%v, err=%v)", pwned, err)
	}

	// The button replays a new incident; the page shows it without a
	// reload, by its own refresh.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#replay-form button`))); err != nil {
		t.Fatalf("click the replay button: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`document.querySelectorAll('.channel:not(.shared)').length === 3 && document.querySelectorAll('.channel:not(.shared)')[0].querySelectorAll('.reply').length === 6`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Errorf("the replayed incident did not appear with its 6 replies: %v", err)
	}

	// The second button replays a low-urgency incident: a message in
	// #incidents-low with its updates threaded, then its own channel
	// once raised to P1, opening with a summary.
	raised := chromedp.CSS(`#replay-form button[value="raised"]`)
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(raised), chromedp.Click(raised)); err != nil {
		t.Fatalf("click the second replay button: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`document.querySelectorAll('.channel:not(.shared)').length === 4 && document.querySelectorAll('.channel:not(.shared)')[0].querySelectorAll('.reply').length === 4`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the raised incident did not get its channel with 4 replies: %v", err)
	}
	if chs, err = chromedp.Run(ctx, chromedp.Evaluate[[]pageChannel](readChannels)); err != nil {
		t.Fatalf("read the page: %v", err)
	}
	// The line naming who could not be added is posted concurrently with
	// the summary, so it may come first; the summary leads the rest.
	got := chs[0]
	summary := slices.DeleteFunc(slices.Clone(got.Replies), func(r string) bool { return strings.HasPrefix(r, "Could not add to this channel") })
	if !strings.HasSuffix(got.Header, "Order history slow to load for some users") || len(got.Replies) != 4 || len(summary) == 0 ||
		!strings.HasPrefix(summary[0], "What happened before this channel opened\n• ") || !strings.Contains(summary[0], "Triggered (low urgency)") {
		t.Errorf("raised incident's channel = %+v, want the summary first", got)
	}
	if shared, err = chromedp.Run(ctx, chromedp.Evaluate[[]pageChannel](readShared)); err != nil {
		t.Fatalf("read the shared channels: %v", err)
	}
	low := shared[1]
	if len(low.Messages) != 1 || !strings.Contains(low.Messages[0], "Urgency\nHigh") ||
		!strings.HasSuffix(low.Messages[0], "Updates in the thread · Moved to "+strings.Fields(chs[0].Name)[0]) ||
		!slices.Equal(low.Threads, []int{2}) || !strings.HasPrefix(low.Replies[0], "Acknowledged by Ada Lovelace") {
		t.Errorf("#incidents-low = %+v, want the raised incident's message, moved to its channel, with 2 replies", low)
	}
	if n := len(shared[0].Messages); n != 4 {
		t.Errorf("#incidents holds %d announce lines, want 4", n)
	}

	screenshot(t, ctx)
	checkConsole(t)
}

// screenshot writes a screenshot of the whole page to the file
// screenshotEnv names (each browser test overwrites it: pick one with
// -run), else to a temporary directory.
func screenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	path := os.Getenv(screenshotEnv)
	if path == "" {
		path = filepath.Join(t.TempDir(), "sandbox.png")
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("screenshot of the page: %s (%d bytes)", path, len(shot))
}

// collectConsole starts the browser and the tab and collects what the
// page writes to the console: a script error or a resource the
// Content-Security-Policy blocked would show there. The returned function
// fails the test for every error collected.
func collectConsole(t *testing.T, ctx context.Context) (check func(*testing.T)) {
	t.Helper()
	var mu sync.Mutex
	var console []chromedp.ConsoleMessage
	if err := chromedp.Do(ctx); err != nil { // starts the browser and the tab
		t.Fatalf("start chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, m)
			mu.Unlock()
		}
	}()
	return func(t *testing.T) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for _, m := range console {
			if m.IsException() || m.Type == chromedp.ConsoleError {
				t.Errorf("page console: %v", m)
			}
		}
	}
}

// poll waits until the expression holds on the page.
func poll(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[[]pageChannel](readChannels))
		t.Fatalf("%s: %v\nincident channels: %+v", what, err, state)
	}
}

// rootJS is the first incident channel's root message on the page.
const rootJS = `document.querySelector('.channel:not(.shared) .message.root')`

// TestActInBrowser acts on an incident as a responder would in the
// page: triggers one, acknowledges it from its root message and watches
// the root turn orange as PagerDuty's webhook comes back, adds a note
// through the note form, asks /inc, and sees what a person without a
// PagerDuty user is told after confirming a Resolve.
func TestActInBrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t, 50*time.Second)
	sb, _ := start(t, nil)
	checkConsole := collectConsole(t, ctx)

	trigger := chromedp.CSS(`#replay-form button[value="triggered"]`)
	ack := chromedp.CSS(`.channel:not(.shared) .message.root button.act[data-action="incident_acknowledge"]`)
	if err := chromedp.Do(ctx, chromedp.Navigate(sb.PageURL()), chromedp.WaitVisible(trigger), chromedp.Click(trigger), chromedp.WaitVisible(ack)); err != nil {
		t.Fatalf("trigger an incident from %s: %v", sb.PageURL(), err)
	}
	chs, err := chromedp.Run(ctx, chromedp.Evaluate[[]pageChannel](readChannels))
	if err != nil || len(chs) != 1 || chs[0].Status != "triggered" || chs[0].BorderColor != "rgb(224, 30, 90)" {
		t.Fatalf("after the trigger the page shows %+v (%v), want one channel, its root triggered in red", chs, err)
	}
	buttons, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](rootJS+`.querySelectorAll('button.act').values().map(b => b.innerText.trim() + (b.dataset.confirm ? ' (confirm)' : '')).toArray()`))
	if want := []string{"Acknowledge", "Resolve (confirm)", "Escalate (confirm)", "Add note"}; err != nil || !slices.Equal(buttons, want) {
		t.Errorf("root buttons = %q (%v), want %q", buttons, err, want)
	}
	if len(chs[0].Buttons) != 2 {
		t.Errorf("link buttons = %q, want Open in PagerDuty and Join conference kept", chs[0].Buttons)
	}

	// Acknowledge as Ada (the first person to act as): the answer only
	// she sees, then the webhook turns the root orange and threads it.
	if err := chromedp.Do(ctx, chromedp.Click(ack)); err != nil {
		t.Fatalf("click Acknowledge: %v", err)
	}
	poll(t, ctx, "the root did not turn acknowledged", `(() => {
  const root = `+rootJS+`, ch = root.closest('.channel');
  return root.dataset.status === 'acknowledged' && getComputedStyle(root).borderLeftColor === 'rgb(242, 163, 58)' &&
    !root.querySelector('button.act[data-action="incident_acknowledge"]') &&
    [...root.querySelectorAll('.reply')].some(r => r.innerText.startsWith('Acknowledged by Ada Lovelace')) &&
    [...ch.querySelectorAll('.ephemeral')].some(e => e.innerText.includes('Only visible to you (Ada Lovelace)') && e.innerText.includes('in PagerDuty as Ada Lovelace'));
})()`)
	screenshot(t, ctx)

	// Add note opens the function's modal as a form; the note comes back
	// as a thread reply.
	const note = "Rolled back deploy 7f3a; p99 recovering."
	noteButton := chromedp.CSS(`.channel:not(.shared) .message.root button.act[data-action="incident_note"]`)
	if err := chromedp.Do(ctx, chromedp.Click(noteButton), chromedp.WaitVisible(chromedp.CSS(`.note-form textarea`)),
		chromedp.SendKeys(chromedp.CSS(`.note-form textarea`), note), chromedp.Click(chromedp.CSS(`.note-form button[type="submit"]`))); err != nil {
		t.Fatalf("add a note through the form: %v", err)
	}
	poll(t, ctx, "the note did not come back as a reply", `!document.querySelector('.note-form') &&
  [...`+rootJS+`.querySelectorAll('.reply')].some(r => r.innerText.startsWith('Note from Ada Lovelace') && r.innerText.includes(`+"`"+note+"`"+`))`)

	// /inc status in the channel's box.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`.channel:not(.shared) .inc-form input`), "status"),
		chromedp.Click(chromedp.CSS(`.channel:not(.shared) .inc-form button`))); err != nil {
		t.Fatalf("send /inc status: %v", err)
	}
	poll(t, ctx, "/inc status was not answered", `[...document.querySelectorAll('.channel:not(.shared) .ephemeral')].some(e => e.innerText.includes('/inc status') && e.innerText.includes('Status: acknowledged'))`)

	// As Margaret, who has no PagerDuty user: Resolve asks first, then
	// she is told why nothing happened.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__asked = []; window.confirm = q => (window.__asked.push(q), true); true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#act-as`), "U05MH0000"),
		chromedp.Click(chromedp.CSS(`.channel:not(.shared) .message.root button.act[data-action="incident_resolve"]`))); err != nil {
		t.Fatalf("click Resolve as Margaret: %v", err)
	}
	poll(t, ctx, "Margaret was not told she has no PagerDuty user", `[...document.querySelectorAll('.channel:not(.shared) .ephemeral')].some(e => e.innerText.includes('(Margaret Hamilton)') && e.innerText.includes('no PagerDuty user has'))`)
	asked, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__asked`))
	if err != nil || len(asked) != 1 || !strings.HasPrefix(asked[0], "Resolve #") {
		t.Errorf("confirm dialogs = %q (%v), want the Resolve button's", asked, err)
	}
	if chs, _ := chromedp.Run(ctx, chromedp.Evaluate[[]pageChannel](readChannels)); len(chs) != 1 || chs[0].Status != "acknowledged" {
		t.Errorf("after Margaret's Resolve the page shows %+v, want the root still acknowledged", chs)
	}
	checkConsole(t)
}
