//! The two charts, drawn on the server as plain HTML and SVG: no chart library to ship, nothing
//! to run in the browser, and every bar and slice carries its word and count as text, so they read
//! without colour and at any width.

/// How many words the pie chart shows (the original's top 10).
pub const PIE_WORDS: usize = 10;

/// Slice colours: the Okabe–Ito palette (distinguishable with colour-blindness), then two greys.
const PALETTE: [&str; PIE_WORDS] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
    "#999999", "#666666",
];

/// One bar of the top-N chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub rank: usize,
    pub word: String,
    pub count: u64,
    /// Length relative to the most frequent word, percent.
    pub width_percent: f64,
    /// Darker for more frequent words (the original colours bars by frequency).
    pub colour: String,
}

/// Bars for `words`, ranked as given.
pub fn bars(words: &[(String, u64)]) -> Vec<Bar> {
    let most = words
        .iter()
        .map(|&(_, count)| count)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    words
        .iter()
        .enumerate()
        .map(|(index, (word, count))| {
            let share = *count as f64 / most;
            Bar {
                rank: index + 1,
                word: word.clone(),
                count: *count,
                width_percent: (share * 100.0).max(0.5),
                // From a light to a deep blue, so frequency shows in the shade as in the length.
                colour: format!("hsl(212, 70%, {:.0}%)", 72.0 - 40.0 * share),
            }
        })
        .collect()
}

/// One slice of the pie chart, with its SVG path in a unit circle centred at the origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    pub rank: usize,
    pub word: String,
    pub count: u64,
    /// Share of the words in the pie, percent.
    pub percent: f64,
    pub path: String,
    pub colour: &'static str,
    /// Where the slice's rank number goes, when the slice is wide enough to hold it.
    pub label_at: Option<(f64, f64)>,
}

/// Slices for the first [`PIE_WORDS`] of `words`, clockwise from twelve o'clock.
pub fn pie(words: &[(String, u64)]) -> Vec<Slice> {
    let shown = &words[..words.len().min(PIE_WORDS)];
    let total: u64 = shown.iter().map(|&(_, count)| count).sum();
    if total == 0 {
        return Vec::new();
    }
    let point = |turns: f64| {
        let angle = turns * std::f64::consts::TAU;
        (angle.sin(), -angle.cos())
    };
    let mut start = 0.0;
    shown
        .iter()
        .enumerate()
        .map(|(index, (word, count))| {
            let share = *count as f64 / total as f64;
            let end = start + share;
            let path = if share >= 1.0 {
                // An arc cannot end where it starts: a whole pie is a circle.
                "M 0 -1 A 1 1 0 1 1 0 1 A 1 1 0 1 1 0 -1 Z".to_owned()
            } else {
                let (x0, y0) = point(start);
                let (x1, y1) = point(end);
                let large_arc = u8::from(share > 0.5);
                format!("M 0 0 L {x0:.4} {y0:.4} A 1 1 0 {large_arc} 1 {x1:.4} {y1:.4} Z")
            };
            let (lx, ly) = point(start + share / 2.0);
            let slice = Slice {
                rank: index + 1,
                word: word.clone(),
                count: *count,
                percent: share * 100.0,
                path,
                colour: PALETTE[index],
                label_at: (share >= 0.04).then_some((lx * 0.68, ly * 0.68)),
            };
            start = end;
            slice
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(counts: &[u64]) -> Vec<(String, u64)> {
        counts
            .iter()
            .enumerate()
            .map(|(n, &count)| (format!("w{n}"), count))
            .collect()
    }

    #[test]
    fn bars_are_as_long_as_their_count_against_the_most_frequent() {
        let bars = bars(&words(&[200, 100, 1]));
        let widths: Vec<f64> = bars.iter().map(|bar| bar.width_percent).collect();
        assert_eq!(widths, [100.0, 50.0, 0.5]);
        assert_eq!(bars[2].rank, 3);
    }

    #[test]
    fn the_pie_shows_the_top_ten_and_its_shares_add_up_to_the_whole() {
        let slices = pie(&words(&[5; 12]));
        assert_eq!(slices.len(), PIE_WORDS);
        let total: f64 = slices.iter().map(|slice| slice.percent).sum();
        assert!((total - 100.0).abs() < 1e-9);
        assert!(slices.iter().all(|slice| slice.label_at.is_some()));
    }

    #[test]
    fn a_pie_of_one_word_is_a_whole_circle_and_tiny_slices_carry_no_label() {
        assert!(pie(&words(&[3]))[0].path.contains("A 1 1 0 1 1 0 1"));
        let slices = pie(&words(&[1000, 1]));
        assert_eq!(slices[1].label_at, None);
        assert!(
            slices[0].path.contains(" 1 1 "),
            "a slice over half uses the large arc"
        );
        assert!(pie(&[]).is_empty());
    }
}
