package perf

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	slackfake "github.com/incident-channels/incident-channels/internal/fake/slack"
	"github.com/incident-channels/incident-channels/internal/soak"
)

// localPackage is the command the process section builds and starts.
const localPackage = "github.com/incident-channels/incident-channels/cmd/local"

// process builds cmd/local (unless Options.LocalBin names a build) and
// starts it Runs times as its own process with STORE=memory and the fake
// Slack answering at once (L=0), to measure what a cold instance costs:
// exec → listening, exec → the first 2xx of a signed event, the network
// calls made before that event, and then its memory and CPU under
// Concurrency deliveries at once.
func (rn *runner) process(ctx context.Context) error {
	if runtime.GOOS != "linux" {
		return errors.New("needs Linux: memory and sockets are read from /proc")
	}
	bin := rn.o.LocalBin
	if bin == "" {
		dir, err := os.MkdirTemp("", "perf-local-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "local")
		start := time.Now()
		if err := build(ctx, rn.o.GoCmd, bin); err != nil {
			return err
		}
		rn.logf("process: built cmd/local in %v", time.Since(start).Round(time.Millisecond))
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return err
	}

	row := func(name, unit string, digits int) Row {
		return Row{Section: "cold start & memory", Name: name, Where: "cmd/local", Unit: unit, Digits: digits}
	}
	var (
		listen   = row("exec → listening (GET /healthz 200)", "ms", 1)
		first    = row("exec → first 2xx of a signed triggered, L=0", "ms", 1)
		size     = row("binary size (go build, not stripped)", "MiB", 1)
		initNet  = row("Slack calls + open outbound sockets before the first webhook", "", 0)
		rssStart = row("RSS after start", "MiB", 1)
		rssIdle  = row("RSS idle, after the first event", "MiB", 1)
		rssPeak  = row(fmt.Sprintf("peak RSS (VmHWM), %d concurrent deliveries", rn.o.Concurrency), "MiB", 1)
		cpu      = row("CPU per delivery under that load", "ms", 2)
		conns    = row("Slack connections opened under that load", "", 0)
	)
	first.Goal, first.Met = "< 150", below(150)
	initNet.Goal, initNet.Met = "0", equal(0)
	rssIdle.Goal, rssIdle.Met = "< 40", below(40)
	rssPeak.Goal, rssPeak.Met = "< 100", below(100)
	size.Samples = []float64{float64(fi.Size()) / (1 << 20)}

	var last *localRun
	for r := range rn.o.Runs {
		res, err := rn.runLocal(ctx, bin, r)
		if err != nil {
			return err
		}
		listen.Samples = append(listen.Samples, ms(res.listen))
		first.Samples = append(first.Samples, ms(res.first))
		initNet.Samples = append(initNet.Samples, float64(res.initCalls+res.initSockets))
		rssStart.Samples = append(rssStart.Samples, mib(res.rssStart))
		rssIdle.Samples = append(rssIdle.Samples, mib(res.rssIdle))
		rssPeak.Samples = append(rssPeak.Samples, mib(res.hwm))
		cpu.Samples = append(cpu.Samples, ms(res.cpuPerDelivery))
		conns.Samples = append(conns.Samples, float64(res.loadConns))
		last = res
		rn.logf("process run %d: first 2xx %.1f ms, idle %.1f MiB, peak %.1f MiB", r+1, ms(res.first), mib(res.rssIdle), mib(res.hwm))
	}
	for _, r := range []Row{listen, first, size, initNet, rssStart, rssIdle, rssPeak, cpu, conns} {
		rn.rep.add(r)
	}
	if last != nil {
		rn.rep.Notes = append(rn.rep.Notes, recommend(rssIdle.Median(), rssPeak.Median(), cpu.Median(), rn.o.Concurrency))
	}
	return nil
}

// build builds cmd/local into bin.
func build(ctx context.Context, goCmd, bin string) error {
	if goCmd == "" {
		goCmd = "go"
		if _, err := exec.LookPath(goCmd); err != nil {
			goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", bin, localPackage)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %w\n%s", localPackage, err, out)
	}
	return nil
}

// localRun is what one start of cmd/local measured.
type localRun struct {
	listen, first          time.Duration
	initCalls, initSockets int
	rssStart, rssIdle, hwm int64 // bytes
	cpuPerDelivery         time.Duration
	loadConns              int
}

func (rn *runner) runLocal(ctx context.Context, bin string, run int) (*localRun, error) {
	fake := slackfake.NewServer()
	defer fake.Close()
	proxy, err := netfake.NewProxy(strings.TrimSuffix(strings.TrimPrefix(fake.URL, "http://"), "/api/"))
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	base := "http://127.0.0.1:" + port
	cmd := exec.CommandContext(ctx, bin)
	// Only what the function needs: nothing inherited can point it at a
	// real project or another Slack.
	cmd.Env = []string{
		"PORT=" + port, "STORE=memory", "PAGERDUTY_WEBHOOK_SECRET=" + secret,
		"SLACK_BOT_TOKEN=" + slackfake.DefaultToken, "SLACK_API_URL=http://" + proxy.Addr() + "/api/",
		"SLACK_INVITE_USERS=" + inviteUsers,
	}
	var stderr tail
	cmd.Stderr = &stderr
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	defer client.CloseIdleConnections()

	res := &localRun{}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	pid := cmd.Process.Pid
	fail := func(err error) (*localRun, error) {
		return nil, fmt.Errorf("cmd/local run %d: %w\n%s", run+1, err, stderr.String())
	}

	// Poll until it listens.
	probe := &http.Client{Timeout: time.Second}
	for {
		resp, err := probe.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > 30*time.Second {
			return fail(fmt.Errorf("not listening on %s after 30 s: %v", base, err))
		}
		time.Sleep(time.Millisecond)
	}
	res.listen = time.Since(start)
	probe.CloseIdleConnections()
	res.initCalls = fake.TotalCalls()
	if res.initSockets, err = outboundSockets(pid, port); err != nil {
		return fail(err)
	}
	if res.rssStart, _, err = memory(pid); err != nil {
		return fail(err)
	}

	life := soak.Lifecycle(seedProcess, run*100000)
	if code, msg, _, err := deliver(ctx, client, base+"/", life[0]); err != nil || code != http.StatusOK {
		return fail(fmt.Errorf("first event answered %d %s %v", code, msg, err))
	}
	res.first = time.Since(start)
	time.Sleep(200 * time.Millisecond)
	if res.rssIdle, _, err = memory(pid); err != nil {
		return fail(err)
	}

	// Load: half new incidents, half status events of incidents created
	// just before, all at once, Slack answering after LoadLatency.
	half := rn.o.Concurrency / 2
	var creates, load [][]byte
	for i := range half {
		life := soak.Lifecycle(seedProcess, run*100000+1+i)
		creates, load = append(creates, life[0]), append(load, life[1])
	}
	for i := range rn.o.Concurrency - half {
		load = append(load, soak.Lifecycle(seedProcess, run*100000+1+half+i)[0])
	}
	if err := sendAll(ctx, client, base, creates, 8); err != nil {
		return fail(fmt.Errorf("creating incidents: %w", err))
	}
	fake.SetLatency(rn.o.LoadLatency)
	cpu0, err := cpuTime(pid)
	if err != nil {
		return fail(err)
	}
	conns0 := proxy.Conns()
	if err := sendAll(ctx, client, base, load, len(load)); err != nil {
		return fail(fmt.Errorf("under load: %w", err))
	}
	cpu1, err := cpuTime(pid)
	if err != nil {
		return fail(err)
	}
	res.loadConns = proxy.Conns() - conns0
	res.cpuPerDelivery = (cpu1 - cpu0) / time.Duration(len(load))
	if _, res.hwm, err = memory(pid); err != nil {
		return fail(err)
	}
	return res, nil
}

// sendAll delivers bodies, workers at a time (all at once when workers is
// len(bodies): they start together). Every answer must be 200.
func sendAll(ctx context.Context, client *http.Client, base string, bodies [][]byte, workers int) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		next  = make(chan []byte)
		ready = make(chan struct{})
	)
	for range min(workers, len(bodies)) {
		wg.Go(func() {
			<-ready
			for body := range next {
				code, msg, _, err := deliver(ctx, client, base+"/", body)
				if err == nil && code != http.StatusOK {
					err = fmt.Errorf("%s answered %d %s", eventSummary(body), code, msg)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	close(ready)
	for _, b := range bodies {
		next <- b
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d deliveries failed; first: %w", len(errs), len(bodies), errs[0])
	}
	return nil
}

// recommend turns the memory and CPU measurements into Cloud Functions
// (gen2) settings.
func recommend(idleMiB, peakMiB, cpuMS float64, concurrent int) string {
	perDelivery := max(0, (peakMiB-idleMiB)/float64(concurrent))
	at80 := idleMiB + 80*perDelivery
	perSecond := 0.0
	if cpuMS > 0 {
		perSecond = 1000 / cpuMS
	}
	return fmt.Sprintf("**Recommended Cloud Functions (gen2) settings**, from the cmd/local rows: `--memory=256Mi --cpu=1 --concurrency=80` "+
		"(what the deploy job sets). Idle is %.0f MiB and each delivery in flight adds about %.2f MiB (peak %.0f MiB with %d at once), "+
		"so 80 at once need about %.0f MiB, %.1f× less than 256 MiB; the rest is room for the Firestore client's gRPC connection "+
		"(these runs use STORE=memory) and the garbage collector. A delivery costs about %.1f ms of CPU, so one vCPU serves some %.0f "+
		"deliveries/s, far beyond what PagerDuty sends or Slack's rate limits (Tier 2 methods: ~20 a minute) let through: more CPU or "+
		"a higher concurrency buys nothing, and a concurrency above 1 needs `--cpu=1`. Keep `--min-instances=1`: the function starts "+
		"in tens of milliseconds, but the platform's own cold start comes on top.",
		idleMiB, perDelivery, peakMiB, concurrent, at80, 256/at80, cpuMS, perSecond)
}

// memory returns VmRSS and VmHWM of a process, in bytes.
func memory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse %s %q: %w", key, val, err)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("no VmRSS/VmHWM in /proc/%d/status", pid)
	}
	return rss, hwm, nil
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuTime returns the user + system CPU time a process has used.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields count from after its ")".
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	// fields[0] is the state (field 3); utime and stime are fields 14, 15.
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// outboundSockets counts the sockets a process holds other than its
// listener and the connections accepted on port: TCP connections it
// opened and UDP sockets (a DNS lookup).
func outboundSockets(pid int, port string) (int, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return 0, err
	}
	ourPort := fmt.Sprintf("%04X", p)
	n := 0
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, proto))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 10 || f[0] == "sl" || !inodes[f[9]] {
				continue
			}
			_, local, _ := strings.Cut(f[1], ":")
			if strings.HasPrefix(proto, "tcp") && (f[3] == "0A" || local == ourPort) {
				continue // the listener, or a connection to it
			}
			n++
		}
	}
	return n, nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// tail keeps the last 8 KiB written to it, for error messages.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = t.b[len(t.b)-8<<10:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
