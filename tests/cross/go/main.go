// The cross-language scenario in Go (see tests/cross/README.md): rows
// alternate, 1000 at a time, between Input.Append and Input.PushRecord
// (arrow-go records); results are pulled with Subscription.Next and printed
// in the canonical text form.
//
//	go run . > out.txt    exit status 1 with a message on stderr on failure
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	eddy "github.com/eddy-stream/eddy/bindings/go"
)

const (
	rows  = 10000
	chunk = 1000
	sql   = `CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT, ts BIGINT)
		WITH (event_time = 'ts', watermark_delay = INTERVAL '200' MILLISECOND);
	INSERT INTO Big SELECT symbol, price, volume FROM Trades WHERE price > 140.0;
	INSERT INTO PerSec SELECT symbol, window_start, COUNT(*) AS n, SUM(volume) AS vol,
		MIN(price) AS lo, MAX(price) AS hi, AVG(price) AS avg_price
		FROM Trades WINDOW('tumbling', INTERVAL '1' SECOND) GROUP BY symbol, window_start`
)

// row i of the scenario, from the shared formulas (64-bit integer math).
func row(i int64) (string, float64, int64, int64) {
	symbol := fmt.Sprintf("S%03d", (i*37)%20)
	price := 50.0 + float64((i*7919)%10000)/100.0
	volume := 1 + (i*104729)%1000
	ts := int64(1700000000000) + i*3 + ((i*13)%7)*20 - 60
	return symbol, price, volume, ts
}

// pushChunk sends rows [from, to) as one arrow record.
func pushChunk(in *eddy.Input, from, to int64) error {
	b := array.NewRecordBuilder(memory.NewGoAllocator(), in.Schema())
	defer b.Release()
	for i := from; i < to; i++ {
		symbol, price, volume, ts := row(i)
		b.Field(0).(*array.StringBuilder).Append(symbol)
		b.Field(1).(*array.Float64Builder).Append(price)
		b.Field(2).(*array.Int64Builder).Append(volume)
		b.Field(3).(*array.Int64Builder).Append(ts)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return in.PushRecord(rec)
}

// Field formatters: NULL, integers, strings, and doubles as the 16 hex
// digits of their IEEE 754 bits (exact, the same in every language).
func col(rec arrow.RecordBatch, name string) arrow.Array {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		fail(fmt.Errorf("no column %s in %v", name, rec.Schema()))
	}
	return rec.Column(idx[0])
}

func str(a arrow.Array, r int) string {
	if a.IsNull(r) {
		return "NULL"
	}
	return a.(*array.String).Value(r)
}

func f64(a arrow.Array, r int) string {
	if a.IsNull(r) {
		return "NULL"
	}
	return fmt.Sprintf("%016x", math.Float64bits(a.(*array.Float64).Value(r)))
}

func i64(a arrow.Array, r int) string {
	if a.IsNull(r) {
		return "NULL"
	}
	switch v := a.(type) {
	case *array.Int64:
		return strconv.FormatInt(v.Value(r), 10)
	case *array.Timestamp: // window_start: timestamp[ms], epoch milliseconds
		return strconv.FormatInt(int64(v.Value(r)), 10)
	}
	fail(fmt.Errorf("column of type %v is not an integer", a.DataType()))
	return ""
}

// drain pulls every record (the engine is closed by then) into lines.
func drain(sub *eddy.Subscription, format func(rec arrow.RecordBatch, r int) string, lines []string) ([]string, error) {
	for {
		rec, err := sub.Next(context.Background())
		if errors.Is(err, eddy.ErrEndOfStream) {
			return lines, nil
		}
		if err != nil {
			return lines, err
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			lines = append(lines, format(rec, r))
		}
		rec.Release()
	}
}

func bigLine(rec arrow.RecordBatch, r int) string {
	return strings.Join([]string{"Big", str(col(rec, "symbol"), r), f64(col(rec, "price"), r),
		i64(col(rec, "volume"), r)}, "|")
}

func perSecLine(rec arrow.RecordBatch, r int) string {
	return strings.Join([]string{"PerSec", str(col(rec, "symbol"), r), i64(col(rec, "window_start"), r),
		i64(col(rec, "n"), r), i64(col(rec, "vol"), r), f64(col(rec, "lo"), r), f64(col(rec, "hi"), r),
		f64(col(rec, "avg_price"), r)}, "|")
}

// statsLine reads the counters from the stats JSON itself: the binding's
// QueryStats has no late field.
func statsLine(eng *eddy.Engine) (string, error) {
	doc, err := eng.StatsJSON()
	if err != nil {
		return "", err
	}
	var st struct {
		Streams []struct {
			Name     string `json:"name"`
			EventsIn int64  `json:"events_in"`
			Late     int64  `json:"late"`
		} `json:"streams"`
		Queries []struct {
			Late *int64 `json:"late"`
		} `json:"queries"`
	}
	if err := json.Unmarshal([]byte(doc), &st); err != nil {
		return "", err
	}
	var qlate int64
	for _, q := range st.Queries {
		if q.Late == nil {
			return "", fmt.Errorf("stats: a query without late: %s", doc)
		}
		qlate += *q.Late
	}
	if len(st.Queries) != 2 {
		return "", fmt.Errorf("stats: expected 2 queries: %s", doc)
	}
	for _, s := range st.Streams {
		if s.Name == "Trades" {
			return fmt.Sprintf("Stats|Trades|events_in=%d|late=%d|queries_late=%d", s.EventsIn, s.Late, qlate), nil
		}
	}
	return "", fmt.Errorf("stats without the Trades stream: %s", doc)
}

func run() error {
	eng, err := eddy.Open("overflow=block")
	if err != nil {
		return err
	}
	defer eng.Close()
	if err := eng.Execute(sql); err != nil {
		return err
	}
	big, err := eng.Subscribe("Big")
	if err != nil {
		return err
	}
	defer big.Close()
	perSec, err := eng.Subscribe("PerSec")
	if err != nil {
		return err
	}
	defer perSec.Close()

	in, err := eng.OpenInput("Trades")
	if err != nil {
		return err
	}
	for from := int64(0); from < rows; from += chunk {
		if (from/chunk)%2 == 1 {
			if err := pushChunk(in, from, from+chunk); err != nil {
				return err
			}
			continue
		}
		for i := from; i < from+chunk; i++ {
			symbol, price, volume, ts := row(i)
			if err := in.Append(symbol, price, volume, ts); err != nil {
				return err
			}
		}
	}
	// The stream's only input: the windows still open fire.
	if err := in.Close(); err != nil {
		return err
	}
	if err := eng.Flush(context.Background()); err != nil {
		return err
	}
	stats, err := statsLine(eng)
	if err != nil {
		return err
	}
	if err := eng.Close(); err != nil {
		return err
	}

	lines := []string{stats}
	if lines, err = drain(big, bigLine, lines); err != nil {
		return err
	}
	if lines, err = drain(perSec, perSecLine, lines); err != nil {
		return err
	}
	sort.Strings(lines)
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	_, err = os.Stdout.WriteString(sb.String())
	return err
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "cross go: %v\n", err)
	os.Exit(1)
}

func main() {
	if err := run(); err != nil {
		fail(err)
	}
}
