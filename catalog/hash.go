package catalog

import (
	"encoding/binary"
	"math/bits"
)

// The functions in this file reproduce PostgreSQL's built-in hash support
// functions bit for bit, so that the coordinator computes the same hash
// value for a distribution column as "SELECT hashint4(x)" and friends do on
// a data node. Results are returned as int32, the way PostgreSQL prints them.
//
// PostgreSQL's generic hashes (hash_any and hash_uint32 in
// src/common/hashfn.c) are Bob Jenkins' lookup3 hashes with a fixed initial
// value; multi-byte words are read in little-endian order as on x86-64.

// lookup3Init is the initial value of a, b and c before the length is added.
const lookup3Init = 0x9e3779b9 + 3923095

// mix3 is lookup3's reversible mixing step for the 12-byte blocks.
func mix3(a, b, c uint32) (uint32, uint32, uint32) {
	a -= c
	a ^= bits.RotateLeft32(c, 4)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 6)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 8)
	b += a
	a -= c
	a ^= bits.RotateLeft32(c, 16)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 19)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 4)
	b += a
	return a, b, c
}

// final3 is lookup3's final avalanche of the three state words; the hash is
// the returned c.
func final3(a, b, c uint32) uint32 {
	c ^= b
	c -= bits.RotateLeft32(b, 14)
	a ^= c
	a -= bits.RotateLeft32(c, 11)
	b ^= a
	b -= bits.RotateLeft32(a, 25)
	c ^= b
	c -= bits.RotateLeft32(b, 16)
	a ^= c
	a -= bits.RotateLeft32(c, 4)
	b ^= a
	b -= bits.RotateLeft32(a, 14)
	c ^= b
	c -= bits.RotateLeft32(b, 24)
	return c
}

// hashAny is PostgreSQL's hash_any (hash_bytes): lookup3 over k.
func hashAny(k []byte) uint32 {
	a := uint32(lookup3Init) + uint32(len(k))
	b, c := a, a
	for len(k) >= 12 {
		a += binary.LittleEndian.Uint32(k[0:])
		b += binary.LittleEndian.Uint32(k[4:])
		c += binary.LittleEndian.Uint32(k[8:])
		a, b, c = mix3(a, b, c)
		k = k[12:]
	}
	// The 0..11 byte tail fills a and b from their low-order bytes
	// upwards, then c from its second byte. That layout comes from
	// Jenkins' older lookup2, which added the length into c's low byte;
	// PostgreSQL keeps the layout but does not add the length there.
	for i, x := range k {
		switch {
		case i < 4:
			a += uint32(x) << (8 * i)
		case i < 8:
			b += uint32(x) << (8 * (i - 4))
		default:
			c += uint32(x) << (8 * (i - 7))
		}
	}
	return final3(a, b, c)
}

// hashUint32 is PostgreSQL's hash_uint32: lookup3 specialised to one word.
func hashUint32(k uint32) uint32 {
	a := uint32(lookup3Init) + 4
	return final3(a+k, a, a)
}

// HashInt4 returns PostgreSQL's hashint4(v). hashint2 widens its argument to
// int4 and so gives the same result for the same value.
func HashInt4(v int32) int32 {
	return int32(hashUint32(uint32(v)))
}

// HashInt8 returns PostgreSQL's hashint8(v). The two halves are folded so
// that every value in the int4 range hashes as HashInt4 does, which keeps
// the integer types cross-type hash compatible.
func HashInt8(v int64) int32 {
	lo := uint32(v)
	hi := uint32(v >> 32)
	if v >= 0 {
		lo ^= hi
	} else {
		lo ^= ^hi
	}
	return int32(hashUint32(lo))
}

// HashText returns PostgreSQL's hashtext(s) under a deterministic collation,
// which is hash_any over the bytes of s in the database encoding (UTF-8 is
// assumed). varchar hashes the same way.
func HashText(s string) int32 {
	return int32(hashAny([]byte(s)))
}

// HashBytes returns hash_any over b: PostgreSQL's hash for bytea
// (hashvarlena) and, with the 16 raw bytes, for uuid (uuid_hash).
func HashBytes(b []byte) int32 {
	return int32(hashAny(b))
}

// HashBPChar returns PostgreSQL's hashbpchar(s): trailing spaces are not
// significant for character(n) and do not take part in the hash.
func HashBPChar(s string) int32 {
	end := len(s)
	for end > 0 && s[end-1] == ' ' {
		end--
	}
	return HashText(s[:end])
}

// HashBool returns the hash PostgreSQL's bool hash opclass computes, which is
// hashchar over the byte 0 or 1.
func HashBool(v bool) int32 {
	if v {
		return int32(hashUint32(1))
	}
	return int32(hashUint32(0))
}

// HashDate returns PostgreSQL's hash of a date given as days since
// 2000-01-01 (negative before), which is hashint4 of that number.
func HashDate(days int32) int32 {
	return HashInt4(days)
}

// HashTimestamp returns PostgreSQL's hash of a timestamp or timestamptz
// given as microseconds since 2000-01-01 00:00:00 (UTC for timestamptz),
// which is hashint8 of that number.
func HashTimestamp(micros int64) int32 {
	return HashInt8(micros)
}
