#![no_main]
//! Carbon plaintext: framing then decoding, on arbitrary bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let lines = wire::framing::Lines::new(data, 32 * 1024);
    for line in lines.flatten() {
        let _ = wire::carbon::decode_line(line);
    }
});
