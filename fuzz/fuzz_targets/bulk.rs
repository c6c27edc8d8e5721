#![no_main]
//! `wire::fuzz::bulk` under libFuzzer (the same body runs as a property test in CI).

libfuzzer_sys::fuzz_target!(|data: &[u8]| wire::fuzz::bulk(data));
