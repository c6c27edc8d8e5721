#![no_main]
//! `wire::fuzz::graphite_name` under libFuzzer (the same body runs as a property test in CI).

libfuzzer_sys::fuzz_target!(|data: &[u8]| wire::fuzz::graphite_name(data));
