package main

import (
	"strconv"
	"strings"
	"time"
)

// barWidth is the number of cells between the brackets of the bar.
const barWidth = 20

// progress is how far a long call (drain, move, rebalance) has come.
type progress struct {
	groupsDone  int
	groupsTotal int // 0: unknown
	bytesDone   int64
	bytesTotal  int64 // 0: unknown
	elapsed     time.Duration
}

// line renders p as one line, e.g.
//
//	[=========>          ] 3/8 shard groups  120 MB/300 MB  4.2 MB/s  ETA 43s
//
// Totals, rate and ETA are left out while unknown.
func (p progress) line() string {
	var b strings.Builder
	b.WriteString(drawBar(p.fraction(), barWidth))
	b.WriteString(" " + strconv.Itoa(p.groupsDone))
	if p.groupsTotal > 0 {
		b.WriteString("/" + strconv.Itoa(p.groupsTotal))
	}
	b.WriteString(" shard groups  " + formatBytes(p.bytesDone))
	if p.bytesTotal > 0 {
		b.WriteString("/" + formatBytes(p.bytesTotal))
	}
	if rate, ok := p.rate(); ok {
		b.WriteString("  " + formatBytes(int64(rate)) + "/s")
	}
	if eta, ok := p.eta(); ok {
		b.WriteString("  ETA " + eta.String())
	}
	return b.String()
}

// fraction is the part done, by bytes when their total is known, else by
// shard groups; -1 when neither total is known.
func (p progress) fraction() float64 {
	switch {
	case p.bytesTotal > 0:
		return float64(p.bytesDone) / float64(p.bytesTotal)
	case p.groupsTotal > 0:
		return float64(p.groupsDone) / float64(p.groupsTotal)
	}
	return -1
}

// rate is the bytes copied per second since the call started; not known
// in the first second.
func (p progress) rate() (float64, bool) {
	if p.elapsed < time.Second {
		return 0, false
	}
	return float64(p.bytesDone) / p.elapsed.Seconds(), true
}

// eta estimates the time left from the bytes left at the rate so far,
// else from the shard groups left at the pace so far.
func (p progress) eta() (time.Duration, bool) {
	if rate, ok := p.rate(); ok && rate > 0 && p.bytesTotal > 0 {
		left := max(p.bytesTotal-p.bytesDone, 0)
		return time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second), true
	}
	if p.groupsTotal > 0 && p.groupsDone > 0 && p.elapsed > 0 {
		left := max(p.groupsTotal-p.groupsDone, 0)
		return (p.elapsed * time.Duration(left) / time.Duration(p.groupsDone)).Round(time.Second), true
	}
	return 0, false
}

// drawBar draws [=====>    ] for fraction f of width cells; an empty
// bar when f is negative (unknown).
func drawBar(f float64, width int) string {
	if f < 0 {
		return "[" + strings.Repeat(" ", width) + "]"
	}
	n := min(int(f*float64(width)), width)
	if n == width {
		return "[" + strings.Repeat("=", width) + "]"
	}
	return "[" + strings.Repeat("=", n) + ">" + strings.Repeat(" ", width-n-1) + "]"
}
