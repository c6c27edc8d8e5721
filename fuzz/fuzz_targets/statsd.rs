#![no_main]
//! statsd: a datagram split into lines, each decoded.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for line in data.split(|b| *b == b'\n') {
        wire::statsd::decode_line(line, &mut |_| {});
    }
});
