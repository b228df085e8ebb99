//! Properties of the tokenizer that must hold for every input.

use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use wordfreq_domain::Tokenizer;

/// Java's `\s`, which the original's Spark job split on: space, tab, newline, vertical tab, form
/// feed, carriage return.
const JAVA_WHITESPACE: [char; 6] = [' ', '\t', '\n', '\u{B}', '\u{C}', '\r'];

/// The original job's rule, written out independently of the tokenizer: delete what is not
/// `[a-zA-Z0-9\s]`, lowercase, split on `\s+`, keep words longer than two characters.
fn original_rule(text: &str) -> Vec<String> {
    let kept: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || JAVA_WHITESPACE.contains(c))
        .collect::<String>()
        .to_ascii_lowercase();
    kept.split(|c| JAVA_WHITESPACE.contains(&c))
        .filter(|word| word.len() > 2)
        .map(String::from)
        .collect()
}

/// ASCII text weighted towards what matters: letters of both cases, digits, every whitespace
/// character, punctuation, control characters.
fn ascii_text() -> impl Strategy<Value = String> {
    let ascii_char = prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('A', 'Z'),
        1 => proptest::char::range('0', '9'),
        2 => proptest::sample::select(JAVA_WHITESPACE.to_vec()),
        1 => proptest::char::range('\0', '\u{7F}'),
    ];
    proptest::collection::vec(ascii_char, 0..200).prop_map(|chars| chars.into_iter().collect())
}

/// The rule as the tokenizer documents it, applied to the whole text in the stated order with no
/// fast paths: NFC, full lowercase, keep alphanumerics (and combining marks on a kept base) and
/// whitespace, split on whitespace, NFC again, drop short words. The tokenizer must agree with it
/// everywhere.
fn reference_rule(text: &str, min_chars: usize) -> Vec<String> {
    let lowercase = text.nfc().collect::<String>().to_lowercase();
    let mut kept = String::new();
    let mut base_kept = false;
    for ch in lowercase.chars() {
        if ch.is_whitespace() {
            kept.push(' ');
            base_kept = false;
        } else if is_combining_mark(ch) {
            if base_kept {
                kept.push(ch);
            }
        } else {
            base_kept = ch.is_alphanumeric();
            if base_kept {
                kept.push(ch);
            }
        }
    }
    kept.split(' ')
        .map(|word| word.nfc().collect::<String>())
        .filter(|word| !word.is_empty() && word.chars().count() >= min_chars)
        .collect()
}

/// Text weighted towards the characters where the rule is hard: capitals, combining marks, final
/// sigma, dotted I, sharp s, Devanagari, CJK, emoji with selectors and joiners, Unicode spaces.
fn unicode_text() -> impl Strategy<Value = String> {
    let hard_char = prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('A', 'Z'),
        2 => proptest::sample::select(vec![' ', '\u{A0}', '\u{3000}', '\u{B}', '\u{85}', '\u{2028}', '\n']),
        2 => proptest::char::range('\u{300}', '\u{36F}'),
        2 => proptest::sample::select(vec!['Σ', 'σ', 'ς', 'İ', 'ı', 'ß', 'ẞ', 'Å', 'Ω', 'K', 'ǅ', 'ΐ']),
        1 => proptest::char::range('\u{391}', '\u{3C9}'),
        1 => proptest::char::range('\u{400}', '\u{44F}'),
        1 => proptest::char::range('\u{900}', '\u{97F}'),
        1 => proptest::char::range('\u{3040}', '\u{30FF}'),
        1 => proptest::char::range('\u{1100}', '\u{11FF}'),
        1 => proptest::sample::select(vec!['❤', '\u{FE0F}', '\u{200D}', '\u{200C}', '👍', '\u{1F3FD}', '🦀', '\'', '-', '.']),
        1 => any::<char>(),
    ];
    proptest::collection::vec(hard_char, 0..120).prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn on_ascii_input_the_tokens_are_exactly_the_originals(text in ascii_text()) {
        prop_assert_eq!(Tokenizer::default().tokens(&text), original_rule(&text));
    }

    #[test]
    fn on_any_input_the_tokens_equal_the_rule_applied_to_the_whole_text(text in unicode_text()) {
        prop_assert_eq!(Tokenizer::default().tokens(&text), reference_rule(&text, 3));
        prop_assert_eq!(Tokenizer::new(1).tokens(&text), reference_rule(&text, 1));
    }

    #[test]
    fn every_token_is_nfc_lowercase_free_of_whitespace_and_long_enough(text in unicode_text()) {
        for token in Tokenizer::default().tokens(&text) {
            prop_assert!(token.chars().count() >= 3, "{:?}", token);
            prop_assert!(!token.contains(char::is_whitespace), "{:?}", token);
            prop_assert_eq!(token.nfc().collect::<String>(), token.clone());
            prop_assert_eq!(token.to_lowercase(), token.clone());
        }
    }

    #[test]
    fn tokenizing_the_tokens_again_changes_nothing(text in unicode_text()) {
        let tokenizer = Tokenizer::default();
        let tokens = tokenizer.tokens(&text);
        prop_assert_eq!(tokenizer.tokens(&tokens.join(" ")), tokens);
    }
}
