package pgerr

import (
	"context"
	"errors"
)

var errCanceled = errors.New("canceling statement due to user request")

// Canceled is the error a statement returns when its client cancelled it.
func Canceled() error {
	return &Error{Code: QueryCanceled, Message: "canceling statement due to user request", Err: errCanceled}
}

func isContextCanceled(err error) bool {
	return errors.Is(err, context.Canceled)
}
