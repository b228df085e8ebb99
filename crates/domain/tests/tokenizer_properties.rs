//! Properties of the tokenizer that must hold for every input.

use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn on_ascii_input_the_tokens_are_exactly_the_originals(text in ascii_text()) {
        prop_assert_eq!(Tokenizer::default().tokens(&text), original_rule(&text));
    }

    #[test]
    fn every_token_is_nfc_lowercase_free_of_whitespace_and_long_enough(text in any::<String>()) {
        for token in Tokenizer::default().tokens(&text) {
            prop_assert!(token.chars().count() >= 3, "{:?}", token);
            prop_assert!(!token.contains(char::is_whitespace), "{:?}", token);
            prop_assert_eq!(token.nfc().collect::<String>(), token.clone());
            prop_assert_eq!(token.to_lowercase(), token.clone());
        }
    }

    #[test]
    fn tokenizing_the_tokens_again_changes_nothing(text in any::<String>()) {
        let tokenizer = Tokenizer::default();
        let tokens = tokenizer.tokens(&text);
        prop_assert_eq!(tokenizer.tokens(&tokens.join(" ")), tokens);
    }
}
