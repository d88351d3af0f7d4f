package datanode

import (
	"net"
	"strconv"
	"testing"
)

func TestPorts(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 || port > 65535 {
		t.Fatalf("FreePort = %d", port)
	}
	if PortInUse(port) {
		t.Fatalf("free port %d reported in use", port)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !PortInUse(port) {
		t.Errorf("port %d with a listener reported free", port)
	}
}
