//! Edit distance, for "did you mean" hints.

/// Returns the Levenshtein distance between `a` and `b` (in characters).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Returns the candidate closest to `word`, if one is close enough to be a typo: one edit for
/// words of up to four characters, two for longer ones.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if candidates.contains(&word) {
        return None;
    }
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        for (a, b, d) in [
            ("", "", 0),
            ("githb", "github", 1),
            ("gti", "git", 2),
            ("kitten", "sitting", 3),
            ("flake", "flake", 0),
        ] {
            assert_eq!(levenshtein(a, b), d, "{a} {b}");
        }
    }

    #[test]
    fn closest_candidates() {
        let c = ["github", "gitlab", "git+https", "path"];
        assert_eq!(closest("githb", &c), Some("github"));
        assert_eq!(closest("gitlba", &c), Some("gitlab"));
        assert_eq!(closest("git+htps", &c), Some("git+https"));
        assert_eq!(closest("foo", &c), None);
        assert_eq!(closest("x", &c), None);
        assert_eq!(closest("ptah", &c), None, "two edits in a short word");
        assert_eq!(closest("github", &c), None, "an exact match is no typo");
    }
}
