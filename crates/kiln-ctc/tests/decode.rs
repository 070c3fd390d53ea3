//! Decoder behaviour: LM fusion, hotwords, streaming, batch, timestamps, ARPA robustness.

use std::sync::Arc;

use kiln_ctc::decode::greedy::{best_path, greedy, greedy_batch};
use kiln_ctc::{Alphabet, BeamSearch, BeamSearchParams, CtcError, NgramLm};
use proptest::prelude::*;

/// Frames spelling `text` (one symbol per two frames, a blank frame after each), where at
/// every frame the intended class has probability `p` and `confuse[i]` (if set) takes `q`.
fn frames(alphabet: &Alphabet, spec: &[(char, Option<(char, f64)>)], p: f64) -> Vec<f64> {
    let c = alphabet.classes();
    let mut out = Vec::new();
    let mut push = |main: usize, alt: Option<(usize, f64)>| {
        let rest = 1.0 - p - alt.map_or(0.0, |a| a.1);
        let others = (c - 1 - usize::from(alt.is_some())) as f64;
        for k in 0..c {
            let v = if k == main {
                p
            } else if alt.is_some_and(|a| a.0 == k) {
                alt.unwrap().1
            } else {
                rest / others
            };
            out.push(v.ln());
        }
    };
    for &(ch, alt) in spec {
        let k = alphabet.encode(&ch.to_string()).unwrap()[0];
        let alt = alt.map(|(a, q)| (alphabet.encode(&a.to_string()).unwrap()[0], q));
        push(k, alt);
        push(alphabet.blank(), None);
    }
    out
}

const ARPA: &str = "\\data\\\nngram 1=5\nngram 2=2\n\n\\1-grams:\n-1.0 <s> -0.3\n-1.0 </s>\n-0.5 cat -0.2\n-0.6 cab\n-0.9 sat\n\n\\2-grams:\n-0.1 <s> cat\n-0.2 cat sat\n\n\\end\\\n";

#[test]
fn lm_fusion_and_hotwords_change_the_winner() {
    let a = Alphabet::from_chars("_ abcst", 0).unwrap();
    // Acoustics slightly prefer "cab" over "cat" at the third letter.
    let spec = [('c', None), ('a', None), ('b', Some(('t', 0.40)))];
    let lp = frames(&a, &spec, 0.45);
    let t = lp.len() / a.classes();
    let plain = BeamSearch::new(BeamSearchParams::new(a.clone()).check().unwrap());
    assert_eq!(plain.decode(&lp, t).unwrap()[0].text(&a).unwrap(), "cab");

    let lm = Arc::new(NgramLm::parse(ARPA).unwrap());
    let fused = BeamSearch::new(
        BeamSearchParams::new(a.clone())
            .lm(lm.clone())
            .alpha(1.0)
            .beta(0.0)
            .check()
            .unwrap(),
    );
    let best = &fused.decode(&lp, t).unwrap()[0];
    assert_eq!(best.text(&a).unwrap(), "cat");
    assert!(best.score > best.log_prob - 10.0 && best.score < best.log_prob);

    let hot = BeamSearch::new(
        BeamSearchParams::new(a.clone())
            .hotwords(vec!["bat".into(), "cat".into()])
            .hotword_weight(1.0)
            .check()
            .unwrap(),
    );
    assert_eq!(hot.decode(&lp, t).unwrap()[0].text(&a).unwrap(), "cat");

    // With alpha = 0 and beta = 0 the LM has no effect.
    let off = BeamSearch::new(
        BeamSearchParams::new(a.clone())
            .lm(lm)
            .alpha(0.0)
            .beta(0.0)
            .check()
            .unwrap(),
    );
    assert_eq!(off.decode(&lp, t).unwrap()[0].text(&a).unwrap(), "cab");
}

#[test]
fn streaming_equals_one_shot_and_batch_equals_single() {
    let a = Alphabet::from_chars("_ abcst", 0).unwrap();
    let spec = [
        ('c', Some(('s', 0.3))),
        ('a', None),
        ('t', None),
        (' ', None),
        ('s', Some(('c', 0.2))),
        ('a', None),
        ('t', Some(('b', 0.3))),
    ];
    let lp = frames(&a, &spec, 0.5);
    let c = a.classes();
    let t = lp.len() / c;
    let search = BeamSearch::new(
        BeamSearchParams::new(a.clone())
            .beam_width(8)
            .nbest(3)
            .check()
            .unwrap(),
    );
    let once = search.decode(&lp, t).unwrap();
    let mut state = search.begin();
    for chunk in lp.chunks(3 * c) {
        state.step(chunk).unwrap();
        assert!(state.best().is_some());
    }
    assert_eq!(state.frames(), t);
    assert_eq!(state.end(), once);
    assert_eq!(once.len(), 3);
    assert!(once.windows(2).all(|w| w[0].score >= w[1].score));
    assert_eq!(once[0].text(&a).unwrap(), "cat sat");
    let words = once[0].words(&a).unwrap();
    assert_eq!(words.len(), 2);
    assert_eq!(
        (words[0].word.as_str(), words[0].start, words[0].end),
        ("cat", 0, 5)
    );
    assert_eq!(
        (words[1].word.as_str(), words[1].start, words[1].end),
        ("sat", 8, 13)
    );

    // Batch [T, N=2, C]: sample 1 is the first 6 frames of the same input.
    let mut batch = vec![0.0; t * 2 * c];
    for ti in 0..t {
        batch[(ti * 2) * c..(ti * 2 + 1) * c].copy_from_slice(&lp[ti * c..(ti + 1) * c]);
        batch[(ti * 2 + 1) * c..(ti * 2 + 2) * c].copy_from_slice(&lp[ti * c..(ti + 1) * c]);
    }
    let out = search.decode_batch(&batch, [t, 2, c], &[t, 6]).unwrap();
    assert_eq!(out[0], once);
    assert_eq!(out[1], search.decode(&lp[..6 * c], 6).unwrap());

    let g = greedy(&lp, t, c, 0).unwrap();
    assert_eq!(g.text(&a).unwrap(), "cat sat");
    assert_eq!(g.frames, vec![0, 2, 4, 6, 8, 10, 12]);
}

#[test]
fn bad_parameters_and_inputs_are_typed_errors() {
    let a = Alphabet::from_chars("_ab", 0).unwrap();
    assert!(
        BeamSearchParams::new(a.clone())
            .beam_width(0)
            .check()
            .is_err()
    );
    assert!(BeamSearchParams::new(a.clone()).nbest(40).check().is_err());
    assert!(
        BeamSearchParams::new(a.clone())
            .min_log_prob(f64::NAN)
            .check()
            .is_err()
    );
    // LM fusion without a word delimiter.
    let lm = Arc::new(NgramLm::parse(ARPA).unwrap());
    assert!(BeamSearchParams::new(a.clone()).lm(lm).check().is_err());
    let s = BeamSearch::new(BeamSearchParams::new(a.clone()).check().unwrap());
    assert!(matches!(
        s.decode(&[0.0, f64::NAN, 0.0], 1),
        Err(CtcError::Core(_))
    ));
    assert!(s.begin().step(&[0.0; 4]).is_err());
    assert!(Alphabet::from_chars("_aa", 0).is_err());
    assert!(Alphabet::from_chars("_a", 5).is_err());
}

#[test]
fn short_long_and_out_of_range_inputs_are_typed_errors_not_panics() {
    let a = Alphabet::from_chars("_ab", 0).unwrap();
    let c = a.classes();
    let lp = vec![(1.0f64 / 3.0).ln(); 2 * c];
    // Greedy and best path: exactly t_len * classes values.
    assert!(greedy(&lp, 2, c, 0).is_ok());
    for (t, classes) in [(3, c), (1, c), (2, 0), (usize::MAX, 2)] {
        assert!(
            greedy(&lp, t, classes, 0).is_err(),
            "t {t} classes {classes}"
        );
        assert!(
            best_path(&lp, t, classes).is_err(),
            "t {t} classes {classes}"
        );
    }
    assert!(matches!(
        greedy(&lp, 2, c, 3),
        Err(CtcError::BlankOutOfRange { .. })
    ));
    assert!(greedy(&[f64::NAN; 3], 1, 3, 0).is_err());
    // Beam search: extra input is refused, not silently ignored.
    let s = BeamSearch::new(BeamSearchParams::new(a.clone()).check().unwrap());
    assert!(s.decode(&lp, 2).is_ok());
    assert!(s.decode(&lp, 1).is_err());
    assert!(s.decode(&lp[..c], 2).is_err());
    assert!(s.decode(&lp, usize::MAX).is_err());
    // Alphabet lookups out of range.
    assert_eq!(a.symbol(1).unwrap(), "a");
    assert!(matches!(
        a.symbol(3),
        Err(CtcError::ClassOutOfRange {
            class: 3,
            classes: 3
        })
    ));
    assert!(a.text(&[1, 7]).is_err());
    // A hypothesis read with a smaller alphabet than the one that decoded it.
    let big = Alphabet::from_chars("_ abc", 0).unwrap();
    let lp = vec![(0.2f64).ln(); 5];
    let h = greedy(&lp, 1, 5, 0).unwrap();
    assert!(h.text(&big).is_ok());
    let h = kiln_ctc::Hypothesis {
        labels: vec![4],
        log_prob: 0.0,
        score: 0.0,
        frames: vec![0],
    };
    assert!(h.text(&a).is_err() && h.words(&a).is_err());
    // Batch greedy: lengths beyond T and a wrong number of values.
    let lp = vec![0.0; 2 * 2 * 3];
    assert_eq!(greedy_batch(&lp, [2, 2, 3], &[2, 1], 0).unwrap().len(), 2);
    assert!(greedy_batch(&lp, [2, 2, 3], &[3, 1], 0).is_err());
    assert!(greedy_batch(&lp[1..], [2, 2, 3], &[2, 2], 0).is_err());
    assert!(greedy_batch(&lp, [usize::MAX, 2, 3], &[2, 2], 0).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arpa_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Err(e) = NgramLm::parse_bytes(&bytes) {
            let ok = matches!(e, CtcError::Arpa { line, .. } if line >= 1);
            prop_assert!(ok);
        }
    }

    #[test]
    fn arpa_parser_never_panics_on_mutations(pos in 0usize..ARPA.len(), len in 0usize..12, junk in "[ a-z0-9\\\\.=:\\n-]{0,8}") {
        let mut text = ARPA.as_bytes().to_vec();
        let end = (pos + len).min(text.len());
        text.splice(pos..end, junk.bytes());
        let lines = text.iter().filter(|&&b| b == b'\n').count() + 1;
        if let Err(e) = NgramLm::parse_bytes(&text) {
            let ok = matches!(e, CtcError::Arpa { line, .. } if line >= 1 && line <= lines);
            prop_assert!(ok, "{:?}", e);
        }
    }
}
