//! Differential fuzzing of the tokenizer: its fast paths (ASCII slices, the reused buffer, the
//! BMP lookup table) must give exactly what the rule gives applied literally to the whole text,
//! the same reference the property tests use (crates/domain/tests/tokenizer_properties.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use wordfreq_domain::Tokenizer;

/// NFC, full lowercase, keep alphanumerics (and combining marks on a kept base) and whitespace,
/// split on whitespace, NFC again, drop short words.
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

fuzz_target!(|data: &[u8]| {
    // The first byte picks the minimum word length (0..=7); the rest is the text.
    let Some((&min, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let min = usize::from(min % 8);
    let tokens = Tokenizer::new(min).tokens(text);
    assert_eq!(tokens, reference_rule(text, min), "text: {text:?}");
});
