// Package auth authenticates clients of the distgres coordinator with
// SASL SCRAM-SHA-256 (RFC 5802, RFC 7677), speaking the PostgreSQL
// authentication sub-protocol over a pgproto3 backend.
//
// # Users
//
// A [Users] registry maps user names to SCRAM verifiers. It is built once,
// either from command-line flags with [NewUsers] or from a users file with
// [ParseUsersFile], and is immutable afterwards, so it can be shared by all
// connections without locking.
//
// A user's secret is either a plain password, which is turned into a
// verifier with a random salt and [DefaultIterations] iterations when the
// registry is built, or a verifier in exactly the format PostgreSQL keeps in
// pg_authid.rolpassword:
//
//	SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>
//
// so a verifier can be copied from an existing PostgreSQL cluster, or
// produced with [MakeVerifier], and plain passwords need not be stored.
//
// # Users file format
//
// A users file is a UTF-8 text file with one user per line:
//
//	# comment
//	alice:correct horse battery staple
//	bob:SCRAM-SHA-256$4096:QCQj8iubQw7TQFxj9owX1Q==$woMOsK6G/+5kiClXdTzroKmawIyKwcEd5VQum0P+n8o=:/vgwn3UIyXOo/FC6wzACxcbjQ5ommRC/I+loMuoFhGc=
//
// The rules are:
//
//   - Blank lines (only spaces and tabs) are ignored, and so are lines whose
//     first non-blank character is '#'. There are no trailing comments.
//   - Every other line is name:secret. The name is everything before the
//     first ':' and the secret everything after it, verbatim: a password may
//     contain ':', '#' and spaces, and is not trimmed. Only a trailing "\r"
//     (Windows line ending) is removed from a line.
//   - The name must not be empty, must not have leading or trailing
//     whitespace and must not contain control characters. A name may
//     appear only once.
//   - A secret starting with "SCRAM-SHA-256$" must be a valid verifier; it is
//     never taken as a password. Any other non-empty secret is a plain
//     password, except that PostgreSQL MD5 hashes ("md5" followed by 32 hex
//     digits) are rejected, because they cannot be used for SCRAM.
//
// Errors name the file and the line, as in "users.conf:3: ...".
//
// # Authentication
//
// [Authenticate] runs the whole SCRAM-SHA-256 exchange for one connection.
// Channel binding (SCRAM-SHA-256-PLUS) is not offered. Failures the client
// should see are returned as [*AuthError], carrying the SQLSTATE and the
// message PostgreSQL would send; the caller sends it as a FATAL
// ErrorResponse (see [AuthError.ErrorResponse]) and closes the connection.
package auth
