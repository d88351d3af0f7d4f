package main

import (
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name string
		p    progress
		want string
	}{
		{
			name: "start: nothing known",
			p:    progress{},
			want: "[                    ] 0 shard groups  0 B",
		},
		{
			name: "start of a rebalance of 8 groups",
			p:    progress{groupsTotal: 8, bytesTotal: 300 * mb, elapsed: 200 * time.Millisecond},
			want: "[>                   ] 0/8 shard groups  0 B/300 MB",
		},
		{
			name: "bytes known: the bar and ETA follow the bytes",
			p:    progress{groupsDone: 3, groupsTotal: 8, bytesDone: 120 * mb, bytesTotal: 300 * mb, elapsed: 30 * time.Second},
			want: "[========>           ] 3/8 shard groups  120 MB/300 MB  4.0 MB/s  ETA 45s",
		},
		{
			name: "bytes unknown: the bar and ETA follow the groups",
			p:    progress{groupsDone: 2, groupsTotal: 8, bytesDone: 50 * mb, elapsed: 40 * time.Second},
			want: "[=====>              ] 2/8 shard groups  50 MB  1.2 MB/s  ETA 2m0s",
		},
		{
			name: "nothing copied yet and no group done: no ETA",
			p:    progress{groupsTotal: 1, bytesTotal: 10 * mb, elapsed: 3 * time.Second},
			want: "[>                   ] 0/1 shard groups  0 B/10 MB  0 B/s",
		},
		{
			name: "done",
			p:    progress{groupsDone: 8, groupsTotal: 8, bytesDone: 300 * mb, bytesTotal: 300 * mb, elapsed: 75 * time.Second},
			want: "[====================] 8/8 shard groups  300 MB/300 MB  4.0 MB/s  ETA 0s",
		},
		{
			name: "unknown totals",
			p:    progress{groupsDone: 4, bytesDone: 1536, elapsed: 2 * time.Second},
			want: "[                    ] 4 shard groups  1.5 kB  768 B/s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.line(); got != tt.want {
				t.Errorf("line()\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestDrawBar(t *testing.T) {
	tests := []struct {
		f     float64
		width int
		want  string
	}{
		{-1, 10, "[          ]"},
		{0, 10, "[>         ]"},
		{0.5, 10, "[=====>    ]"},
		{0.99, 10, "[=========>]"},
		{1, 10, "[==========]"},
		{1.7, 10, "[==========]"},
	}
	for _, tt := range tests {
		if got := drawBar(tt.f, tt.width); got != tt.want {
			t.Errorf("drawBar(%v, %d) = %q, want %q", tt.f, tt.width, got, tt.want)
		}
	}
}
