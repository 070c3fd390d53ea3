//! Class index <-> symbol, and the word delimiter that word-level features (LM fusion, word
//! timestamps, hotwords) split on.

use kiln_core::KilnError;

use crate::errors::{CtcError, Result};

/// The symbol of every class, the blank's position, and which symbol separates words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alphabet {
    symbols: Vec<String>,
    blank: usize,
    delimiter: Option<usize>,
}

impl Alphabet {
    /// One character per class, in class order; the character at `blank` is a placeholder
    /// (never printed). A space, if present, is the word delimiter.
    ///
    /// ```
    /// let a = kiln_ctc::Alphabet::from_chars("_ ab", 0)?;
    /// assert_eq!(a.classes(), 4);
    /// assert_eq!(a.text(&[2, 1, 3])?, "a b");
    /// assert!(a.text(&[4]).is_err());
    /// # Ok::<(), kiln_ctc::CtcError>(())
    /// ```
    pub fn from_chars(chars: &str, blank: usize) -> Result<Self> {
        Self::new(chars.chars().map(String::from).collect(), blank)
    }

    /// Arbitrary symbols (e.g. word pieces), one per class.
    pub fn new(symbols: Vec<String>, blank: usize) -> Result<Self> {
        if symbols.is_empty() {
            return Err(KilnError::Empty("alphabet".into()).into());
        }
        if blank >= symbols.len() {
            return Err(CtcError::BlankOutOfRange {
                blank,
                classes: symbols.len(),
            });
        }
        for (i, s) in symbols.iter().enumerate() {
            if i != blank
                && symbols[..i]
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != blank && o == s)
            {
                return Err(KilnError::invalid("alphabet", s, "symbol appears twice").into());
            }
        }
        let delimiter = symbols
            .iter()
            .enumerate()
            .position(|(i, s)| i != blank && s == " ");
        Ok(Self {
            symbols,
            blank,
            delimiter,
        })
    }

    /// Number of classes, blank included.
    pub fn classes(&self) -> usize {
        self.symbols.len()
    }

    /// The blank class.
    pub fn blank(&self) -> usize {
        self.blank
    }

    /// The word-delimiter class, if the alphabet has one.
    pub fn delimiter(&self) -> Option<usize> {
        self.delimiter
    }

    /// Symbol of a class; [`CtcError::ClassOutOfRange`] for a class the alphabet lacks.
    pub fn symbol(&self, class: usize) -> Result<&str> {
        self.symbols
            .get(class)
            .map(String::as_str)
            .ok_or(CtcError::ClassOutOfRange {
                class,
                classes: self.symbols.len(),
            })
    }

    /// Concatenated symbols of a label sequence (blanks skipped);
    /// [`CtcError::ClassOutOfRange`] for a label the alphabet lacks.
    pub fn text(&self, labels: &[usize]) -> Result<String> {
        labels
            .iter()
            .filter(|&&l| l != self.blank)
            .map(|&l| self.symbol(l))
            .collect()
    }

    /// Label sequence of a text whose symbols are single characters; `None` if a character
    /// is not in the alphabet.
    pub fn encode(&self, text: &str) -> Option<Vec<usize>> {
        text.chars()
            .map(|ch| {
                let mut buf = [0u8; 4];
                let s: &str = ch.encode_utf8(&mut buf);
                self.symbols
                    .iter()
                    .enumerate()
                    .position(|(i, sym)| i != self.blank && sym == s)
            })
            .collect()
    }
}
