package catalog

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// PostgreSQL counts dates and timestamps from 2000-01-01 (UTC).
var pgEpoch = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

const (
	usecsPerSec    = int64(1_000_000)
	usecsPerDay    = 86_400 * usecsPerSec
	unixEpochDays  = -10_957 // 1970-01-01 in days since 2000-01-01
	maxZoneHours   = 15      // PostgreSQL's MAX_TZDISP_HOUR
	secsPerMinute  = 60
	secsPerHour    = 3_600
	hoursPerDay    = 24
	minutesPerHour = 60
)

// parseDate parses a date in ISO form (YYYY-MM-DD) or one of the special
// values into days since 2000-01-01.
func parseDate(text string) (int32, error) {
	s := trimSpace(text)
	switch strings.ToLower(s) {
	case "infinity":
		return math.MaxInt32, nil
	case "-infinity":
		return math.MinInt32, nil
	case "epoch":
		return unixEpochDays, nil
	}
	p := dateTimeParser{s: s}
	days, err := p.date()
	if err == nil && p.s != "" {
		err = fmt.Errorf("unexpected %q", p.s)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: bad date %q: %w", ErrInvalidDatum, text, err)
	}
	return int32(days), nil
}

// parseTimestamp parses an ISO timestamp or one of the special values into
// microseconds since 2000-01-01 00:00:00. For timestamptz the result is in
// UTC (a missing zone means UTC); for timestamp a zone is checked and then
// ignored.
func parseTimestamp(text string, withTZ bool) (int64, error) {
	s := trimSpace(text)
	switch strings.ToLower(s) {
	case "infinity":
		return math.MaxInt64, nil
	case "-infinity":
		return math.MinInt64, nil
	case "epoch":
		return unixEpochDays * usecsPerDay, nil
	}
	ts, err := parseISOTimestamp(s, withTZ)
	if err != nil {
		return 0, fmt.Errorf("%w: bad timestamp %q: %w", ErrInvalidDatum, text, err)
	}
	return ts, nil
}

func parseISOTimestamp(s string, withTZ bool) (int64, error) {
	p := dateTimeParser{s: s}
	days, err := p.date()
	if err != nil {
		return 0, err
	}
	ts := days * usecsPerDay
	if p.s == "" {
		return ts, nil
	}
	if p.s[0] != ' ' && p.s[0] != 'T' && p.s[0] != 't' {
		return 0, fmt.Errorf("unexpected %q", p.s)
	}
	p.s = strings.TrimLeft(p.s[1:], " ")
	tod, err := p.timeOfDay()
	if err != nil {
		return 0, err
	}
	ts += tod
	p.s = strings.TrimLeft(p.s, " ")
	if p.s == "" {
		return ts, nil
	}
	offset, err := p.zone()
	if err != nil {
		return 0, err
	}
	if withTZ {
		ts -= offset * usecsPerSec
	}
	return ts, nil
}

// dateTimeParser consumes an ISO date/time string from the front.
type dateTimeParser struct {
	s string
}

// digits consumes between min and max decimal digits.
func (p *dateTimeParser) digits(min, max int) (int64, error) {
	n := 0
	for n < len(p.s) && n < max && p.s[n] >= '0' && p.s[n] <= '9' {
		n++
	}
	if n < min {
		return 0, fmt.Errorf("expected %d digits at %q", min, p.s)
	}
	v, err := strconv.ParseInt(p.s[:n], 10, 64)
	if err != nil {
		return 0, err
	}
	p.s = p.s[n:]
	return v, nil
}

func (p *dateTimeParser) expect(c byte) error {
	if p.s == "" || p.s[0] != c {
		return fmt.Errorf("expected %q at %q", c, p.s)
	}
	p.s = p.s[1:]
	return nil
}

// date consumes YYYY-MM-DD and returns days since 2000-01-01.
func (p *dateTimeParser) date() (int64, error) {
	year, err := p.digits(4, 4)
	if err != nil {
		return 0, err
	}
	if err := p.expect('-'); err != nil {
		return 0, err
	}
	month, err := p.digits(2, 2)
	if err != nil {
		return 0, err
	}
	if err := p.expect('-'); err != nil {
		return 0, err
	}
	day, err := p.digits(2, 2)
	if err != nil {
		return 0, err
	}
	if year < 1 || month < 1 || month > 12 || day < 1 || day > 31 {
		return 0, fmt.Errorf("date field out of range")
	}
	t := time.Date(int(year), time.Month(month), int(day), 0, 0, 0, 0, time.UTC)
	if t.Day() != int(day) {
		return 0, fmt.Errorf("no day %d in %d-%02d", day, year, month)
	}
	// time.Duration cannot span the whole date range, so count seconds.
	return (t.Unix() - pgEpoch.Unix()) / 86_400, nil
}

// timeOfDay consumes HH:MM[:SS[.fraction]] and returns microseconds since
// midnight. As in PostgreSQL, 24:00:00 and a leap second (SS = 60) are
// accepted and carry into the next day or minute, and a fraction is rounded
// to the nearest microsecond, ties to even.
func (p *dateTimeParser) timeOfDay() (int64, error) {
	hour, err := p.digits(1, 2)
	if err != nil {
		return 0, err
	}
	if err := p.expect(':'); err != nil {
		return 0, err
	}
	minute, err := p.digits(2, 2)
	if err != nil {
		return 0, err
	}
	var sec, fsec int64
	if strings.HasPrefix(p.s, ":") {
		p.s = p.s[1:]
		if sec, err = p.digits(2, 2); err != nil {
			return 0, err
		}
		if strings.HasPrefix(p.s, ".") {
			if fsec, err = p.fraction(); err != nil {
				return 0, err
			}
		}
	}
	if minute >= minutesPerHour || sec > secsPerMinute || fsec > usecsPerSec ||
		(sec == secsPerMinute && fsec > 0) ||
		hour > hoursPerDay || (hour == hoursPerDay && (minute > 0 || sec > 0 || fsec > 0)) {
		return 0, fmt.Errorf("time field out of range")
	}
	return (hour*secsPerHour+minute*secsPerMinute+sec)*usecsPerSec + fsec, nil
}

// fraction consumes ".digits" and rounds it to microseconds the way
// PostgreSQL does: rint(strtod(".digits") * 1e6).
func (p *dateTimeParser) fraction() (int64, error) {
	n := 1 + leadingDigits(p.s[1:])
	if n == 1 {
		// PostgreSQL takes a bare "." as no fraction.
		p.s = p.s[1:]
		return 0, nil
	}
	frac, err := strconv.ParseFloat("0"+p.s[:n], 64)
	if err != nil {
		return 0, err
	}
	p.s = p.s[n:]
	return int64(math.RoundToEven(frac * 1e6)), nil
}

// zone consumes the rest of the input as a time zone and returns its offset
// east of UTC in seconds.
func (p *dateTimeParser) zone() (int64, error) {
	switch strings.ToLower(p.s) {
	case "z", "utc", "gmt":
		p.s = ""
		return 0, nil
	}
	if p.s == "" || (p.s[0] != '+' && p.s[0] != '-') {
		return 0, fmt.Errorf("unsupported time zone %q", p.s)
	}
	sign := int64(1)
	if p.s[0] == '-' {
		sign = -1
	}
	p.s = p.s[1:]
	var hour, minute, sec int64
	var err error
	switch n := leadingDigits(p.s); {
	case n == 4:
		// +HHMM
		hour, _ = p.digits(2, 2)
		minute, _ = p.digits(2, 2)
	default:
		if hour, err = p.digits(1, 2); err != nil {
			return 0, err
		}
		if strings.HasPrefix(p.s, ":") {
			p.s = p.s[1:]
			if minute, err = p.digits(2, 2); err != nil {
				return 0, err
			}
			if strings.HasPrefix(p.s, ":") {
				p.s = p.s[1:]
				if sec, err = p.digits(2, 2); err != nil {
					return 0, err
				}
			}
		}
	}
	if p.s != "" {
		return 0, fmt.Errorf("unexpected %q in time zone", p.s)
	}
	if hour > maxZoneHours || minute >= minutesPerHour || sec >= secsPerMinute {
		return 0, fmt.Errorf("time zone displacement out of range")
	}
	return sign * (hour*secsPerHour + minute*secsPerMinute + sec), nil
}

func leadingDigits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
