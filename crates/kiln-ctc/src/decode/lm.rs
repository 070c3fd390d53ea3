//! Word-level n-gram language models read from ARPA files, with Katz back-off.
//!
//! ARPA stores base-10 log-probabilities; [`NgramLm::log_prob`] returns natural logarithms so
//! they add to acoustic log-probabilities directly.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use kiln_core::KilnError;

use crate::errors::{CtcError, Result};

const LN_10: f64 = std::f64::consts::LN_10;

/// A word-level n-gram model.
#[derive(Debug, Clone)]
pub struct NgramLm {
    order: usize,
    vocab: HashMap<String, u32>,
    /// n-gram (word ids) -> (log10 prob, log10 back-off).
    grams: HashMap<Vec<u32>, (f64, f64)>,
    prefixes: HashSet<String>,
    bos: Option<u32>,
    eos: Option<u32>,
    unk: Option<u32>,
}

fn err(line: usize, message: impl Into<String>) -> CtcError {
    CtcError::Arpa {
        line,
        message: message.into(),
    }
}

impl NgramLm {
    /// Reads an ARPA file; a malformed file is a [`KilnError::Parse`] naming the file and line.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| KilnError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_bytes(&bytes).map_err(|e| match e {
            CtcError::Arpa { line, message } => KilnError::Parse {
                path: path.to_path_buf(),
                location: Some(format!("line {line}")),
                message,
            }
            .into(),
            other => other,
        })
    }

    /// Parses ARPA bytes (must be UTF-8).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::parse(text),
            Err(e) => {
                let line = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                Err(err(line, "not valid UTF-8"))
            }
        }
    }

    /// Parses ARPA text.
    pub fn parse(text: &str) -> Result<Self> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
        // Anything before `\data\` is a free-form preamble.
        let mut last_line = 0;
        loop {
            match lines.next() {
                Some((_, "\\data\\")) => break,
                Some((n, _)) => last_line = n,
                None => return Err(err(last_line.max(1), "no \\data\\ section")),
            }
        }
        let mut counts: Vec<usize> = Vec::new();
        let mut pending = None;
        for (n, line) in lines.by_ref() {
            last_line = n;
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("ngram ") {
                let (k, v) = rest
                    .split_once('=')
                    .ok_or_else(|| err(n, "expected `ngram K=COUNT`"))?;
                let k: usize = k.trim().parse().map_err(|_| err(n, "bad n-gram order"))?;
                let v: usize = v.trim().parse().map_err(|_| err(n, "bad n-gram count"))?;
                if k != counts.len() + 1 {
                    return Err(err(n, format!("expected `ngram {}=`", counts.len() + 1)));
                }
                counts.push(v);
            } else {
                pending = Some((n, line));
                break;
            }
        }
        if counts.is_empty() {
            return Err(err(last_line.max(1), "no `ngram K=COUNT` lines"));
        }
        if counts.len() > 16 {
            return Err(err(last_line, "n-gram order above 16"));
        }
        let mut lm = NgramLm {
            order: counts.len(),
            vocab: HashMap::new(),
            grams: HashMap::new(),
            prefixes: HashSet::new(),
            bos: None,
            eos: None,
            unk: None,
        };
        let mut section = 0usize;
        let mut seen = 0usize;
        let mut ended = false;
        let mut process = |n: usize, line: &str, lm: &mut NgramLm| -> Result<bool> {
            if line.is_empty() {
                return Ok(false);
            }
            if line == "\\end\\" {
                if section > 0 && seen != counts[section - 1] {
                    return Err(err(
                        n,
                        format!(
                            "{section}-grams: header says {}, found {seen}",
                            counts[section - 1]
                        ),
                    ));
                }
                if section != counts.len() {
                    return Err(err(
                        n,
                        format!("\\end\\ before the {}-grams section", section + 1),
                    ));
                }
                return Ok(true);
            }
            if let Some(k) = line
                .strip_prefix('\\')
                .and_then(|r| r.strip_suffix("-grams:"))
            {
                let k: usize = k.parse().map_err(|_| err(n, "bad section header"))?;
                if section > 0 && seen != counts[section - 1] {
                    return Err(err(
                        n,
                        format!(
                            "{section}-grams: header says {}, found {seen}",
                            counts[section - 1]
                        ),
                    ));
                }
                if k != section + 1 || k > counts.len() {
                    return Err(err(n, format!("unexpected section \\{k}-grams:")));
                }
                section = k;
                seen = 0;
                return Ok(false);
            }
            if section == 0 {
                return Err(err(n, "n-gram entry outside a section"));
            }
            let mut fields = line.split_whitespace();
            let p: f64 = fields
                .next()
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| err(n, "expected a log10 probability"))?;
            if !(p.is_finite() || p == f64::NEG_INFINITY) || p > 0.0 {
                return Err(err(n, format!("log10 probability {p} is not <= 0")));
            }
            let words: Vec<&str> = fields.by_ref().take(section).collect();
            if words.len() != section {
                return Err(err(n, format!("expected {section} words")));
            }
            let bo = match fields.next() {
                Some(f) => f
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| err(n, "bad back-off weight"))?,
                None => 0.0,
            };
            if fields.next().is_some() {
                return Err(err(n, "too many fields"));
            }
            let mut ids = Vec::with_capacity(section);
            for w in words {
                let id = match lm.vocab.get(w) {
                    Some(&id) => id,
                    None if section == 1 => {
                        let id = lm.vocab.len() as u32;
                        lm.vocab.insert(w.to_string(), id);
                        id
                    }
                    None => return Err(err(n, format!("word `{w}` is not a unigram"))),
                };
                ids.push(id);
            }
            lm.grams.insert(ids, (p, bo));
            seen += 1;
            Ok(false)
        };
        if let Some((n, line)) = pending {
            ended = process(n, line, &mut lm)?;
        }
        if !ended {
            for (n, line) in lines.by_ref() {
                last_line = n;
                if process(n, line, &mut lm)? {
                    ended = true;
                    break;
                }
            }
        }
        if !ended {
            return Err(err(last_line.max(1), "missing \\end\\"));
        }
        lm.bos = lm.vocab.get("<s>").copied();
        lm.eos = lm.vocab.get("</s>").copied();
        lm.unk = lm.vocab.get("<unk>").copied();
        for w in lm.vocab.keys() {
            for (i, _) in w.char_indices() {
                lm.prefixes.insert(w[..i].to_string());
            }
            lm.prefixes.insert(w.clone());
        }
        Ok(lm)
    }

    /// Model order (3 for a trigram model).
    pub fn order(&self) -> usize {
        self.order
    }

    /// Number of words (unigrams).
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// Word id, if the word is in the vocabulary.
    pub fn word_id(&self, word: &str) -> Option<u32> {
        self.vocab.get(word).copied()
    }

    /// Whether some vocabulary word starts with `prefix`.
    pub fn is_prefix(&self, prefix: &str) -> bool {
        self.prefixes.contains(prefix)
    }

    /// The context a sentence starts with (`<s>` if the model has it).
    pub fn start_context(&self) -> Vec<u32> {
        self.bos.into_iter().collect()
    }

    /// The end-of-sentence word, if the model has one.
    pub fn end_word(&self) -> Option<u32> {
        self.eos
    }

    /// The `<unk>` word, if the model has one.
    pub fn unk_word(&self) -> Option<u32> {
        self.unk
    }

    /// Natural-log probability of `word` after `context` (oldest first), with back-off.
    pub fn log_prob(&self, context: &[u32], word: u32) -> f64 {
        let keep = context.len().min(self.order - 1);
        let mut ctx = &context[context.len() - keep..];
        let mut backoff = 0.0;
        loop {
            let mut key = ctx.to_vec();
            key.push(word);
            if let Some(&(p, _)) = self.grams.get(&key) {
                return (p + backoff) * LN_10;
            }
            if ctx.is_empty() {
                // Not even a unigram: callers handle unknown words before asking.
                return f64::NEG_INFINITY;
            }
            if let Some(&(_, bo)) = self.grams.get(ctx) {
                backoff += bo;
            }
            ctx = &ctx[1..];
        }
    }

    /// The context after appending `word`, trimmed to `order - 1` words.
    pub fn advance(&self, context: &[u32], word: u32) -> Vec<u32> {
        let mut c = context.to_vec();
        c.push(word);
        let keep = c.len().min(self.order.saturating_sub(1));
        c.split_off(c.len() - keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARPA: &str = "some preamble\n\n\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1.0 <s> -0.5\n-0.5 one -0.3\n-0.7 two\n-1.2 </s>\n\n\\2-grams:\n-0.1 <s> one\n-0.2 one two\n\n\\end\\\n";

    #[test]
    fn parses_and_backs_off() {
        let lm = NgramLm::parse(ARPA).unwrap();
        assert_eq!(lm.order(), 2);
        assert_eq!(lm.vocab_size(), 4);
        let one = lm.word_id("one").unwrap();
        let two = lm.word_id("two").unwrap();
        let s = lm.start_context();
        assert!((lm.log_prob(&s, one) - (-0.1 * LN_10)).abs() < 1e-12);
        // "two" after "<s>": back-off(<s>) + p(two).
        assert!((lm.log_prob(&s, two) - (-0.5 - 0.7) * LN_10).abs() < 1e-12);
        assert!((lm.log_prob(&[one], two) - (-0.2 * LN_10)).abs() < 1e-12);
        assert!(lm.is_prefix("tw") && lm.is_prefix("") && !lm.is_prefix("x"));
        assert_eq!(lm.advance(&[one], two), vec![two]);
    }

    #[test]
    fn malformed_files_name_the_line() {
        let cases = [
            (ARPA.replace("-0.7 two", "-0.7"), 10),
            (ARPA.replace("-0.7 two", "x two"), 10),
            (ARPA.replace("-0.2 one two", "-0.2 one three"), 15),
            (ARPA.replace("ngram 2=2", "ngram 2=3"), 17),
            (ARPA.replace("\\end\\\n", ""), 16),
            (ARPA.replace("-0.7 two", "0.5 two"), 10),
        ];
        for (text, line) in cases {
            match NgramLm::parse(&text) {
                Err(CtcError::Arpa { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("expected an ARPA error, got {other:?}"),
            }
        }
        assert!(matches!(
            NgramLm::parse(""),
            Err(CtcError::Arpa { line: 1, .. })
        ));
        assert!(matches!(
            NgramLm::parse_bytes(b"\\data\\\n\xff"),
            Err(CtcError::Arpa { line: 2, .. })
        ));
    }
}
