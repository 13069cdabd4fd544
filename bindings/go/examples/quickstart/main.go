// Command quickstart embeds eddy in a Go program: it declares a stream and a
// filter query, pushes readings row by row and as an Arrow record, and reads
// the alerts both ways: pulled with Next and pushed to a callback by Poll.
//
// Run it from bindings/go (see README.md for the cgo flags):
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	eddy "github.com/eddy-stream/eddy/bindings/go"
)

func main() {
	if err := run(); err != nil {
		log.SetFlags(0)
		log.Fatalf("quickstart: %v", err)
	}
}

func run() error {
	fmt.Println("eddy", eddy.Version())
	eng, err := eddy.Open("overflow=block;push_timeout_ms=1000")
	if err != nil {
		return err
	}
	defer eng.Close()

	err = eng.Execute(`
		CREATE STREAM Readings (sensor STRING, celsius DOUBLE, seq INT, at TIMESTAMP);
		INSERT INTO Alerts SELECT sensor, celsius, seq FROM Readings WHERE celsius > 30.0`)
	if err != nil {
		return err
	}
	// A SQL mistake comes back as an error with its position.
	err = eng.Execute("INSERT INTO X SELECT humidity FROM Readings")
	if !errors.Is(err, eddy.ErrSQL) {
		return fmt.Errorf("want a SQL error, got %v", err)
	}
	fmt.Println("as expected:", err)

	pulled, err := eng.Subscribe("Alerts")
	if err != nil {
		return err
	}
	defer pulled.Close()
	pushed, err := eng.Subscribe("Alerts")
	if err != nil {
		return err
	}
	defer pushed.Close()
	callbackRows := 0
	err = pushed.SetCallback(func(rec arrow.RecordBatch) {
		callbackRows += int(rec.NumRows())
	})
	if err != nil {
		return err
	}

	in, err := eng.OpenInput("Readings")
	if err != nil {
		return err
	}
	defer in.Close()

	// Row by row: one call per row, values in column order.
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	readings := []struct {
		sensor  string
		celsius float64
	}{{"kitchen", 21.5}, {"attic", 31.0}, {"cellar", 12.25}, {"attic", 33.5}}
	for i, r := range readings {
		if err := in.Append(r.sensor, r.celsius, i, start.Add(time.Duration(i)*time.Minute)); err != nil {
			return err
		}
	}
	// As a batch: an Arrow record built with arrow-go, handed over without a copy.
	rec := readingsRecord(in.Schema(), []string{"server-room", "kitchen"}, []float64{41.75, 22.0}, []int32{4, 5})
	err = in.PushRecord(rec)
	rec.Release()
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := eng.Flush(ctx); err != nil {
		return err
	}

	alerts := 0
	for {
		rec, err := pulled.TryNext()
		if err != nil {
			return err
		}
		if rec == nil {
			break
		}
		sensor := rec.Column(0).(*array.String)
		celsius := rec.Column(1).(*array.Float64)
		seq := rec.Column(2).(*array.Int32)
		for i := 0; i < int(rec.NumRows()); i++ {
			fmt.Printf("  alert #%d: %s reads %.2f C\n", seq.Value(i), sensor.Value(i), celsius.Value(i))
			alerts++
		}
		rec.Release()
	}
	for callbackRows < alerts {
		if _, err := eng.Poll(ctx); err != nil {
			return err
		}
	}
	fmt.Printf("pulled %d alerts; the callback saw %d\n", alerts, callbackRows)

	if err := eng.Close(); err != nil {
		return err
	}
	stats, err := eng.Stats()
	if err != nil {
		return err
	}
	for _, s := range stats.Streams {
		fmt.Printf("  %-8s events_in=%d dropped=%d\n", s.Name, s.EventsIn, s.Dropped)
	}
	if alerts != 3 || callbackRows != 3 {
		return fmt.Errorf("want 3 alerts each way, got %d pulled and %d pushed", alerts, callbackRows)
	}
	fmt.Println("ok")
	return nil
}

// readingsRecord builds a record of the Readings stream. The stream's own
// schema (Input.Schema) gives the exact Arrow types eddy expects; a batch
// must carry every column, so the timestamps are NULL here.
func readingsRecord(schema *arrow.Schema, sensors []string, celsius []float64, seq []int32) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues(sensors, nil)
	b.Field(1).(*array.Float64Builder).AppendValues(celsius, nil)
	b.Field(2).(*array.Int32Builder).AppendValues(seq, nil)
	b.Field(3).AppendNulls(len(sensors))
	return b.NewRecordBatch()
}
