#![no_main]
//! See fuzz/README.md and eddy_fuzz::sql_text.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| eddy_fuzz::sql_text::run(data));
