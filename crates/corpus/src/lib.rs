//! Deterministic text corpora for benchmarks and load tools.
//!
//! Word frequencies follow Zipf's law (exponent about 1, as in natural language), over a vocabulary
//! built from syllables so that word lengths look like English (mean about five letters). Sentences
//! start with a capital and carry commas, apostrophes and full stops, so the tokenizer's lowercasing
//! and deletion paths run as they do on real submissions. The same seed always gives the same text.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};

/// Which words the corpus is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// English-like ASCII words with `non_ascii_percent` percent of the vocabulary non-ASCII
    /// (accented Latin, Cyrillic, Greek, Devanagari, CJK).
    MostlyAscii { non_ascii_percent: u32 },
    /// Every word non-ASCII.
    NonAscii,
}

impl Default for Mix {
    fn default() -> Self {
        Self::MostlyAscii {
            non_ascii_percent: 3,
        }
    }
}

/// A generator of sentences. Cheap to create; deterministic for a seed.
pub struct Corpus {
    vocabulary: Vec<String>,
    ranks: Zipf<f64>,
    rng: ChaCha8Rng,
}

const VOCABULARY_SIZE: usize = 50_000;
const ZIPF_EXPONENT: f64 = 1.05;

const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "y", "z",
    "br", "ch", "cl", "cr", "dr", "fl", "fr", "gr", "pl", "pr", "sh", "sl", "sp", "st", "str",
    "th", "tr", "wh", "",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ea", "ee", "ai", "ou", "oo", "y"];
const CODAS: &[&str] = &[
    "", "", "", "n", "r", "s", "t", "l", "nd", "ng", "st", "ck", "m", "rd", "x",
];

/// Letters of the non-ASCII scripts, lowercase and capital where the script has case.
const SCRIPTS: &[&[&str]] = &[
    &[
        "é", "è", "à", "ü", "ö", "ä", "ß", "ñ", "ç", "ø", "å", "ï", "a", "e", "r", "s", "t", "n",
    ],
    &[
        "а", "б", "в", "г", "д", "е", "ж", "з", "и", "к", "л", "м", "н", "о", "п", "р", "с", "т",
        "у", "ы",
    ],
    &[
        "α", "β", "γ", "δ", "ε", "ζ", "η", "θ", "ι", "κ", "λ", "μ", "ν", "ο", "π", "ρ", "σ", "τ",
        "υ", "ω",
    ],
    &[
        "क", "ख", "ग", "त", "द", "न", "प", "म", "र", "ल", "स", "ह", "ा", "ि", "ी", "ु", "े", "ो", "्",
    ],
    &[
        "東", "京", "日", "本", "語", "中", "国", "人", "大", "学", "生", "山", "川", "水", "火",
        "木", "金",
    ],
];

impl Corpus {
    pub fn new(mix: Mix, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut vocabulary = Vec::with_capacity(VOCABULARY_SIZE);
        while vocabulary.len() < VOCABULARY_SIZE {
            let non_ascii = match mix {
                Mix::NonAscii => true,
                Mix::MostlyAscii { non_ascii_percent } => {
                    rng.random_ratio(non_ascii_percent.min(100), 100)
                }
            };
            vocabulary.push(if non_ascii {
                non_ascii_word(&mut rng)
            } else {
                english_like_word(&mut rng)
            });
        }
        let ranks =
            Zipf::new(VOCABULARY_SIZE as f64, ZIPF_EXPONENT).expect("valid Zipf parameters");
        Self {
            vocabulary,
            ranks,
            rng,
        }
    }

    /// One sentence of 4 to 24 words, capitalized and punctuated.
    pub fn sentence(&mut self) -> String {
        let words = self.rng.random_range(4..=24);
        let mut sentence = String::new();
        for index in 0..words {
            // Zipf samples ranks from 1; rank 1 is the most frequent word.
            let rank = self.ranks.sample(&mut self.rng) as usize;
            let word = &self.vocabulary[rank.clamp(1, VOCABULARY_SIZE) - 1];
            if index == 0 {
                let mut chars = word.chars();
                sentence.extend(chars.next().into_iter().flat_map(char::to_uppercase));
                sentence.push_str(chars.as_str());
            } else {
                sentence.push(' ');
                sentence.push_str(word);
            }
            match self.rng.random_range(0..100) {
                0..=5 => sentence.push(','),
                6 => sentence.push_str("'s"),
                _ => {}
            }
        }
        sentence.push_str(
            [".", ".", ".", "!", "?"]
                .choose(&mut self.rng)
                .expect("not empty"),
        );
        sentence
    }

    /// Text of at least `bytes` bytes: sentences, several to a line.
    pub fn text(&mut self, bytes: usize) -> String {
        let mut text = String::with_capacity(bytes + 256);
        while text.len() < bytes {
            self.write_line(&mut text);
        }
        text
    }

    /// Appends one line of one to five sentences and a newline.
    pub fn write_line(&mut self, out: &mut String) {
        for index in 0..self.rng.random_range(1..=5) {
            if index > 0 {
                out.push(' ');
            }
            out.push_str(&self.sentence());
        }
        out.push('\n');
    }
}

fn english_like_word(rng: &mut ChaCha8Rng) -> String {
    let syllables = *[1, 1, 1, 2, 2, 2, 3, 3, 4].choose(rng).expect("not empty");
    let mut word = String::new();
    for _ in 0..syllables {
        for part in [ONSETS, VOWELS, CODAS] {
            word.push_str(part.choose(rng).expect("not empty"));
        }
    }
    word
}

fn non_ascii_word(rng: &mut ChaCha8Rng) -> String {
    let script = SCRIPTS.choose(rng).expect("not empty");
    let letters = rng.random_range(2..=8);
    (0..letters)
        .map(|_| *script.choose(rng).expect("not empty"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_text() {
        let first = Corpus::new(Mix::default(), 7).text(10_000);
        assert_eq!(first, Corpus::new(Mix::default(), 7).text(10_000));
        assert_ne!(first, Corpus::new(Mix::default(), 8).text(10_000));
    }

    #[test]
    fn a_mostly_ascii_corpus_is_mostly_ascii_and_a_non_ascii_one_is_not() {
        let ascii_share =
            |text: &str| text.bytes().filter(u8::is_ascii).count() as f64 / text.len() as f64;
        assert!(ascii_share(&Corpus::new(Mix::default(), 1).text(200_000)) > 0.9);
        assert!(ascii_share(&Corpus::new(Mix::NonAscii, 1).text(200_000)) < 0.5);
    }
}
