#![no_main]
//! Carbon pickle: length-prefixed framing then the restricted pickle machine.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((frame, used))) = wire::framing::next_length_prefixed(rest, wire::pickle::MAX_FRAME_BYTES) {
        let _ = wire::pickle::decode_frame(frame);
        rest = &rest[used..];
    }
    let _ = wire::pickle::decode_frame(data);
});
