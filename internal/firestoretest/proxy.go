package firestoretest

import (
	"os"
	"testing"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
)

// NewProxy starts a proxy to the emulator of this test binary and closes it
// when the test ends. Point FIRESTORE_EMULATOR_HOST at its Addr, then Cut
// it to see what the code does when Firestore becomes unreachable mid-run,
// and Restore it: unlike stopping the emulator, a cut keeps the data, as a
// real Firestore outage would. It skips the test like Project when no
// emulator is available.
func NewProxy(t testing.TB) *netfake.Proxy {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	target := os.Getenv(emulatorHostEnv)
	if target == "" {
		t.Fatalf("firestoretest: %s is not set; call firestoretest.Main from TestMain", emulatorHostEnv)
	}
	p, err := netfake.NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}
