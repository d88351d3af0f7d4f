package catalog

import (
	"encoding/hex"
	"errors"
	"testing"
)

// pgHashGolden holds values computed by a real PostgreSQL 15.18 server
// (initdb defaults, UTF8, C.UTF-8 locale, session TimeZone UTC). Each row was
// produced with
//
//	SELECT encode(<type>send('<text>'::<type>), 'hex'), <hashproc>('<text>'::<type>)
//
// where <hashproc> is the type's hash opclass support function 1 from
// pg_amproc: hashint2, hashint4, hashint8, hashtext, hashbpchar,
// uuid_hash and timestamp_hash directly, and for bool, bytea, date and
// timestamptz (whose procedures take "internal" or another type) through
// LANGUAGE internal wrappers around hashchar, hashvarlena, hashint4 and
// timestamp_hash.
var pgHashGolden = []struct {
	oid    uint32
	text   string
	binary string // hex of the type's binary send output
	want   int32
}{
	{OIDInt2, "0", "0000", -272711505},
	{OIDInt2, "1", "0001", -1905060026},
	{OIDInt2, "-1", "ffff", 385747274},
	{OIDInt2, "32767", "7fff", 1289782602},
	{OIDInt2, "-32768", "8000", 193646934},
	{OIDInt2, "12345", "3039", -78097827},
	{OIDInt2, " 42 ", "002a", 1509752520},
	{OIDInt2, "+7", "0007", -978793473},
	{OIDInt4, "0", "00000000", -272711505},
	{OIDInt4, "1", "00000001", -1905060026},
	{OIDInt4, "-1", "ffffffff", 385747274},
	{OIDInt4, "2147483647", "7fffffff", -96758253},
	{OIDInt4, "-2147483648", "80000000", -1524351049},
	{OIDInt4, "42", "0000002a", 1509752520},
	{OIDInt4, "123456789", "075bcd15", 524883300},
	{OIDInt4, "-987654321", "c521974f", 946857821},
	{OIDInt4, " -17 ", "ffffffef", -2114815366},
	{OIDInt8, "0", "0000000000000000", -272711505},
	{OIDInt8, "1", "0000000000000001", -1905060026},
	{OIDInt8, "-1", "ffffffffffffffff", 385747274},
	{OIDInt8, "-5", "fffffffffffffffb", 1412886042},
	{OIDInt8, "2147483647", "000000007fffffff", -96758253},
	{OIDInt8, "2147483648", "0000000080000000", -1524351049},
	{OIDInt8, "-2147483648", "ffffffff80000000", -1524351049},
	{OIDInt8, "-2147483649", "ffffffff7fffffff", -96758253},
	{OIDInt8, "4294967295", "00000000ffffffff", 385747274},
	{OIDInt8, "4294967296", "0000000100000000", -1905060026},
	{OIDInt8, "-4294967296", "ffffffff00000000", -272711505},
	{OIDInt8, "9223372036854775807", "7fffffffffffffff", -1524351049},
	{OIDInt8, "-9223372036854775808", "8000000000000000", -96758253},
	{OIDInt8, "1234567890123456789", "112210f47de98115", 804253767},
	{OIDInt8, "-1234567890123456789", "eeddef0b82167eeb", -1747712409},
	{OIDText, "", "", -1477818771},
	{OIDText, "a", "61", 1075015857},
	{OIDText, "ab", "6162", 1718550461},
	{OIDText, "abc", "616263", -785388649},
	{OIDText, "abcd", "61626364", -393934804},
	{OIDText, "abcde", "6162636465", -445659580},
	{OIDText, "abcdef", "616263646566", -1747460160},
	{OIDText, "abcdefg", "61626364656667", 501636814},
	{OIDText, "abcdefgh", "6162636465666768", -1960928205},
	{OIDText, "abcdefghi", "616263646566676869", -92131489},
	{OIDText, "abcdefghij", "6162636465666768696a", 1948051852},
	{OIDText, "abcdefghijk", "6162636465666768696a6b", -1483803693},
	{OIDText, "abcdefghijkl", "6162636465666768696a6b6c", -1586087212},
	{OIDText, "abcdefghijklm", "6162636465666768696a6b6c6d", 405849808},
	{OIDText, "abcdefghijklmn", "6162636465666768696a6b6c6d6e", 315215413},
	{OIDText, "abcdefghijklmno", "6162636465666768696a6b6c6d6e6f", -1389283689},
	{OIDText, "abcdefghijklmnop", "6162636465666768696a6b6c6d6e6f70", -2079749669},
	{OIDText, "abcdefghijklmnopq", "6162636465666768696a6b6c6d6e6f7071", 1648114242},
	{OIDText, "abcdefghijklmnopqr", "6162636465666768696a6b6c6d6e6f707172", -952297252},
	{OIDText, "abcdefghijklmnopqrs", "6162636465666768696a6b6c6d6e6f70717273", -684650393},
	{OIDText, "abcdefghijklmnopqrst", "6162636465666768696a6b6c6d6e6f7071727374", 766334193},
	{OIDText, "abcdefghijklmnopqrstu", "6162636465666768696a6b6c6d6e6f707172737475", 2124303250},
	{OIDText, "abcdefghijklmnopqrstuv", "6162636465666768696a6b6c6d6e6f70717273747576", -50608962},
	{OIDText, "abcdefghijklmnopqrstuvw", "6162636465666768696a6b6c6d6e6f7071727374757677", -1149376136},
	{OIDText, "abcdefghijklmnopqrstuvwx", "6162636465666768696a6b6c6d6e6f707172737475767778", 1251586959},
	{OIDText, "abcdefghijklmnopqrstuvwxy", "6162636465666768696a6b6c6d6e6f70717273747576777879", 980150893},
	{OIDText, "abcdefghijklmnopqrstuvwxyz", "6162636465666768696a6b6c6d6e6f707172737475767778797a", 167831483},
	{OIDText, "abcdefghijklmnopqrstuvwxyz0", "6162636465666768696a6b6c6d6e6f707172737475767778797a30", -1923549396},
	{OIDText, "abcdefghijklmnopqrstuvwxyz01", "6162636465666768696a6b6c6d6e6f707172737475767778797a3031", -636332337},
	{OIDText, "abcdefghijklmnopqrstuvwxyz012", "6162636465666768696a6b6c6d6e6f707172737475767778797a303132", -412030706},
	{OIDText, "abcdefghijklmnopqrstuvwxyz0123", "6162636465666768696a6b6c6d6e6f707172737475767778797a30313233", 89653194},
	{OIDText, "abcdefghijklmnopqrstuvwxyz01234", "6162636465666768696a6b6c6d6e6f707172737475767778797a3031323334", -908372798},
	{OIDText, "abcdefghijklmnopqrstuvwxyz012345", "6162636465666768696a6b6c6d6e6f707172737475767778797a303132333435", 1203288424},
	{OIDText, "abcdefghijklmnopqrstuvwxyz0123456", "6162636465666768696a6b6c6d6e6f707172737475767778797a30313233343536", -19649275},
	{OIDText, "abcdefghijklmnopqrstuvwxyz01234567", "6162636465666768696a6b6c6d6e6f707172737475767778797a3031323334353637", -189095804},
	{OIDText, "abcdefghijklmnopqrstuvwxyz012345678", "6162636465666768696a6b6c6d6e6f707172737475767778797a303132333435363738", -1475196007},
	{OIDText, "abcdefghijklmnopqrstuvwxyz0123456789", "6162636465666768696a6b6c6d6e6f707172737475767778797a30313233343536373839", 1318422268},
	{OIDText, "abcdefghijklmnopqrstuvwxyz0123456789A", "6162636465666768696a6b6c6d6e6f707172737475767778797a3031323334353637383941", -22154523},
	{OIDText, "abcdefghijklmnopqrstuvwxyz0123456789AB", "6162636465666768696a6b6c6d6e6f707172737475767778797a303132333435363738394142", 721360856},
	{OIDText, "abcdefghijklmnopqrstuvwxyz0123456789ABC", "6162636465666768696a6b6c6d6e6f707172737475767778797a30313233343536373839414243", -235185553},
	{OIDText, "abcdefghijklmnopqrstuvwxyz0123456789ABCD", "6162636465666768696a6b6c6d6e6f707172737475767778797a3031323334353637383941424344", 1451736991},
	{OIDText, "héllo wörld", "68c3a96c6c6f2077c3b6726c64", 1823351448},
	{OIDText, "日本語テキスト", "e697a5e69cace8aa9ee38386e382ade382b9e38388", -1595187616},
	{OIDText, "🐘 PostgreSQL", "f09f909820506f737467726553514c", -1403901534},
	{OIDText, "trailing  ", "747261696c696e672020", -1068696007},
	{OIDText, "O'Reilly", "4f275265696c6c79", 364397219},
	{OIDText, "back\\slash", "6261636b5c736c617368", -572595472},
	{OIDText, "tab\there", "7461620968657265", 523748727},
	{OIDText, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "78787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878", 1174826790},
	{OIDVarchar, "abc", "616263", -785388649},
	{OIDVarchar, "héllo", "68c3a96c6c6f", -1340490493},
	{OIDVarchar, "", "", -1477818771},
	{OIDBPChar, "abc", "616263", -785388649},
	{OIDBPChar, "abc   ", "616263202020", -785388649},
	{OIDBPChar, "   abc", "202020616263", -1579270025},
	{OIDBPChar, "", "", -1477818771},
	{OIDBPChar, "   ", "202020", -1477818771},
	{OIDBPChar, "a b ", "61206220", 1796173977},
	{OIDBPChar, "héllo  ", "68c3a96c6c6f2020", -1340490493},
	{OIDBool, "true", "01", -1905060026},
	{OIDBool, "false", "00", -272711505},
	{OIDBool, "t", "01", -1905060026},
	{OIDBool, "f", "00", -272711505},
	{OIDBool, "yes", "01", -1905060026},
	{OIDBool, "no", "00", -272711505},
	{OIDBool, "on", "01", -1905060026},
	{OIDBool, "off", "00", -272711505},
	{OIDBool, "of", "00", -272711505},
	{OIDBool, "1", "01", -1905060026},
	{OIDBool, "0", "00", -272711505},
	{OIDBool, "TRUE", "01", -1905060026},
	{OIDBool, " y ", "01", -1905060026},
	{OIDBytea, "\\x", "", -1477818771},
	{OIDBytea, "\\x00", "00", -1062527899},
	{OIDBytea, "\\x0102030405", "0102030405", 578350048},
	{OIDBytea, "\\xDEADbeef", "deadbeef", 517622086},
	{OIDBytea, "\\xa5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5", "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5", -1667803259},
	{OIDBytea, "\\x01 02\n03", "010203", 1090015717},
	{OIDBytea, "abc\\000def", "61626300646566", -1213711151},
	{OIDBytea, "a\\\\b", "615c62", -917568221},
	{OIDBytea, "plain", "706c61696e", 1210650556},
	{OIDBytea, "", "", -1477818771},
	{OIDUUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc999c0b4ef8bb6d6bb9bd380a11", 1154666245},
	{OIDUUID, "{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}", "a0eebc999c0b4ef8bb6d6bb9bd380a11", 1154666245},
	{OIDUUID, "a0eebc999c0b4ef8bb6d6bb9bd380a11", "a0eebc999c0b4ef8bb6d6bb9bd380a11", 1154666245},
	{OIDUUID, "00000000-0000-0000-0000-000000000000", "00000000000000000000000000000000", 1353656403},
	{OIDUUID, "ffffffff-ffff-ffff-ffff-ffffffffffff", "ffffffffffffffffffffffffffffffff", -682383255},
	{OIDUUID, "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", "a0eebc999c0b4ef8bb6d6bb9bd380a11", 1154666245},
	{OIDUUID, "123e4567-e89b-12d3-a456-426614174000", "123e4567e89b12d3a456426614174000", 1944658063},
	{OIDDate, "2000-01-01", "00000000", -272711505},
	{OIDDate, "2000-01-02", "00000001", -1905060026},
	{OIDDate, "1999-12-31", "ffffffff", 385747274},
	{OIDDate, "1970-01-01", "ffffd533", -1538670306},
	{OIDDate, "0001-01-01", "fff4dbf9", 1642854232},
	{OIDDate, "9999-12-31", "002c95d3", 39749528},
	{OIDDate, "2024-02-29", "00002279", 1456914585},
	{OIDDate, "1900-03-01", "ffff718f", -787064874},
	{OIDDate, "infinity", "7fffffff", -96758253},
	{OIDDate, "-infinity", "80000000", -1524351049},
	{OIDDate, "epoch", "ffffd533", -1538670306},
	{OIDDate, " 2024-01-02 ", "0000223f", -555957077},
	{OIDTimestamp, "2000-01-01 00:00:00", "0000000000000000", -272711505},
	{OIDTimestamp, "2024-01-02 03:04:05", "0002b0ec8515f340", -1717080021},
	{OIDTimestamp, "2024-01-02 03:04:05.123456", "0002b0ec8517d580", 205007579},
	{OIDTimestamp, "1999-12-31 23:59:59.999999", "ffffffffffffffff", 385747274},
	{OIDTimestamp, "1900-06-15 12:00:00", "fff4d6efc6c81000", -1605442355},
	{OIDTimestamp, "2024-01-02T03:04:05", "0002b0ec8515f340", -1717080021},
	{OIDTimestamp, "2024-01-02 03:04:05+02", "0002b0ec8515f340", -1717080021},
	{OIDTimestamp, "2024-01-01 24:00:00", "0002b0e9f2c0a000", 95334596},
	{OIDTimestamp, "2024-01-01 23:59:60", "0002b0e9f2c0a000", 95334596},
	{OIDTimestamp, "2024-01-02 03:04:05.1234567", "0002b0ec8517d581", -960134821},
	{OIDTimestamp, "2024-01-01 23:59:59.9999995", "0002b0e9f2c0a000", 95334596},
	{OIDTimestamp, "2024-01-02", "0002b0e9f2c0a000", 95334596},
	{OIDTimestamp, "2024-01-02 3:04", "0002b0ec84c9a800", 678854004},
	{OIDTimestamp, "0001-01-01 00:00:00", "ff1fe2ffc59c6000", 255550282},
	{OIDTimestamp, "9999-12-31 23:59:59.999999", "0380e70b913b7fff", 633324798},
	{OIDTimestamp, "infinity", "7fffffffffffffff", -1524351049},
	{OIDTimestamp, "-infinity", "8000000000000000", -96758253},
	{OIDTimestamp, "epoch", "fffca2fec4c82000", 680174221},
	{OIDTimestamp, "2024-01-02 03:04:05.", "0002b0ec8515f340", -1717080021},
	{OIDTimestampTZ, "2024-01-02 03:04:05+00", "0002b0ec8515f340", -1717080021},
	{OIDTimestampTZ, "2024-01-02 03:04:05+02", "0002b0ead7eeab40", 843851912},
	{OIDTimestampTZ, "2024-01-02 03:04:05-05:30", "0002b0f12141f940", 1772620535},
	{OIDTimestampTZ, "2024-01-02 03:04:05.5 +0530", "0002b0e7e8f18e60", 1713296006},
	{OIDTimestampTZ, "2024-01-02T03:04:05Z", "0002b0ec8515f340", -1717080021},
	{OIDTimestampTZ, "2024-01-02 03:04:05 UTC", "0002b0ec8515f340", -1717080021},
	{OIDTimestampTZ, "2024-01-02 03:04:05", "0002b0ec8515f340", -1717080021},
	{OIDTimestampTZ, "1999-12-31 23:00:00-01", "0000000000000000", -272711505},
	{OIDTimestampTZ, "2024-01-02 03:04:05+05:30:15", "0002b0e7e8050b80", -429912345},
	{OIDTimestampTZ, "2024-01-02 03:04:05 gmt", "0002b0ec8515f340", -1717080021},
	{OIDTimestampTZ, "2000-01-01 00:00:00+00", "0000000000000000", -272711505},
	{OIDTimestampTZ, "infinity", "7fffffffffffffff", -1524351049},
	{OIDTimestampTZ, "-infinity", "8000000000000000", -96758253},
}

func TestHashDatumGolden(t *testing.T) {
	for _, tc := range pgHashGolden {
		got, err := HashDatum(tc.oid, tc.text)
		if err != nil {
			t.Errorf("HashDatum(%d, %q): %v", tc.oid, tc.text, err)
		} else if got != tc.want {
			t.Errorf("HashDatum(%d, %q) = %d, want %d", tc.oid, tc.text, got, tc.want)
		}
	}
}

func TestHashBinaryDatumGolden(t *testing.T) {
	for _, tc := range pgHashGolden {
		b, err := hex.DecodeString(tc.binary)
		if err != nil {
			t.Fatalf("bad golden hex %q: %v", tc.binary, err)
		}
		got, err := HashBinaryDatum(tc.oid, b)
		if err != nil {
			t.Errorf("HashBinaryDatum(%d, %s): %v", tc.oid, tc.binary, err)
		} else if got != tc.want {
			t.Errorf("HashBinaryDatum(%d, %s) = %d, want %d (text %q)", tc.oid, tc.binary, got, tc.want, tc.text)
		}
	}
}

func TestHashFunctions(t *testing.T) {
	// Values from the same PostgreSQL server as pgHashGolden.
	tests := []struct {
		name string
		got  int32
		want int32
	}{
		{"HashInt4(0)", HashInt4(0), -272711505},
		{"HashInt4(-2147483648)", HashInt4(-2147483648), -1524351049},
		{"HashInt8(-5)", HashInt8(-5), 1412886042},
		{"HashInt8(2147483648)", HashInt8(2147483648), -1524351049},
		{"HashText(abc)", HashText("abc"), -785388649},
		{"HashBPChar(abc   )", HashBPChar("abc   "), -785388649},
		{"HashBytes(nil)", HashBytes(nil), -1477818771},
		{"HashBool(true)", HashBool(true), -1905060026},
		{"HashBool(false)", HashBool(false), -272711505},
		{"HashDate(0)", HashDate(0), -272711505},
		{"HashTimestamp(0)", HashTimestamp(0), -272711505},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

func TestHashDatumInvalid(t *testing.T) {
	tests := []struct {
		oid  uint32
		text string
	}{
		{OIDInt2, "32768"},
		{OIDInt2, ""},
		{OIDInt4, "2147483648"},
		{OIDInt4, "1.5"},
		{OIDInt4, "0x10"},
		{OIDInt4, "1_000"},
		{OIDInt8, "9223372036854775808"},
		{OIDInt8, "- 1"},
		{OIDBool, ""},
		{OIDBool, "o"},
		{OIDBool, "truex"},
		{OIDBool, "2"},
		{OIDBytea, `\x0`},
		{OIDBytea, `\xzz`},
		{OIDBytea, `\400`},
		{OIDBytea, `a\b`},
		{OIDUUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"},
		{OIDUUID, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{OIDUUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-"},
		{OIDUUID, "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11"},
		{OIDUUID, " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{OIDDate, "2024-02-30"},
		{OIDDate, "0000-01-01"},
		{OIDDate, "2024-13-01"},
		{OIDDate, "2024-1-1"},
		{OIDDate, "2024-01-02 BC"},
		{OIDDate, "today"},
		{OIDTimestamp, "2024-01-01 24:00:00.5"},
		{OIDTimestamp, "2024-01-01 23:59:60.5"},
		{OIDTimestamp, "2024-01-01 23:60:00"},
		{OIDTimestamp, "2024-01-01 25:00:00"},
		{OIDTimestamp, "2024-01-01 12"},
		{OIDTimestamp, "2024-01-01x12:00"},
		{OIDTimestampTZ, "2024-01-02 03:04:05 +1600"},
		{OIDTimestampTZ, "2024-01-02 03:04:05+15:60"},
		{OIDTimestampTZ, "2024-01-02 03:04:05 Europe/Paris"},
		{OIDTimestampTZ, "2024-01-02 03:04:05+"},
	}
	for _, tc := range tests {
		if h, err := HashDatum(tc.oid, tc.text); !errors.Is(err, ErrInvalidDatum) {
			t.Errorf("HashDatum(%d, %q) = %d, %v; want ErrInvalidDatum", tc.oid, tc.text, h, err)
		}
	}
}

func TestHashBinaryDatumInvalid(t *testing.T) {
	tests := []struct {
		oid uint32
		b   []byte
	}{
		{OIDInt2, []byte{1}},
		{OIDInt4, []byte{1, 2, 3}},
		{OIDInt8, []byte{1, 2, 3, 4}},
		{OIDBool, nil},
		{OIDUUID, make([]byte, 15)},
		{OIDDate, make([]byte, 8)},
		{OIDTimestampTZ, make([]byte, 4)},
	}
	for _, tc := range tests {
		if h, err := HashBinaryDatum(tc.oid, tc.b); !errors.Is(err, ErrInvalidDatum) {
			t.Errorf("HashBinaryDatum(%d, %x) = %d, %v; want ErrInvalidDatum", tc.oid, tc.b, h, err)
		}
	}
}

func TestUnhashableType(t *testing.T) {
	const oidNumeric = 1700
	if Hashable(oidNumeric) {
		t.Errorf("Hashable(numeric) = true")
	}
	if _, err := HashDatum(oidNumeric, "1"); !errors.Is(err, ErrUnhashableType) {
		t.Errorf("HashDatum(numeric) error = %v, want ErrUnhashableType", err)
	}
	if _, err := HashBinaryDatum(oidNumeric, []byte{0}); !errors.Is(err, ErrUnhashableType) {
		t.Errorf("HashBinaryDatum(numeric) error = %v, want ErrUnhashableType", err)
	}
	for _, tc := range pgHashGolden {
		if !Hashable(tc.oid) {
			t.Errorf("Hashable(%d) = false", tc.oid)
		}
	}
}
