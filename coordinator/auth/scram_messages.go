package auth

import (
	"crypto/sha256"
	"strings"
)

// This file parses the client's SCRAM messages (RFC 5802, section 7):
//
//	client-first-message = gs2-header client-first-message-bare
//	gs2-header           = gs2-cbind-flag "," [ authzid ] ","
//	gs2-cbind-flag       = ("p=" cb-name) / "n" / "y"
//	client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
//
//	client-final-message-without-proof = channel-binding "," nonce ["," extensions]
//	client-final-message = client-final-message-without-proof "," proof
//
// PostgreSQL ignores the username attribute (the user is the one from the
// startup message; libpq and pgx send "n="), and so do we.

// clientFirst is a parsed client-first-message.
type clientFirst struct {
	gs2Header string // "n,," or "y,,"
	bare      string // client-first-message-bare, part of AuthMessage
	nonce     string // c-nonce
}

// clientFinal is a parsed client-final-message.
type clientFinal struct {
	withoutProof   string // client-final-message-without-proof, part of AuthMessage
	channelBinding []byte // decoded c= attribute
	nonce          string // c-nonce followed by s-nonce
	proof          []byte // decoded p= attribute, ClientProof
}

func malformed(what string) *AuthError {
	return protocolViolation("malformed SCRAM message: %s", what)
}

func parseClientFirst(msg []byte) (clientFirst, error) {
	s := string(msg)
	if s == "" {
		return clientFirst{}, malformed("empty client-first-message")
	}
	switch {
	case strings.HasPrefix(s, "p="):
		return clientFirst{}, protocolViolation(
			"channel binding is not supported: the client requested it (%q) but the server offers only %s without channel binding",
			"p=", mechanism)
	case strings.HasPrefix(s, "n,"), strings.HasPrefix(s, "y,"):
	default:
		return clientFirst{}, malformed(`client-first-message must start with channel-binding flag "n" or "y" and a ','`)
	}
	if strings.HasPrefix(s[2:], "a=") {
		return clientFirst{}, &AuthError{
			Code:    CodeFeatureNotSupported,
			Message: "client uses authorization identity, but it is not supported",
		}
	}
	if !strings.HasPrefix(s[2:], ",") {
		return clientFirst{}, malformed("invalid GS2 header")
	}
	cf := clientFirst{gs2Header: s[:3], bare: s[3:]}

	attrs := strings.Split(cf.bare, ",")
	if strings.HasPrefix(attrs[0], "m=") {
		return clientFirst{}, &AuthError{
			Code:    CodeFeatureNotSupported,
			Message: "client requires an unsupported SCRAM extension",
		}
	}
	if _, err := attrValue(attrs, 0, 'n'); err != nil {
		return clientFirst{}, err
	}
	nonce, err := attrValue(attrs, 1, 'r')
	if err != nil {
		return clientFirst{}, err
	}
	if err := checkNonce(nonce); err != nil {
		return clientFirst{}, err
	}
	if err := checkExtensions(attrs[2:]); err != nil {
		return clientFirst{}, err
	}
	cf.nonce = nonce
	return cf, nil
}

func parseClientFinal(msg []byte) (clientFinal, error) {
	s := string(msg)
	i := strings.LastIndex(s, ",p=")
	if i < 0 {
		return clientFinal{}, malformed(`client-final-message has no proof attribute "p"`)
	}
	cf := clientFinal{withoutProof: s[:i]}
	proof, err := decodeBase64(s[i+len(",p="):])
	if err != nil || len(proof) != sha256.Size {
		return clientFinal{}, malformed("invalid client proof")
	}
	cf.proof = proof

	attrs := strings.Split(cf.withoutProof, ",")
	cb, err := attrValue(attrs, 0, 'c')
	if err != nil {
		return clientFinal{}, err
	}
	if cf.channelBinding, err = decodeBase64(cb); err != nil {
		return clientFinal{}, malformed("invalid channel-binding attribute")
	}
	if cf.nonce, err = attrValue(attrs, 1, 'r'); err != nil {
		return clientFinal{}, err
	}
	if err := checkExtensions(attrs[2:]); err != nil {
		return clientFinal{}, err
	}
	return cf, nil
}

// attrValue returns the value of attrs[i], which must be attribute name.
func attrValue(attrs []string, i int, name byte) (string, error) {
	if i >= len(attrs) || len(attrs[i]) < 2 || attrs[i][0] != name || attrs[i][1] != '=' {
		return "", malformed("expected attribute \"" + string(name) + "\"")
	}
	return attrs[i][2:], nil
}

// checkNonce checks that a nonce is non-empty and printable: ASCII from
// 0x21 to 0x7E except ','.
func checkNonce(nonce string) error {
	if nonce == "" {
		return malformed("empty nonce")
	}
	for i := 0; i < len(nonce); i++ {
		if c := nonce[i]; c < 0x21 || c > 0x7e || c == ',' {
			return malformed("nonce contains a non-printable character")
		}
	}
	return nil
}

// checkExtensions checks that optional extensions are well-formed
// attribute=value pairs; their values are ignored.
func checkExtensions(attrs []string) error {
	for _, a := range attrs {
		if len(a) < 2 || !isASCIILetter(a[0]) || a[1] != '=' {
			return malformed("invalid attribute")
		}
	}
	return nil
}

func isASCIILetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
