//! End-to-end tests of the `eddy` binary: fixture files are written into a
//! fresh directory, the binary runs there, and stdout is compared exactly.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow::array::{
    Array, AsArray, Float64Array, Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Float64Type, Schema, TimeUnit, TimestampMillisecondType};
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::{FileWriter, StreamWriter};

/// A directory removed when the test ends.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "eddy-cli-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    fn file(&self, name: &str, text: &str) -> &Dir {
        std::fs::write(self.0.join(name), text).unwrap();
        self
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn eddy(&self, args: &[&str]) -> Output {
        self.eddy_stdin(args, None)
    }

    fn eddy_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_eddy"))
            .args(args)
            .current_dir(&self.0)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the eddy binary runs");
        if let Some(data) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(data).unwrap();
        }
        child.wait_with_output().unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Asserts success and returns stdout.
fn ok(o: Output) -> String {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    stdout(&o)
}

const TRADES_SQL: &str = "\
CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT, ts TIMESTAMP)
  WITH (event_time = 'ts');
INSERT INTO Big
SELECT symbol, price * volume AS notional, ts
FROM Trades
WHERE price > 100.0;
";

const TRADES_CSV: &str = "\
symbol,price,volume,ts
ACME,120.5,10,2024-01-02T03:04:05
XYZ,99.0,5,2024-01-02T03:04:07.250
\"BIG, Inc\",1000,,1704164650000
";

#[test]
fn csv_in_csv_out() {
    let d = Dir::new();
    d.file("q.sql", TRADES_SQL).file("trades.csv", TRADES_CSV);
    // stdout is a pipe: CSV is the default. NULL is an empty field.
    let out = ok(d.eddy(&["run", "q.sql", "--input", "Trades=trades.csv"]));
    assert_eq!(
        out,
        "symbol,notional,ts\n\
         ACME,1205.0,2024-01-02T03:04:05\n\
         \"BIG, Inc\",,2024-01-02T03:04:10\n"
    );
}

#[test]
fn every_text_format() {
    let d = Dir::new();
    d.file("q.sql", TRADES_SQL).file("trades.csv", TRADES_CSV);
    let run = |f: &str| ok(d.eddy(&["run", "q.sql", "-i", "Trades=trades.csv", "--format", f]));
    assert_eq!(
        run("table"),
        "  symbol  | notional |         ts\n\
         ----------+----------+---------------------\n \
         ACME     |   1205.0 | 2024-01-02T03:04:05\n \
         BIG, Inc |     NULL | 2024-01-02T03:04:10\n\
         (2 rows)\n"
    );
    assert_eq!(
        run("jsonl"),
        "{\"symbol\":\"ACME\",\"notional\":1205.0,\"ts\":\"2024-01-02T03:04:05\"}\n\
         {\"symbol\":\"BIG, Inc\",\"notional\":null,\"ts\":\"2024-01-02T03:04:10\"}\n"
    );
    assert_eq!(
        run("csv"),
        "symbol,notional,ts\nACME,1205.0,2024-01-02T03:04:05\n\"BIG, Inc\",,2024-01-02T03:04:10\n"
    );
}

#[test]
fn jsonl_input_with_missing_keys_and_text_numbers() {
    let d = Dir::new();
    d.file(
        "q.sql",
        "CREATE STREAM Ev (id INT, ok BOOL, name STRING, at TIMESTAMP);\n\
         INSERT INTO Out SELECT id, name, at FROM Ev WHERE ok;\n",
    );
    d.file(
        "ev.jsonl",
        "{\"id\": 1, \"ok\": true, \"name\": \"one\", \"at\": \"2024-03-01 10:00:00Z\"}\n\
         \n\
         {\"ID\": \"2\", \"ok\": false}\n\
         {\"id\": 3, \"ok\": \"t\", \"at\": 86400000}\n\
         {\"id\": 4, \"ok\": true, \"name\": 44}\n",
    );
    let out = ok(d.eddy(&["run", "q.sql", "-i", "Ev=ev.jsonl", "-f", "jsonl"]));
    assert_eq!(
        out,
        "{\"id\":1,\"name\":\"one\",\"at\":\"2024-03-01T10:00:00\"}\n\
         {\"id\":3,\"name\":null,\"at\":\"1970-01-02T00:00:00\"}\n\
         {\"id\":4,\"name\":\"44\",\"at\":null}\n"
    );
}

fn write_ipc(path: &Path, file_format: bool) {
    // Types other than the stream's on purpose: INT for DOUBLE and
    // microseconds in UTC for TIMESTAMP are converted.
    let schema = Arc::new(Schema::new(vec![
        Field::new("SYMBOL", DataType::Utf8, true),
        Field::new("price", DataType::Int32, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec![Some("P1"), Some("P2"), None])),
            Arc::new(Int32Array::from(vec![500, 50, 700])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    1_704_164_646_000_000,
                    1_704_164_652_000_000,
                    1_704_164_653_500_000,
                ])
                .with_timezone("UTC"),
            ),
        ],
    )
    .unwrap();
    let f = std::fs::File::create(path).unwrap();
    if file_format {
        let mut w = FileWriter::try_new(f, &schema).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
    } else {
        let mut w = StreamWriter::try_new(f, &schema).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
    }
}

#[test]
fn arrow_ipc_in_and_out() {
    let d = Dir::new();
    d.file("q.sql", TRADES_SQL);
    write_ipc(&d.path("in.arrow"), true);
    write_ipc(&d.path("in.arrows"), false);
    let want = "symbol,notional,ts\nP1,,2024-01-02T03:04:06\n,,2024-01-02T03:04:13.500\n";
    assert_eq!(ok(d.eddy(&["run", "q.sql", "-i", "Trades=in.arrow"])), want);
    assert_eq!(ok(d.eddy(&["run", "q.sql", "-i", "Trades=in.arrows"])), want);
    // An IPC file on stdin (read whole, as stdin cannot seek).
    let bytes = std::fs::read(d.path("in.arrow")).unwrap();
    let o = d.eddy_stdin(
        &["run", "q.sql", "-i", "Trades=-", "--input-format", "arrow"],
        Some(&bytes),
    );
    assert_eq!(ok(o), want);

    // Arrow IPC stream on stdout, read back.
    let o = d.eddy(&["run", "q.sql", "-i", "Trades=in.arrow", "-f", "arrow"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let reader = StreamReader::try_new(std::io::Cursor::new(o.stdout), None).unwrap();
    let schema = reader.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["symbol", "notional", "ts"]);
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let batch = arrow::compute::concat_batches(&schema, &batches).unwrap();
    assert_eq!(batch.num_rows(), 2);
    assert_eq!(batch.column(0).as_string::<i32>().value(0), "P1");
    assert!(batch.column(0).is_null(1));
    let notional: &Float64Array = batch.column(1).as_primitive::<Float64Type>();
    assert_eq!(notional.null_count(), 2, "volume is missing from the file: NULL");
    let ts = batch.column(2).as_primitive::<TimestampMillisecondType>();
    assert_eq!(ts.values().to_vec(), vec![1_704_164_646_000, 1_704_164_653_500]);
}

#[test]
fn inputs_merge_in_event_time_order() {
    let d = Dir::new();
    d.file(
        "q.sql",
        "CREATE STREAM Ticks (src STRING, seq INT, ts TIMESTAMP) WITH (event_time = 'ts');\n\
         INSERT INTO Seen SELECT src, seq, ts FROM Ticks WHERE seq > 0;\n",
    );
    d.file("a.csv", "src,seq,ts\na,1,1000\na,2,3000\na,3,3000\na,4,7000\n");
    d.file(
        "b.jsonl",
        "{\"src\":\"b\",\"seq\":1,\"ts\":2000}\n\
         {\"src\":\"b\",\"seq\":2,\"ts\":3000}\n\
         {\"src\":\"b\",\"seq\":3,\"ts\":\"1970-01-01T00:00:05\"}\n",
    );
    d.file("c.csv", "src,seq,ts\nc,1,\nc,2,3000\n");
    let out = ok(d.eddy(&[
        "run",
        "q.sql",
        "-i",
        "Ticks=a.csv",
        "-i",
        "Ticks=b.jsonl",
        "-i",
        "Ticks=c.csv",
    ]));
    // Ties at 3000 go in --input order (a, then b, then c). The row with a
    // NULL time is fed first and is late to the engine (no event time):
    // dropped and counted, not output.
    assert_eq!(
        out,
        "src,seq,ts\n\
         a,1,1970-01-01T00:00:01\n\
         b,1,1970-01-01T00:00:02\n\
         a,2,1970-01-01T00:00:03\n\
         a,3,1970-01-01T00:00:03\n\
         b,2,1970-01-01T00:00:03\n\
         c,2,1970-01-01T00:00:03\n\
         b,3,1970-01-01T00:00:05\n\
         a,4,1970-01-01T00:00:07\n"
    );
    // Without event_time the files go one after the other.
    d.file(
        "plain.sql",
        "CREATE STREAM Ticks (src STRING, seq INT, ts TIMESTAMP);\n\
         INSERT INTO Seen SELECT src, seq FROM Ticks;\n",
    );
    let out = ok(d.eddy(&["run", "plain.sql", "-i", "Ticks=b.jsonl", "-i", "Ticks=a.csv"]));
    assert_eq!(out, "src,seq\nb,1\nb,2\nb,3\na,1\na,2\na,3\na,4\n");
}

#[test]
fn stdin_input_and_several_outputs() {
    let d = Dir::new();
    d.file(
        "q.sql",
        "CREATE STREAM S (x INT, tag STRING);\n\
         INSERT INTO Small SELECT x FROM S WHERE x < 10;\n\
         INSERT INTO Tagged SELECT tag || '!' AS t FROM S WHERE tag IS NOT NULL;\n",
    );
    let input = b"x,tag\n1,\n20,\"a \"\"q\"\"\"\n5,b\n";
    let o = d.eddy_stdin(
        &["run", "q.sql", "-i", "S=-", "--input-format", "csv"],
        Some(input),
    );
    assert_eq!(
        ok(o),
        "== Small ==\nx\n1\n5\n\n== Tagged ==\nt\n\"a \"\"q\"\"!\"\nb!\n"
    );
    // One output to stdout, one to a file (format from its extension).
    let o = d.eddy_stdin(
        &[
            "run",
            "q.sql",
            "-i",
            "S=-",
            "--input-format",
            "csv",
            "-o",
            "tagged=t.jsonl",
            "-o",
            "Small",
        ],
        Some(input),
    );
    assert_eq!(ok(o), "x\n1\n5\n");
    assert_eq!(
        std::fs::read_to_string(d.path("t.jsonl")).unwrap(),
        "{\"t\":\"a \\\"q\\\"!\"}\n{\"t\":\"b!\"}\n"
    );
}

#[test]
fn bad_sql_is_status_1_with_its_position() {
    let d = Dir::new();
    d.file(
        "bad.sql",
        "CREATE STREAM T (a INT);\nINSERT INTO O SELECT b FROM T;\n",
    );
    for cmd in ["run", "check"] {
        let o = d.eddy(&[cmd, "bad.sql"]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        assert_eq!(stdout(&o), "", "{cmd}");
        assert_eq!(
            stderr(&o),
            "eddy: bad.sql: line 2:22: unknown column 'b' in stream 'T' (columns: a)\n",
            "{cmd}"
        );
    }
    d.file(
        "opt.sql",
        "CREATE STREAM T (a INT, s STRING) WITH (event_time = 's');\n",
    );
    let o = d.eddy(&["check", "opt.sql"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(
            "line 1:41: event_time column 's' must be BIGINT (milliseconds) or TIMESTAMP, not STRING"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_values_name_file_line_and_column() {
    let d = Dir::new();
    d.file("q.sql", TRADES_SQL);
    d.file(
        "bad.csv",
        "symbol,price,volume,ts\nA,101,2,2024-01-01\nB,abc,2,2024-01-01\n",
    );
    let o = d.eddy(&["run", "q.sql", "-i", "Trades=bad.csv"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "eddy: bad.csv:3: column 'price': 'abc' is not a DOUBLE\n"
    );
    // Rows before the bad one were fed.
    assert_eq!(stdout(&o), "symbol,notional,ts\nA,202.0,2024-01-01T00:00:00\n");

    let cases = [
        (
            "t.csv",
            "symbol,ts\nA,tomorrow\n",
            "t.csv:2: column 'ts': 'tomorrow' is not a TIMESTAMP",
        ),
        (
            "v.csv",
            "symbol,volume\nA,1.5\n",
            "v.csv:2: column 'volume': '1.5' is not a BIGINT",
        ),
        (
            "n.csv",
            "symbol,price\nA,1,2\n",
            "n.csv:2: row has 3 fields, the header has 2",
        ),
        (
            "h.csv",
            "symbol,prise\nA,1\n",
            "h.csv:1: column 'prise' is not in stream Trades",
        ),
        (
            "j.jsonl",
            "{\"price\": 1}\n{\"price\": [1]}\n",
            "j.jsonl:2: column 'price': expected DOUBLE, got an array",
        ),
        (
            "k.jsonl",
            "{\"price\": 1}\n{\"price\": \n",
            "j.jsonl:2: invalid JSON",
        ),
    ];
    for (file, text, want) in cases {
        d.file(file, text);
        let o = d.eddy(&["run", "q.sql", "-i", &format!("Trades={file}")]);
        assert_eq!(o.status.code(), Some(1), "{file}");
        let err = stderr(&o);
        assert!(
            err.starts_with(&format!("eddy: {}", want.replace("j.jsonl", file))),
            "{file}: {err}"
        );
    }
}

#[test]
fn usage_errors_are_status_2() {
    let d = Dir::new();
    d.file("q.sql", TRADES_SQL).file("x.txt", "");
    let cases: [(&[&str], &str); 6] = [
        (
            &["run", "q.sql", "-i", "Nope=x.csv"],
            "--input Nope: no such stream (streams: Trades, Big)",
        ),
        (
            &["run", "q.sql", "-i", "Trades"],
            "--input Trades: expected STREAM=PATH",
        ),
        (
            &["run", "q.sql", "-i", "Trades=x.txt"],
            "cannot tell the format of x.txt",
        ),
        (&["run", "q.sql", "-o", "Nope"], "--output Nope: no such stream"),
        (
            &["run", "q.sql", "-o", "Big", "-o", "Trades", "-f", "arrow"],
            "Arrow IPC carries one schema",
        ),
        (
            &["run", "-", "-i", "Trades=-"],
            "only one of the queries and the inputs",
        ),
    ];
    for (args, want) in cases {
        let o = d.eddy(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with(&format!("eddy: {want}")),
            "{args:?}: {}",
            stderr(&o)
        );
        assert_eq!(stdout(&o), "");
    }
    // Argument syntax errors come from the parser, also status 2.
    assert_eq!(d.eddy(&["run"]).status.code(), Some(2));
    assert_eq!(d.eddy(&["frobnicate"]).status.code(), Some(2));
    // A missing input file is a data error.
    assert_eq!(
        d.eddy(&["run", "q.sql", "-i", "Trades=missing.csv"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn check_prints_each_plan() {
    let d = Dir::new();
    d.file(
        "q.sql",
        "CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT, ts TIMESTAMP)\n\
         \x20 WITH (event_time = 'ts', queue_capacity = 1024);\n\
         INSERT INTO Big\n\
         SELECT symbol, price * volume AS notional, ts\n\
         FROM Trades\n\
         WHERE price > 100 AND symbol NOT IN ('X', 'Y');\n\
         INSERT INTO Big SELECT symbol, CAST(NULL AS DOUBLE), ts FROM Trades WHERE symbol LIKE 'A%';\n",
    );
    let out = ok(d.eddy(&["check", "q.sql"]));
    assert_eq!(
        out,
        "CREATE STREAM Trades\n\
         \x20 columns: symbol STRING, price DOUBLE, volume BIGINT, ts TIMESTAMP\n\
         \x20 options: event_time = 'ts', queue_capacity = 1024\n\
         \n\
         QUERY INSERT INTO Big SELECT symbol, price * volume AS notional, ts FROM Trades WHERE price > 100 AND symbol NOT IN ('X', 'Y')\n\
         \x20 input:   Trades\n\
         \x20 output:  Big (created)\n\
         \x20 schema:  symbol STRING, notional DOUBLE, ts TIMESTAMP\n\
         \x20 filter:  (price > 100.0) AND (symbol NOT IN ('X', 'Y'))\n\
         \x20 project:\n\
         \x20   symbol   <- symbol\n\
         \x20   notional <- price * CAST(volume AS DOUBLE)\n\
         \x20   ts       <- ts\n\
         \n\
         QUERY INSERT INTO Big SELECT symbol, CAST(NULL AS DOUBLE), ts FROM Trades WHERE symbol LIKE 'A%'\n\
         \x20 input:   Trades\n\
         \x20 output:  Big\n\
         \x20 schema:  symbol STRING, notional DOUBLE, ts TIMESTAMP\n\
         \x20 filter:  symbol LIKE 'A%'\n\
         \x20 project:\n\
         \x20   symbol   <- symbol\n\
         \x20   notional <- NULL\n\
         \x20   ts       <- ts\n"
    );
}

#[test]
fn shell_reads_a_script_from_stdin() {
    let d = Dir::new();
    d.file("more.csv", "symbol,price\nLOAD,150\nlow,1\n");
    let script = "\
CREATE STREAM Trades (symbol STRING, price DOUBLE);
INSERT INTO Big
  SELECT symbol, price * 2 AS doubled FROM Trades -- a comment; not the end
  WHERE price > 100;
.subscribe Big
.insert Trades 'ACME', 120.5
.insert Trades 'it''s', 5
.streams
.schema big
.format csv
.load Trades more.csv
.insert Trades NULL, 300
EXPLAIN INSERT INTO Other SELECT UPPER(symbol) AS s FROM Trades WHERE price IS NOT NULL;
.quit
";
    let out = ok(d.eddy_stdin(&["shell"], Some(script.as_bytes())));
    assert_eq!(
        out,
        "== Big ==\n \
         symbol | doubled\n\
         --------+---------\n \
         ACME   |   241.0\n\
         (1 row)\n\
         Trades (symbol STRING, price DOUBLE)\n\
         Big (symbol STRING, doubled DOUBLE)\n\
         Big\n\
         \x20 symbol   STRING\n\
         \x20 doubled  DOUBLE\n\
         == Big ==\n\
         symbol,doubled\n\
         LOAD,300.0\n\
         == Big ==\n\
         symbol,doubled\n\
         ,600.0\n\
         QUERY INSERT INTO Other SELECT UPPER(symbol) AS s FROM Trades WHERE price IS NOT NULL\n\
         \x20 input:   Trades\n\
         \x20 output:  Other (created)\n\
         \x20 schema:  s STRING\n\
         \x20 filter:  price IS NOT NULL\n\
         \x20 project:\n\
         \x20   s <- UPPER(symbol)\n"
    );

    // Errors go to stderr with the input line, the script goes on, and the
    // exit status says something failed.
    let script = "\
CREATE STREAM T (a INT);
.insert T 'x'
SELECT 1;
.subscribe T
.insert T 7
.nope
";
    let o = d.eddy_stdin(&["shell", "-f", "jsonl"], Some(script.as_bytes()));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "== T ==\n{\"a\":7}\n");
    assert_eq!(
        stderr(&o),
        "error (input line 2): column 'a': 'x' is not an INT\n\
         error (input line 3): line 1:1: expected CREATE STREAM or INSERT INTO, found 'SELECT'\n\
         error (input line 6): unknown command .nope (.help lists them)\n"
    );
}

#[test]
fn stats_and_progress_stay_off_stdout() {
    let d = Dir::new();
    d.file("q.sql", TRADES_SQL).file("trades.csv", TRADES_CSV);
    let o = d.eddy(&["run", "q.sql", "-i", "Trades=trades.csv", "--stats", "--progress"]);
    let out = ok(o.clone());
    assert_eq!(out, ok(d.eddy(&["run", "q.sql", "-i", "Trades=trades.csv"])));
    let err = stderr(&o);
    assert!(err.contains("input   Trades <- trades.csv: 3 rows\n"), "{err}");
    assert!(err.contains("output  Big -> stdout: 2 rows\n"), "{err}");
    assert!(
        err.contains("query 0: Trades -> Big: 3 rows in, 2 rows out, 0 errors\n"),
        "{err}"
    );
}

#[test]
fn run_fires_event_time_windows_at_the_end_of_the_input() {
    let d = Dir::new();
    d.file(
        "w.sql",
        "CREATE STREAM Trades (symbol STRING, price DOUBLE, ts BIGINT)\n\
           WITH (event_time = 'ts', watermark_delay = 1000);\n\
         INSERT INTO PerSecond SELECT symbol, window_start, COUNT(*) AS n, MAX(price) AS hi\n\
           FROM Trades WINDOW('tumbling', INTERVAL '1' SECOND) GROUP BY symbol, window_start;\n",
    );
    d.file(
        "t.csv",
        "symbol,price,ts\nA,1.5,100\nB,2.0,200\nA,3.0,900\nA,4.0,1500\nB,1.0,2100\n",
    );
    let out = ok(d.eddy(&["run", "w.sql", "-i", "Trades=t.csv", "-f", "csv"]));
    assert_eq!(
        out,
        "symbol,window_start,n,hi\n\
         A,1970-01-01T00:00:00,2,3.0\n\
         B,1970-01-01T00:00:00,1,2.0\n\
         A,1970-01-01T00:00:01,1,4.0\n\
         B,1970-01-01T00:00:02,1,1.0\n"
    );
}
