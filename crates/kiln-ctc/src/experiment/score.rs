//! Error rates: Levenshtein distance over characters and over words.

/// Edit distance (insertions, deletions, substitutions all cost 1).
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(x != y);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Accumulates character and word errors over a test set.
#[derive(Debug, Default, Clone, Copy)]
pub struct ErrorRate {
    char_errors: usize,
    chars: usize,
    word_errors: usize,
    words: usize,
}

impl ErrorRate {
    /// Adds one (hypothesis, reference) pair of transcripts.
    pub fn add(&mut self, hyp: &str, reference: &str) {
        let h: Vec<char> = hyp.chars().collect();
        let r: Vec<char> = reference.chars().collect();
        self.char_errors += edit_distance(&h, &r);
        self.chars += r.len();
        let hw: Vec<&str> = hyp.split_whitespace().collect();
        let rw: Vec<&str> = reference.split_whitespace().collect();
        self.word_errors += edit_distance(&hw, &rw);
        self.words += rw.len();
    }

    /// Character error rate (errors per reference character).
    pub fn cer(&self) -> f64 {
        self.char_errors as f64 / self.chars.max(1) as f64
    }

    /// Word error rate (errors per reference word).
    pub fn wer(&self) -> f64 {
        self.word_errors as f64 / self.words.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        assert_eq!(edit_distance(b"kitten", b"sitting"), 3);
        assert_eq!(edit_distance::<u8>(b"", b"abc"), 3);
        assert_eq!(edit_distance(b"abc", b"abc"), 0);
        let mut e = ErrorRate::default();
        e.add("12 34", "12 35");
        e.add("", "7");
        assert!((e.cer() - 2.0 / 6.0).abs() < 1e-12);
        assert!((e.wer() - 2.0 / 3.0).abs() < 1e-12);
    }
}
