//! `wordfreq tokenize` and `wordfreq count`: the tokenizer over standard input, for scripts and for
//! checking the rule by hand. Both stream, so memory stays bounded by one chunk (or one line) and the
//! map of distinct words, whatever the input size.

use std::io::{self, BufRead, Read, Write};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use wordfreq_domain::{Tokenizer, WordCounts};

/// Why a text tool stopped.
#[derive(Debug, thiserror::Error)]
pub enum TextToolError {
    #[error("input is not valid UTF-8 at byte {offset}")]
    NotUtf8 { offset: u64 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Input is read in chunks of this size, cut after the last white space so no word is split.
const CHUNK_BYTES: usize = 1 << 20;

/// Writes each input line's tokens joined by one space, one output line per input line.
pub fn tokenize(
    tokenizer: &Tokenizer,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<(), TextToolError> {
    let mut offset = 0u64;
    for line in input.split(b'\n') {
        let line = line?;
        let text = as_utf8(&line, offset)?;
        offset += line.len() as u64 + 1;
        let mut first = true;
        let mut write_result = Ok(());
        tokenizer.for_each_token(text, |token| {
            if write_result.is_ok() {
                let separator: &[u8] = if first { b"" } else { b" " };
                write_result = output
                    .write_all(separator)
                    .and_then(|()| output.write_all(token.as_bytes()));
                first = false;
            }
        });
        write_result?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(())
}

/// Counts every token of the input, on as many threads as the machine has cores.
pub fn count(tokenizer: &Tokenizer, input: impl Read) -> Result<WordCounts, TextToolError> {
    let workers = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    count_on(tokenizer, input, workers)
}

/// Counts every token of the input on `workers` threads: this one reads and cuts chunks, each
/// worker tokenizes whole chunks into counts of its own, and their counts are added up at the end.
/// Memory: two chunks in flight per worker, and each worker's distinct words.
pub fn count_on(
    tokenizer: &Tokenizer,
    input: impl Read,
    workers: usize,
) -> Result<WordCounts, TextToolError> {
    let workers = workers.max(1);
    let (chunks, next_chunk) = mpsc::sync_channel::<(u64, Vec<u8>)>(workers * 2);
    // std's channel has one receiver: the workers take turns at it.
    let next_chunk = Mutex::new(next_chunk);
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let counting: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut counts = WordCounts::new();
                    loop {
                        let chunk = next_chunk
                            .lock()
                            .expect("a counting thread panicked")
                            .recv();
                        let Ok((offset, bytes)) = chunk else {
                            return Ok(counts);
                        };
                        match as_utf8(&bytes, offset) {
                            Ok(text) => {
                                counts.add_text(tokenizer, text);
                            }
                            Err(err) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(err);
                            }
                        }
                    }
                })
            })
            .collect();
        // Stops sending once a worker failed; the chunks before the failing one are all counted
        // (or checked), so the error reported below is the input's first.
        let read = read_chunks(input, |offset, chunk| {
            !failed.load(Ordering::Relaxed) && chunks.send((offset, chunk)).is_ok()
        });
        drop(chunks);
        let mut total = WordCounts::new();
        let mut first_error: Option<(u64, TextToolError)> = None;
        for worker in counting {
            match worker.join().expect("a counting thread panicked") {
                Ok(counts) => total.merge(&counts),
                Err(err) => {
                    let offset = match err {
                        TextToolError::NotUtf8 { offset } => offset,
                        TextToolError::Io(_) => u64::MAX,
                    };
                    if first_error
                        .as_ref()
                        .is_none_or(|(first, _)| offset < *first)
                    {
                        first_error = Some((offset, err));
                    }
                }
            }
        }
        read?;
        match first_error {
            Some((_, err)) => Err(err),
            None => Ok(total),
        }
    })
}

/// Reads `input` to its end in chunks of about [`CHUNK_BYTES`], each cut so that no character and
/// no word is split, and hands each to `take` with its offset in the input, until `take` says stop.
fn read_chunks(
    mut input: impl Read,
    mut take: impl FnMut(u64, Vec<u8>) -> bool,
) -> Result<(), TextToolError> {
    let mut buffer = vec![0; CHUNK_BYTES];
    let mut filled = 0;
    // Bytes before this were searched for a place to cut and had none: each byte is searched once.
    let mut searched = 0;
    let mut consumed = 0u64;
    loop {
        if filled == buffer.len() {
            // A single word longer than the buffer: grow rather than split it.
            buffer.resize(buffer.len() * 2, 0);
        }
        let read = match input.read(&mut buffer[filled..]) {
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err.into()),
        };
        filled += read;
        let at_end = read == 0;
        let cut = if at_end {
            filled
        } else {
            match last_cut(&buffer[searched..filled]) {
                Some(cut) => searched + cut,
                None => {
                    // A white-space character of up to three bytes may end in the next read.
                    searched = filled.saturating_sub(2);
                    continue;
                }
            }
        };
        if cut > 0 && !take(consumed, buffer[..cut].to_vec()) {
            return Ok(());
        }
        consumed += cut as u64;
        buffer.copy_within(cut..filled, 0);
        filled -= cut;
        searched = 0;
        if at_end {
            return Ok(());
        }
    }
}

/// Where to cut `bytes` so that no character and no word is split: just after the last White_Space
/// character, ASCII or not (text in scripts written without ASCII spaces may use only U+3000 or
/// NBSP). Searches from the end, so the usual answer is found within a few bytes.
fn last_cut(bytes: &[u8]) -> Option<usize> {
    (1..=bytes.len()).rev().find(|&end| {
        let last = bytes[end - 1];
        if last.is_ascii() {
            return char::from(last).is_whitespace();
        }
        // A multi-byte White_Space character is two (U+0085, U+00A0) or three bytes long.
        (2..=3).any(|len| {
            end >= len
                && std::str::from_utf8(&bytes[end - len..end]).is_ok_and(|tail| {
                    tail.chars().count() == 1 && tail.chars().all(char::is_whitespace)
                })
        })
    })
}

/// Writes `word<TAB>count` lines, count descending then word ascending.
pub fn write_counts(counts: &WordCounts, mut output: impl Write) -> io::Result<()> {
    for (word, count) in counts.ranked() {
        writeln!(output, "{word}\t{count}")?;
    }
    output.flush()
}

fn as_utf8(bytes: &[u8], offset: u64) -> Result<&str, TextToolError> {
    simdutf8::compat::from_utf8(bytes).map_err(|err| TextToolError::NotUtf8 {
        offset: offset + err.valid_up_to() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenized(input: &str) -> String {
        let mut output = Vec::new();
        tokenize(&Tokenizer::default(), input.as_bytes(), &mut output).unwrap();
        String::from_utf8(output).unwrap()
    }

    fn counted(input: &[u8]) -> String {
        let mut output = Vec::new();
        write_counts(&count(&Tokenizer::default(), input).unwrap(), &mut output).unwrap();
        String::from_utf8(output).unwrap()
    }

    #[test]
    fn tokenize_writes_one_line_per_input_line_even_when_it_has_no_tokens() {
        assert_eq!(
            tokenized("Hello, World!\nab\n\nCafé au lait\n"),
            "hello world\n\n\ncafé lait\n"
        );
    }

    #[test]
    fn tokenize_handles_a_last_line_without_newline_and_crlf_line_ends() {
        assert_eq!(tokenized("one two\r\nthree"), "one two\nthree\n");
    }

    #[test]
    fn count_lists_count_descending_then_word_ascending() {
        assert_eq!(
            counted(b"pear apple zebra zebra apple pear fig zebra"),
            "zebra\t3\napple\t2\npear\t2\nfig\t1\n"
        );
    }

    #[test]
    fn count_of_empty_input_writes_nothing() {
        assert_eq!(counted(b""), "");
    }

    #[test]
    fn count_reports_the_byte_offset_of_invalid_utf8() {
        let err = count(&Tokenizer::default(), &b"good words \xff bad"[..]).unwrap_err();
        assert!(
            matches!(err, TextToolError::NotUtf8 { offset: 11 }),
            "{err:?}"
        );
    }

    /// A reader that hands out a few bytes per call, to cut chunks in awkward places.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn count_gives_the_same_result_however_the_input_is_cut_into_reads() {
        let text = "Ünïcödé wörds\u{A0}spread ácross réads, and ascii too. ".repeat(50);
        let whole = count(&Tokenizer::default(), text.as_bytes()).unwrap();
        for step in [1, 2, 3, 7, 64] {
            assert_eq!(
                count(&Tokenizer::default(), Trickle(text.as_bytes(), step)).unwrap(),
                whole
            );
        }
    }

    #[test]
    fn count_gives_the_same_result_on_any_number_of_threads() {
        // Several chunks' worth, so that the workers share them out.
        let text = "Ünïcödé wörds\u{A0}spread ácross chunks, and ascii too. ".repeat(60_000);
        let alone = count_on(&Tokenizer::default(), text.as_bytes(), 1).unwrap();
        assert_eq!(alone.get("ácross"), 60_000);
        for workers in [2, 3, 8] {
            assert_eq!(
                count_on(&Tokenizer::default(), text.as_bytes(), workers).unwrap(),
                alone
            );
        }
    }

    #[test]
    fn count_on_threads_reports_the_first_invalid_byte_of_the_input() {
        let mut input = "good words ".repeat(300_000).into_bytes();
        let first = input.len() / 3;
        input[first] = 0xff;
        input[2 * first] = 0xff;
        for workers in [1, 2, 3] {
            let err = count_on(&Tokenizer::default(), &input[..], workers).unwrap_err();
            assert!(
                matches!(err, TextToolError::NotUtf8 { offset } if offset == first as u64),
                "{workers} workers: {err}"
            );
        }
    }

    #[test]
    fn a_chunk_is_cut_after_the_last_white_space_ascii_or_not() {
        assert_eq!(last_cut(b"ab cd"), Some(3));
        assert_eq!(
            last_cut("東京\u{3000}大阪".as_bytes()),
            Some("東京\u{3000}".len())
        );
        assert_eq!(last_cut("a\u{A0}b".as_bytes()), Some("a\u{A0}".len()));
        assert_eq!(last_cut("東京大阪".as_bytes()), None);
        assert_eq!(last_cut(b""), None);
    }

    #[test]
    fn count_handles_text_spaced_only_by_ideographic_spaces_across_reads() {
        let text = "東京タワー\u{3000}".repeat(200_000);
        let counts = count(&Tokenizer::default(), Trickle(text.as_bytes(), 4096)).unwrap();
        assert_eq!(counts.get("東京タワー"), 200_000);
    }

    #[test]
    fn count_keeps_a_word_longer_than_one_chunk_whole() {
        let long_word = "x".repeat(CHUNK_BYTES * 2 + 5);
        let counts = count(
            &Tokenizer::default(),
            format!("aaa {long_word} bbb").as_bytes(),
        )
        .unwrap();
        assert_eq!((counts.get(&long_word), counts.unique()), (1, 3));
    }
}
