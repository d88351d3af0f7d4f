package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestParseClientFirst(t *testing.T) {
	tests := []struct {
		in        string
		wantNonce string // "" means an error is expected
		wantCode  string
	}{
		{in: "n,,n=,r=abc", wantNonce: "abc"},
		{in: "y,,n=user,r=abc,x=ext", wantNonce: "abc"},
		{in: "n,,n=us=2Cer,r=~!", wantNonce: "~!"},
		{in: "", wantCode: "08P01"},
		{in: "garbage", wantCode: "08P01"},
		{in: "n", wantCode: "08P01"},
		{in: "n,", wantCode: "08P01"},
		{in: "n,,", wantCode: "08P01"},
		{in: "x,,n=,r=abc", wantCode: "08P01"},
		{in: "p=tls-server-end-point,,n=,r=abc", wantCode: "08P01"},
		{in: "p,,n=,r=abc", wantCode: "08P01"},
		{in: "n,a=bob,n=,r=abc", wantCode: "0A000"},
		{in: "n,x,n=,r=abc", wantCode: "08P01"},
		{in: "n,,m=ext,n=,r=abc", wantCode: "0A000"},
		{in: "n,,r=abc", wantCode: "08P01"},
		{in: "n,,n=", wantCode: "08P01"},
		{in: "n,,n=,r=", wantCode: "08P01"},
		{in: "n,,n=,r=a b", wantCode: "08P01"},
		{in: "n,,n=,r=\xff", wantCode: "08P01"},
		{in: "n,,n=,r=abc,", wantCode: "08P01"},
		{in: "n,,n=,r=abc,1=x", wantCode: "08P01"},
	}
	for _, tt := range tests {
		cf, err := parseClientFirst([]byte(tt.in))
		if tt.wantNonce != "" {
			if err != nil || cf.nonce != tt.wantNonce || cf.gs2Header+cf.bare != tt.in {
				t.Errorf("parseClientFirst(%q) = %+v, %v; want nonce %q", tt.in, cf, err, tt.wantNonce)
			}
			continue
		}
		ae, ok := errors.AsType[*AuthError](err)
		if !ok || ae.Code != tt.wantCode {
			t.Errorf("parseClientFirst(%q) error = %v, want an AuthError with code %s", tt.in, err, tt.wantCode)
		}
	}
}

func TestParseClientFinal(t *testing.T) {
	proof := "p=" + strings.Repeat("A", 43) + "="
	tests := []struct {
		in      string
		wantErr string
	}{
		{in: "c=biws,r=abcdef," + proof},
		{in: "c=eSws,r=abcdef,x=1," + proof},
		{in: "", wantErr: `no proof attribute "p"`},
		{in: "c=biws,r=abcdef", wantErr: `no proof attribute "p"`},
		{in: "c=biws,r=abcdef,p=AAAA", wantErr: "invalid client proof"},
		{in: "c=biws,r=abcdef,p=!!!!", wantErr: "invalid client proof"},
		{in: "r=abcdef," + proof, wantErr: `expected attribute "c"`},
		{in: "c=b!ws,r=abcdef," + proof, wantErr: "invalid channel-binding attribute"},
		{in: "c=biws," + proof, wantErr: `expected attribute "r"`},
		{in: "c=biws,r=abc,=," + proof, wantErr: "invalid attribute"},
	}
	for _, tt := range tests {
		cf, err := parseClientFinal([]byte(tt.in))
		if tt.wantErr == "" {
			if err != nil || cf.withoutProof+","+proof != tt.in || len(cf.proof) != 32 {
				t.Errorf("parseClientFinal(%q) = %+v, %v", tt.in, cf, err)
			}
			continue
		}
		ae, ok := errors.AsType[*AuthError](err)
		if !ok || ae.Code != CodeProtocolViolation || !strings.Contains(ae.Message, tt.wantErr) {
			t.Errorf("parseClientFinal(%q) error = %v, want 08P01 containing %q", tt.in, err, tt.wantErr)
		}
	}
}

func FuzzParseClientFirst(f *testing.F) {
	for _, s := range []string{"n,,n=,r=abc", "y,,n=u,r=x,e=1", "p=tls-server-end-point,,n=,r=a", "n,a=b,n=,r=a", "n,,m=x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		cf, err := parseClientFirst(msg)
		if err != nil {
			if _, ok := errors.AsType[*AuthError](err); !ok {
				t.Fatalf("error %v is not an *AuthError", err)
			}
			return
		}
		if cf.gs2Header+cf.bare != string(msg) {
			t.Fatalf("header %q + bare %q != message %q", cf.gs2Header, cf.bare, msg)
		}
		if cf.gs2Header != "n,," && cf.gs2Header != "y,," {
			t.Fatalf("accepted GS2 header %q", cf.gs2Header)
		}
		if checkNonce(cf.nonce) != nil {
			t.Fatalf("accepted bad nonce %q", cf.nonce)
		}
	})
}

// FuzzExchange feeds arbitrary client messages through a whole exchange,
// which must fail cleanly rather than panic or succeed.
func FuzzExchange(f *testing.F) {
	users, err := NewUsers(map[string]string{"alice": pgVerifierPw})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("n,,n=,r=abc"), []byte("c=biws,r=abc,p="+strings.Repeat("A", 43)+"="))
	f.Add([]byte("y,,n=,r=abc"), []byte("c=eSws,r=abcXYZ,p=AAAA"))
	f.Fuzz(func(t *testing.T, first, final []byte) {
		x := newExchange(users, "alice")
		if _, err := x.serverFirstMessage(first); err != nil {
			return
		}
		if _, err := x.serverFinalMessage(final); err == nil {
			t.Fatal("exchange with a random proof succeeded")
		}
	})
}
