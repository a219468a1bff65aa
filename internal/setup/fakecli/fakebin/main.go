// Command fakebin is the fake gcloud and gh of package fakecli: it acts
// as the program it is named after.
package main

import (
	"os"
	"path/filepath"

	"github.com/incident-channels/incident-channels/internal/setup/fakecli"
)

func main() {
	os.Exit(fakecli.Main(filepath.Base(os.Args[0]), os.Args[1:]))
}
