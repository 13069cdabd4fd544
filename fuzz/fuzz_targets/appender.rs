#![no_main]
//! See fuzz/README.md and eddy_fuzz::appender.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| eddy_fuzz::appender::run(data));
