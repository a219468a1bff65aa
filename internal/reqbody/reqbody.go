// Package reqbody reads a request body up to a limit, the same way for
// every endpoint that verifies a signature over the raw bytes.
package reqbody

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Read returns r's body when it is at most max bytes. Otherwise it
// returns the status to answer (413 for a body over max, refused without
// reading it all when Content-Length says so; 400 for one that could not
// be read), a message for the answer, and the read error, if any.
func Read(w http.ResponseWriter, r *http.Request, max int64) (body []byte, status int, msg string, err error) {
	if r.ContentLength > max {
		return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", max), nil
	}
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", max), nil
		}
		return nil, http.StatusBadRequest, "could not read body", err
	}
	return body, http.StatusOK, "", nil
}
