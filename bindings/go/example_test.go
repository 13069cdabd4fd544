package eddy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	eddy "github.com/eddy-stream/eddy/bindings/go"
)

func Example() {
	eng, err := eddy.Open("")
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	err = eng.Execute(`CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT);
		INSERT INTO Big SELECT symbol, price * volume AS notional FROM Trades WHERE price > 100.0`)
	if err != nil {
		panic(err)
	}
	sub, _ := eng.Subscribe("Big")
	defer sub.Close()
	in, _ := eng.OpenInput("Trades")
	defer in.Close()

	_ = in.Append("ACME", 123.5, 10)
	_ = in.Append("TINY", 1.25, 1000)
	_ = in.Append("NULLVOL", 200.0, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = eng.Flush(ctx)
	for {
		rec, err := sub.TryNext()
		if err != nil || rec == nil {
			break
		}
		symbol := rec.Column(0).(*array.String)
		notional := rec.Column(1).(*array.Float64)
		for i := 0; i < int(rec.NumRows()); i++ {
			if notional.IsNull(i) {
				fmt.Println(symbol.Value(i), "NULL")
			} else {
				fmt.Println(symbol.Value(i), notional.Value(i))
			}
		}
		rec.Release()
	}
	// Output:
	// ACME 1235
	// NULLVOL NULL
}

func ExampleSubscription_SetCallback() {
	eng, _ := eddy.Open("")
	defer eng.Close()
	_ = eng.Execute("CREATE STREAM S (n INT)")
	sub, _ := eng.Subscribe("S")
	defer sub.Close()
	var seen []int32
	_ = sub.SetCallback(func(rec arrow.RecordBatch) {
		seen = append(seen, rec.Column(0).(*array.Int32).Int32Values()...)
	})
	in, _ := eng.OpenInput("S")
	defer in.Close()
	for n := range 3 {
		_ = in.Append(n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for len(seen) < 3 {
		// The callback runs here, on this goroutine.
		if _, err := eng.Poll(ctx); err != nil {
			panic(err)
		}
	}
	fmt.Println(seen)
	// Output:
	// [0 1 2]
}
