//! One suite, both adapters: Redis (a real `redis-server` from the test kit) and the in-process
//! store must fence, apply and read batches alike.

use std::sync::Arc;
use std::time::Duration;

use wordfreq_domain::{Batch, Timeliness, Tokenizer, TopWords, Windows, WordQuery};
use wordfreq_store::{Applied, FencedBatch, OffsetRange, RedisStore, Store, View};
use wordfreq_testkit::{RedisServer, TestNames};

const TOPIC: &str = "user_text";

fn windows() -> Windows {
    Windows::new(Duration::from_secs(60)).unwrap()
}

/// A batch of `texts`, all in the window of `event_ms`, covering `ranges` (partition, from, to).
fn batch(id: &str, texts: &[&str], event_ms: i64, ranges: &[(i32, i64, i64)]) -> FencedBatch {
    let tokenizer = Tokenizer::default();
    let mut counts = Batch::new();
    for text in texts {
        counts.add_record(
            &tokenizer,
            text,
            windows().window_of(event_ms),
            Timeliness::OnTime,
        );
    }
    FencedBatch {
        id: id.into(),
        ranges: ranges
            .iter()
            .map(|&(partition, from, to)| OffsetRange {
                topic: TOPIC.into(),
                partition,
                from,
                to,
            })
            .collect(),
        counts,
        flushed_at: "2026-11-24T10:00:00.000Z".into(),
        window_retention_secs: 86_400,
    }
}

async fn a_batch_lands_whole_counts_stats_and_offsets(store: Arc<dyn Store>) {
    let mut first = batch(
        "b1",
        &["red fox red", "blue fox"],
        120_000,
        &[(0, 0, 1), (1, 0, 1)],
    );
    first.counts.add_invalid();
    assert_eq!(store.apply(&first).await.unwrap(), Applied::Applied);

    let all = store.counts(&View::AllTime).await.unwrap();
    assert_eq!(
        (all.get("red"), all.get("fox"), all.get("blue"), all.total()),
        (2, 2, 1, 5)
    );
    let window = store.counts(&View::Windows(vec![120])).await.unwrap();
    assert_eq!(window, all);
    let stats = store.stats().await.unwrap();
    assert_eq!(
        (
            stats.total_words,
            stats.records_processed,
            stats.invalid_records,
            stats.batches
        ),
        (5, 2, 1, 1)
    );
    assert_eq!(
        stats.last_updated.as_deref(),
        Some("2026-11-24T10:00:00.000Z")
    );
    let offsets = store.offsets(TOPIC).await.unwrap();
    assert_eq!(
        (offsets.get(&0), offsets.get(&1), offsets.get(&2)),
        (Some(&1), Some(&1), None)
    );
    assert!(store.offsets("other_topic").await.unwrap().is_empty());
}

async fn a_replayed_batch_is_rejected_and_changes_nothing(store: Arc<dyn Store>) {
    let first = batch("b1", &["one two three"], 0, &[(0, 0, 5)]);
    assert_eq!(store.apply(&first).await.unwrap(), Applied::Applied);

    let replay = store.apply(&first).await.unwrap();

    let expected = Applied::Rejected {
        topic: TOPIC.into(),
        partition: 0,
        stored: Some(5),
        claimed: 0,
    };
    assert_eq!(replay, expected);
    assert_eq!(store.counts(&View::AllTime).await.unwrap().total(), 3);
    assert_eq!(store.stats().await.unwrap().batches, 1);
}

async fn a_batch_stale_on_one_partition_changes_no_partition(store: Arc<dyn Store>) {
    store
        .apply(&batch("b1", &["alpha"], 0, &[(0, 0, 2), (1, 0, 2)]))
        .await
        .unwrap();

    // Partition 0 is right (2), partition 1 is stale (0 instead of 2), as a zombie would send.
    let mixed = batch("zombie", &["beta"], 0, &[(0, 2, 4), (1, 0, 3)]);
    let outcome = store.apply(&mixed).await.unwrap();

    assert!(
        matches!(
            outcome,
            Applied::Rejected {
                partition: 1,
                stored: Some(2),
                claimed: 0,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(store.offsets(TOPIC).await.unwrap().get(&0), Some(&2));
    assert_eq!(store.counts(&View::AllTime).await.unwrap().get("beta"), 0);
}

async fn consecutive_batches_add_up_and_windows_union_into_sliding_views(store: Arc<dyn Store>) {
    store
        .apply(&batch("b1", &["cat dog"], 0, &[(0, 0, 1)]))
        .await
        .unwrap();
    store
        .apply(&batch("b2", &["cat owl"], 60_000, &[(0, 1, 2)]))
        .await
        .unwrap();
    store
        .apply(&batch("b3", &["cat"], 120_000, &[(0, 2, 3)]))
        .await
        .unwrap();

    let all = store.counts(&View::AllTime).await.unwrap();
    assert_eq!((all.get("cat"), all.total()), (3, 5));
    let last_two = store.counts(&View::Windows(vec![120, 60])).await.unwrap();
    assert_eq!(
        (
            last_two.get("cat"),
            last_two.get("owl"),
            last_two.get("dog")
        ),
        (2, 1, 0)
    );
    assert!(
        store
            .counts(&View::Windows(vec![999_960]))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .counts(&View::Windows(vec![]))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.offsets(TOPIC).await.unwrap().get(&0), Some(&3));
}

async fn late_records_count_all_time_and_in_late_records_only(store: Arc<dyn Store>) {
    let tokenizer = Tokenizer::default();
    let mut late = batch("b1", &[], 0, &[(0, 0, 1)]);
    late.counts.add_record(
        &tokenizer,
        "tardy words",
        windows().window_of(0),
        Timeliness::Late,
    );
    store.apply(&late).await.unwrap();

    assert_eq!(store.counts(&View::AllTime).await.unwrap().get("tardy"), 1);
    assert!(
        store
            .counts(&View::Windows(vec![0]))
            .await
            .unwrap()
            .is_empty()
    );
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.late_records, stats.records_processed), (1, 1));
}

async fn non_ascii_words_come_back_as_they_went_in(store: Arc<dyn Store>) {
    store
        .apply(&batch(
            "b1",
            &["Москва café 東京タワー naïve हिन्दी"],
            0,
            &[(2, 7, 8)],
        ))
        .await
        .unwrap();
    let all = store.counts(&View::AllTime).await.unwrap();
    for word in ["москва", "café", "東京タワー", "naïve", "हिन्दी"] {
        assert_eq!(all.get(word), 1, "{word}");
    }
}

async fn a_healthy_store_says_so(store: Arc<dyn Store>) {
    store.check_health().await.unwrap();
}

/// A batch of every `(word, count)` pair, on its own partition range.
fn counted(id: &str, words: &[(&str, u64)], event_ms: i64, partition: i32) -> FencedBatch {
    let texts: Vec<String> = words
        .iter()
        .map(|&(word, count)| vec![word; count as usize].join(" "))
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    batch(id, &texts, event_ms, &[(partition, 0, 1)])
}

async fn the_top_of_a_view_breaks_ties_in_word_order_even_at_the_cut(store: Arc<dyn Store>) {
    let words = [
        ("zebra", 3),
        ("yak", 3),
        ("apple", 3),
        ("mango", 3),
        ("kiwi", 5),
        ("lime", 1),
    ];
    store.apply(&counted("b1", &words, 0, 0)).await.unwrap();
    let top = store
        .top(&View::AllTime, &WordQuery::new(Some(3), 1, None))
        .await
        .unwrap();
    assert_eq!(
        top.words,
        [("kiwi".into(), 5), ("apple".into(), 3), ("mango".into(), 3)]
    );
    assert_eq!((top.total_words, top.unique_words), (18, 6));

    let every = store
        .top(&View::AllTime, &WordQuery::new(None, 3, None))
        .await
        .unwrap();
    let ranked: Vec<&str> = every.words.iter().map(|(word, _)| word.as_str()).collect();
    assert_eq!(ranked, ["kiwi", "apple", "mango", "yak", "zebra"]);
}

async fn the_top_of_a_view_filters_by_min_count_and_search(store: Arc<dyn Store>) {
    let words = [("café", 4), ("cafés", 1), ("decaf", 2), ("tea", 9)];
    store.apply(&counted("b1", &words, 0, 0)).await.unwrap();
    let found = store
        .top(&View::AllTime, &WordQuery::new(Some(10), 2, Some("CAF")))
        .await
        .unwrap();
    assert_eq!(found.words, [("café".into(), 4), ("decaf".into(), 2)]);
    assert_eq!((found.total_words, found.unique_words), (16, 4));
    let none = store
        .top(&View::AllTime, &WordQuery::new(Some(10), 1, Some("%*?[")))
        .await
        .unwrap();
    assert!(none.words.is_empty(), "search text is matched literally");
}

async fn the_top_of_a_sliding_view_adds_up_its_windows(store: Arc<dyn Store>) {
    store
        .apply(&counted("b1", &[("early", 2), ("both", 1)], 0, 0))
        .await
        .unwrap();
    store
        .apply(&counted("b2", &[("late", 1), ("both", 3)], 60_000, 1))
        .await
        .unwrap();
    let view = View::Windows(vec![0, 60, 120]);
    let top = store
        .top(&view, &WordQuery::new(Some(2), 1, None))
        .await
        .unwrap();
    assert_eq!(top.words, [("both".into(), 4), ("early".into(), 2)]);
    assert_eq!((top.total_words, top.unique_words), (7, 3));
    let newest = store
        .top(
            &View::Windows(vec![60]),
            &WordQuery::new(None, 1, Some("l")),
        )
        .await
        .unwrap();
    assert_eq!(newest.words, [("late".into(), 1)]);
    let nothing = store
        .top(&View::Windows(vec![]), &WordQuery::default())
        .await
        .unwrap();
    assert_eq!(nothing, TopWords::default());
}

async fn counts_of_given_words_add_up_over_a_views_windows(store: Arc<dyn Store>) {
    store
        .apply(&counted("b1", &[("alpha", 2), ("beta", 1)], 0, 0))
        .await
        .unwrap();
    store
        .apply(&counted("b2", &[("alpha", 3)], 60_000, 1))
        .await
        .unwrap();
    let words = ["alpha".to_owned(), "gamma".to_owned(), "beta".to_owned()];
    let sliding = store
        .count_words(&View::Windows(vec![0, 60, 120]), &words)
        .await
        .unwrap();
    assert_eq!(sliding, [5, 0, 1]);
    let newest = store
        .count_words(&View::Windows(vec![60]), &words)
        .await
        .unwrap();
    assert_eq!(newest, [3, 0, 0]);
    let all = store.count_words(&View::AllTime, &words).await.unwrap();
    assert_eq!(all, [5, 0, 1]);
    assert!(
        store
            .count_words(&View::AllTime, &[])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn each_applied_batch_is_announced_and_a_rejected_one_is_not(store: Arc<dyn Store>) {
    use futures::StreamExt;
    let mut updates = store.updates().await.unwrap();
    let first = batch("b1", &["hello world"], 60_000, &[(0, 0, 1)]);
    store.apply(&first).await.unwrap();
    assert_eq!(
        store.apply(&first).await.unwrap(),
        Applied::Rejected {
            topic: TOPIC.into(),
            partition: 0,
            stored: Some(1),
            claimed: 0
        }
    );
    store
        .apply(&batch("b2", &["again"], 0, &[(0, 1, 2)]))
        .await
        .unwrap();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), updates.next())
            .await
            .expect("an announcement within 10 s")
            .expect("the announcements go on")
    };
    let update = next().await;
    assert_eq!(
        (
            update.batch_id.as_str(),
            update.records,
            update.total_words,
            update.windows
        ),
        ("b1", 1, 2, vec![60])
    );
    assert_eq!(
        next().await.batch_id,
        "b2",
        "the rejected replay was announced"
    );
}

struct Redis {
    _server: RedisServer,
    store: Arc<RedisStore>,
}

impl Redis {
    async fn start() -> Self {
        let server = RedisServer::start();
        let prefix = TestNames::new("store").redis_prefix;
        let store = Arc::new(RedisStore::connect(server.url(), &prefix).await.unwrap());
        Self {
            _server: server,
            store,
        }
    }
}

/// Runs each check against both adapters, as `redis::<check>` and `memory::<check>`.
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod redis {
            $(#[tokio::test] async fn $check() {
                let redis = super::Redis::start().await;
                super::$check(redis.store.clone()).await;
            })*
        }
        mod memory {
            $(#[tokio::test] async fn $check() {
                super::$check(std::sync::Arc::new(wordfreq_store::MemoryStore::new())).await;
            })*
        }
    };
}

conformance!(
    a_batch_lands_whole_counts_stats_and_offsets,
    a_replayed_batch_is_rejected_and_changes_nothing,
    a_batch_stale_on_one_partition_changes_no_partition,
    consecutive_batches_add_up_and_windows_union_into_sliding_views,
    late_records_count_all_time_and_in_late_records_only,
    non_ascii_words_come_back_as_they_went_in,
    a_healthy_store_says_so,
    the_top_of_a_view_breaks_ties_in_word_order_even_at_the_cut,
    the_top_of_a_view_filters_by_min_count_and_search,
    the_top_of_a_sliding_view_adds_up_its_windows,
    each_applied_batch_is_announced_and_a_rejected_one_is_not,
    counts_of_given_words_add_up_over_a_views_windows,
);

mod redis_only {
    use super::*;

    #[tokio::test]
    async fn of_two_writers_racing_from_the_same_offset_exactly_one_is_applied() {
        let redis = Redis::start().await;
        let racers = (0..8).map(|n| {
            let store = redis.store.clone();
            tokio::spawn(async move {
                store
                    .apply(&batch(&format!("racer{n}"), &["race"], 0, &[(0, 0, 10)]))
                    .await
                    .unwrap()
            })
        });
        let outcomes = futures::future::join_all(racers).await;
        let applied = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Ok(Applied::Applied)))
            .count();
        assert_eq!(applied, 1);
        assert_eq!(
            redis
                .store
                .counts(&View::AllTime)
                .await
                .unwrap()
                .get("race"),
            1
        );
    }

    #[tokio::test]
    async fn window_keys_expire_after_the_retention_and_all_time_counts_never_do() {
        let server = RedisServer::start();
        let prefix = TestNames::new("store").redis_prefix;
        let store = RedisStore::connect(server.url(), &prefix).await.unwrap();
        let client = ::redis::Client::open(server.url()).unwrap();
        let mut short_lived = batch("short", &["fleeting words"], 60_000, &[(0, 0, 1)]);
        short_lived.window_retention_secs = 100;
        store.apply(&short_lived).await.unwrap();

        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let ttl: i64 = ::redis::cmd("TTL")
            .arg(format!("{prefix}win:60"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!((1..=100).contains(&ttl), "ttl {ttl}");
        let total_ttl: i64 = ::redis::cmd("TTL")
            .arg(format!("{prefix}wintotal:60"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!((1..=100).contains(&total_ttl), "total ttl {total_ttl}");
        let all_ttl: i64 = ::redis::cmd("TTL")
            .arg(format!("{prefix}all"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!(all_ttl, -1, "all-time counts never expire");
    }
}

mod memory_only {
    use super::*;
    use wordfreq_store::MemoryStore;

    #[tokio::test]
    async fn a_saved_store_loads_with_its_counts_windows_stats_and_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.json");
        let store = MemoryStore::new();
        store
            .apply(&batch(
                "b1",
                &["café fox fox"],
                60_000,
                &[(0, 0, 4), (2, 0, 1)],
            ))
            .await
            .unwrap();
        store.save(&path).unwrap();

        let loaded = MemoryStore::load(&path).unwrap();
        let all = loaded.counts(&View::AllTime).await.unwrap();
        assert_eq!((all.get("fox"), all.get("café"), all.total()), (2, 1, 3));
        let window = loaded.counts(&View::Windows(vec![60])).await.unwrap();
        assert_eq!(window.total(), 3);
        assert_eq!(
            loaded.offsets(TOPIC).await.unwrap(),
            std::collections::HashMap::from([(0, 4), (2, 1)])
        );
        assert_eq!(loaded.stats().await.unwrap(), store.stats().await.unwrap());
        // It goes on from where it was: the next batch must start at the saved offsets.
        let replay = batch("b1", &["café fox fox"], 60_000, &[(0, 0, 4)]);
        assert!(matches!(
            loaded.apply(&replay).await.unwrap(),
            Applied::Rejected { .. }
        ));
    }

    #[test]
    fn no_saved_file_is_an_empty_store_and_a_foreign_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(MemoryStore::load(&dir.path().join("none.json")).is_ok());
        let foreign = dir.path().join("foreign.json");
        std::fs::write(&foreign, "not json").unwrap();
        let err = MemoryStore::load(&foreign).err().unwrap();
        assert!(err.to_string().contains("is not a saved store"), "{err}");
    }
}
