package store

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// checkCollection and checkDoc name the document Check reads. It never
// exists: a "not found" answer proves the database answers as well as a
// document would, costs one read and needs no write permission.
const (
	checkCollection = "health"
	checkDoc        = "check"
)

// Check reads one document, to prove the database answers with the
// function's credentials (the function's pagey.ping answers with it).
func (f *Firestore) Check(ctx context.Context) error {
	_, err := f.client.Collection(checkCollection).Doc(checkDoc).Get(ctx)
	if err != nil && status.Code(err) != codes.NotFound {
		return fmt.Errorf("read %s/%s: %w", checkCollection, checkDoc, err)
	}
	return nil
}

// Check implements the same check for Memory, which always answers.
func (m *Memory) Check(context.Context) error { return nil }
