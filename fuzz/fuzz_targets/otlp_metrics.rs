#![no_main]
//! `wire::fuzz::otlp_metrics` under libFuzzer (the same body runs as a property test in CI).

libfuzzer_sys::fuzz_target!(|data: &[u8]| wire::fuzz::otlp_metrics(data));
