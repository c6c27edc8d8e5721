//! Python's number formatting, because graphite-web's series names and tags are made with it.
//!
//! `scale(a,%g)` names, `str(value)` tags and `repr` in the raw format all show through to
//! users and to Grafana legends, so they have to come out character for character.

/// `repr(float)` (and `str(float)`): the shortest round-trip digits, `.0` on integral values,
/// and exponent notation below 1e-4 or from 1e16 up (`1e+16`, `1.5e-05`).
pub fn repr_f64(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // The shortest digits that read back as `x`, and of two such the nearer, ties to even, as
    // Python's repr chooses them (Rust's own formatting rounds ties up); then Python's layout.
    let mut buffer = zmij::Buffer::new();
    let (digits, exp) = shortest_digits(buffer.format_finite(x.abs()));
    let sign = if x < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        if exp < 0 {
            let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
            format!("{sign}0.{zeros}{digits}")
        } else {
            let whole = usize::try_from(exp + 1).unwrap_or(0);
            if digits.len() > whole {
                format!("{sign}{}.{}", &digits[..whole], &digits[whole..])
            } else {
                format!("{sign}{digits}{}.0", "0".repeat(whole - digits.len()))
            }
        }
    } else {
        let rest = if digits.len() > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        format!(
            "{sign}{}{rest}e{}{:02}",
            &digits[..1],
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    }
}

/// The significant digits of a positive number written in plain or `e` notation, without
/// leading or trailing zeros, and the power of ten of the first one.
fn shortest_digits(text: &str) -> (String, i32) {
    let (mantissa, exp) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.trim_start_matches('+').parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = format!("{whole}{frac}");
    let leading = all.bytes().take_while(|&b| b == b'0').count();
    let digits = all[leading..].trim_end_matches('0');
    let first = i32::try_from(whole.len()).unwrap_or(0) - 1 - i32::try_from(leading).unwrap_or(0);
    let digits = if digits.is_empty() { "0" } else { digits };
    (digits.to_owned(), exp + first)
}

/// [`repr_f64`] appended to `out`, without allocating for the common magnitudes: the raw
/// render format writes one per value.
pub fn push_repr_f64(out: &mut String, x: f64, buffer: &mut zmij::Buffer) {
    if x.is_finite() && (1e-4..1e16).contains(&x.abs()) {
        let text = buffer.format_finite(x);
        if !text.contains(['e', 'E']) {
            out.push_str(text);
            if !text.contains('.') {
                out.push_str(".0");
            }
            return;
        }
    }
    out.push_str(&repr_f64(x));
}

/// `'%g' % x` with Python's default precision of 6.
pub fn format_g(x: f64) -> String {
    format_g_prec(x, 6)
}

/// `'%.<prec>g' % x`.
pub fn format_g_prec(x: f64, prec: usize) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let prec = prec.max(1);
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{:.*e}", prec - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp >= -4 && exp < prec as i32 {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{x:.decimals$}"))
    } else {
        format!(
            "{}e{}{:02}",
            strip_zeros(mantissa),
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    }
}

fn strip_zeros(text: &str) -> String {
    if !text.contains('.') {
        return text.to_owned();
    }
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Python's `round(x, digits)`: correctly rounded, ties to even.
pub fn py_round(x: f64, digits: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    if digits > 340 {
        // Past the last digit any f64 has: the value itself, as Python answers.
        return x;
    }
    if digits < -308 {
        // Coarser than any finite f64: zero, keeping the sign.
        return 0.0f64.copysign(x);
    }
    if digits >= 0 {
        let d = digits as usize;
        format!("{x:.d$}").parse().unwrap_or(x)
    } else {
        let scale = 10f64.powi(-digits);
        (x / scale).round_ties_even() * scale
    }
}

/// `'%d' % x` for a float: truncates toward zero.
pub fn format_d(x: f64) -> String {
    if x.is_finite() {
        format!("{}", x.trunc() as i64)
    } else {
        repr_f64(x)
    }
}

/// `'%.2f' % x`.
pub fn format_2f(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:.2}")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    #[test]
    fn repr_is_pythons() {
        // Each as Python 3 prints it, ties included: ...206.25 is "...206.2", half to even.
        let cases = [
            (
                f64::from_bits(4_832_866_720_407_064_537),
                "1251979966473206.2",
            ),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-0.000012345, "-1.2345e-05"),
            (1e15, "1000000000000000.0"),
            (-2.5, "-2.5"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (123.456, "123.456"),
        ];
        for (x, want) in cases {
            assert_eq!(repr_f64(x), want, "{x:e}");
        }
    }

    proptest! {
        #[test]
        fn push_repr_is_repr(bits in any::<u64>(), small in -1e7f64..1e7, int in -1_000_000i64..1_000_000) {
            let mut buffer = zmij::Buffer::new();
            for x in [f64::from_bits(bits), small, int as f64, int as f64 / 100.0] {
                let mut out = String::new();
                push_repr_f64(&mut out, x, &mut buffer);
                prop_assert_eq!(out, repr_f64(x));
            }
        }
    }

    use super::*;

    #[test]
    fn repr_matches_python() {
        for (x, want) in [
            (2.5, "2.5"),
            (1.0, "1.0"),
            (-10.0, "-10.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (123456789012345.0, "123456789012345.0"),
            (1.0 / 3.0, "0.3333333333333333"),
        ] {
            assert_eq!(repr_f64(x), want, "{x}");
        }
    }

    #[test]
    fn g_matches_python() {
        for (x, want) in [
            (2.5, "2.5"),
            (2.0, "2"),
            (-10.0, "-10"),
            (100.0, "100"),
            (1234567.0, "1.23457e+06"),
            (0.00001, "1e-05"),
            (0.5, "0.5"),
            (123456.0, "123456"),
            (0.1 + 0.2, "0.3"),
        ] {
            assert_eq!(format_g(x), want, "{x}");
        }
    }

    #[test]
    fn round_is_python_round() {
        assert_eq!(py_round(2.675, 2), 2.67);
        assert_eq!(py_round(0.5, 0), 0.0);
        assert_eq!(py_round(1.5, 0), 2.0);
        assert_eq!(py_round(1234.0, -2), 1200.0);
        assert_eq!(py_round(1.23456789, 6), 1.234568);
        // Digits far past an f64's, either way, as Python answers (found by no_panic.rs).
        assert_eq!(py_round(1.23456789, 100_000), 1.23456789);
        assert_eq!(py_round(-5.0, -400).to_bits(), (-0.0f64).to_bits());
        assert_eq!(py_round(5.0, i32::MIN), 0.0);
    }
}
