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
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let fixed = format!("{x}");
        if fixed.contains('.') {
            fixed
        } else {
            format!("{fixed}.0")
        }
    } else {
        format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    }
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
    }
}
