//! Limits eddy enforces on what a host hands it, so that hostile or buggy
//! input is a clear error rather than a crash (stack overflow, allocation
//! failure) or an unbounded stall. docs/reliability.md lists them; the
//! bad-input tests (tests/bad_input.rs, tests/c/test_bad_input.c) probe each
//! one at the limit and just past it.

/// Longest SQL text one `eddy_engine_execute` takes, in bytes. Bounds the
/// tokens held at once and, with `MAX_EXPR_DEPTH`, the parser's work.
pub const MAX_SQL_BYTES: usize = 1 << 20;

/// Deepest expression tree accepted (each operator, function call or
/// parenthesis is a level). sqlparser bounds prefix nesting (parentheses,
/// NOT, unary minus) at 50 on its own, but builds left-deep chains such as
/// `a + 1 + 1 + ...` without limit; analysing, evaluating or even dropping
/// such a tree recurses once per level. 128 levels stay well inside a 1 MiB
/// thread stack (a JVM thread's default) in a debug build.
pub const MAX_EXPR_DEPTH: usize = 128;

/// Most columns a stream (declared or created by a query) may have.
pub const MAX_COLUMNS: usize = 16_384;

/// Default of the `max_string_bytes` engine option: the longest STRING value
/// accepted from a host (row appender or Arrow batch).
pub const DEFAULT_MAX_STRING_BYTES: usize = 16 << 20;

/// Largest value `max_string_bytes` may be set to (Arrow `utf8` offsets are
/// 32-bit, so one value must stay far below 2 GiB).
pub const MAX_STRING_BYTES_LIMIT: usize = 1 << 30;

/// Bytes an input queue's fixed-size ring (8 bytes per column per slot) may
/// take. A wide stream gets fewer slots than `queue_capacity` asks for
/// rather than a multi-gigabyte allocation (10,000 columns at the default
/// 65,536 slots would be 5 GiB per input).
pub const MAX_RING_BYTES: usize = 64 << 20;
