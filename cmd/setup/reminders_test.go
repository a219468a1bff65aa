package main

import (
	"strings"
	"testing"
)

// TestRemindersAloneMakeTheSweep: UPDATE_REMINDERS without ARCHIVE_AFTER
// still needs the sweep: its job is made and the variable set with the
// sweep's; a malformed value stops setup before it calls anything.
func TestRemindersAloneMakeTheSweep(t *testing.T) {
	t.Parallel()
	f := newFake(t, emptyProject(true), "gcloud", "gh")
	env := map[string]string{"UPDATE_REMINDERS": "P1=30m,*=4h"}
	for k, v := range secrets {
		env[k] = v
	}
	if out, err := f.run(env, args...); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	w := f.world()
	if _, ok := w.Objects["job/"+project+"/"+region+"/incident-channels-sweep"]; !ok {
		t.Error("no sweep job with UPDATE_REMINDERS")
	}
	if got := w.Vars["UPDATE_REMINDERS"]; got != "P1=30m,*=4h" || w.Vars["SWEEP_INVOKER"] == "" {
		t.Errorf("GitHub variables = %v, want UPDATE_REMINDERS and the sweep's", w.Vars)
	}
	if _, ok := w.Vars["ARCHIVE_AFTER"]; ok {
		t.Error("ARCHIVE_AFTER set without being asked for")
	}

	bad := newFake(t, emptyProject(true), "gcloud", "gh")
	out, err := bad.run(map[string]string{"UPDATE_REMINDERS": "P1=10s"}, args...)
	if err == nil || !strings.Contains(err.Error(), "UPDATE_REMINDERS: entry 1") {
		t.Errorf("run with a malformed UPDATE_REMINDERS = %v, want it refused\n%s", err, out)
	}
	if calls := bad.calls(); calls != "" {
		t.Errorf("setup called %q before refusing", calls)
	}
}
