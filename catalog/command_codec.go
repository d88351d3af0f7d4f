package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrUnknownCommand is returned when decoding a command whose kind or
// version this package does not know.
var ErrUnknownCommand = errors.New("catalog: unknown command")

// envelope is the encoded form of a Command.
type envelope struct {
	Kind    string          `json:"kind"`
	Version int             `json:"version"`
	Body    json.RawMessage `json:"body"`
}

// EncodeCommand encodes cmd as a JSON envelope
// {"kind": ..., "version": ..., "body": {...}}.
func EncodeCommand(cmd Command) ([]byte, error) {
	c, ok := commandValue(cmd)
	if !ok {
		return nil, fmt.Errorf("encode command %T: %w", cmd, ErrUnknownCommand)
	}
	body, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %s command: %w", c.Kind(), err)
	}
	return json.Marshal(envelope{Kind: c.Kind(), Version: c.Version(), Body: body})
}

// DecodeCommand decodes an envelope written by EncodeCommand. Unknown kinds
// and versions, unknown fields and malformed input are errors.
func DecodeCommand(data []byte) (Command, error) {
	var env envelope
	if err := decodeStrict(data, &env); err != nil {
		return nil, fmt.Errorf("decode command envelope: %w", err)
	}
	cmd, ok := newCommand(env.Kind)
	if !ok {
		return nil, fmt.Errorf("decode command: kind %q: %w", env.Kind, ErrUnknownCommand)
	}
	if env.Version != cmd.Version() {
		return nil, fmt.Errorf("decode %s command: version %d: %w", env.Kind, env.Version, ErrUnknownCommand)
	}
	if len(env.Body) == 0 || bytes.Equal(env.Body, []byte("null")) {
		return nil, fmt.Errorf("decode %s command: missing body", env.Kind)
	}
	if err := decodeStrict(env.Body, cmd); err != nil {
		return nil, fmt.Errorf("decode %s command body: %w", env.Kind, err)
	}
	c, _ := commandValue(cmd)
	return c, nil
}

// decodeStrict unmarshals a single JSON value, rejecting unknown fields and
// trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON value")
	}
	return nil
}
