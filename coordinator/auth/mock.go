package auth

// mockVerifier returns a fake verifier for a user that does not exist. It
// is derived from the registry's secret key and the name, so repeated
// attempts for the same name see the same salt, like for a real user, and
// no password matches it (finding one would mean inverting SHA-256). This
// mirrors PostgreSQL's "doomed" SCRAM exchange for unknown roles.
func (u *Users) mockVerifier(name string) Verifier {
	var key []byte
	if u != nil {
		key = u.mockKey
	}
	v := Verifier{
		Iterations: DefaultIterations,
		Salt:       hmacSHA256(key, "salt\x00", name)[:DefaultSaltLen],
	}
	copy(v.StoredKey[:], hmacSHA256(key, "stored key\x00", name))
	copy(v.ServerKey[:], hmacSHA256(key, "server key\x00", name))
	return v
}
