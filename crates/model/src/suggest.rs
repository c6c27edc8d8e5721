//! "Did you mean": the known name closest to a misspelt one, for error messages.
//!
//! Every surface that refuses an unknown name (a query parameter, a field to group by, a
//! function) names the closest known one, so a typo costs one look instead of a search. The
//! distance is Damerau–Levenshtein over characters (a swap of two neighbours is one edit), and
//! a suggestion is made only when it is close enough to be the likely intent.

/// The candidate closest to `word`, if one is within a third of the longer name's length (at
/// least one edit), preferring the earlier candidate on a tie. Case is ignored.
pub fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let word_lower = word.to_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let d = distance(&word_lower, &candidate.to_lowercase());
        let longer = word.chars().count().max(candidate.chars().count());
        let allowed = (longer / 3).max(1);
        if d > allowed || d == 0 && word == candidate {
            continue;
        }
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// " (did you mean `x`?)" when a close candidate exists, else "".
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    closest(word, candidates).map_or(String::new(), |c| format!("; did you mean `{c}`?"))
}

/// The optimal-string-alignment distance between `a` and `b`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_name() {
        let params = ["q", "from", "until", "limit", "sort", "cursor", "match"];
        assert_eq!(closest("qq", params), Some("q"));
        assert_eq!(closest("form", params), Some("from"));
        assert_eq!(closest("limt", params), Some("limit"));
        assert_eq!(closest("mach", params), Some("match"));
        assert_eq!(closest("currncy", ["currency", "amount"]), Some("currency"));
        assert_eq!(closest("Currency", ["currency"]), Some("currency"));
        assert_eq!(closest("zebra", params), None);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(
            did_you_mean("limt", params),
            "; did you mean `limit`?".to_owned()
        );
        assert_eq!(did_you_mean("zebra", params), "");
    }
}
