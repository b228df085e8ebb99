//! [`RedisStore`]: each batch is applied by one Lua script (`apply_batch.lua`) that checks every
//! partition's offset before it changes anything; a ranked top is read by another
//! (`read_top.lua`); announcements go through the updates channel.

use std::collections::HashMap;
use std::time::Duration;

use std::future::ready;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script, Value};
use wordfreq_domain::{TopWords, WordCounts, WordQuery};

use super::error::{protocol, unavailable};
use super::memory_status;
use crate::contract::{Applied, FencedBatch, Stats, Store, StoreError, Update, View};
use crate::eviction::MemoryStatus;
use crate::keys::{RedisKeys, stats};

/// How long one Redis command may take before the store reports itself unavailable.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Counts in Redis.
#[derive(Clone)]
pub struct RedisStore {
    /// For the updates subscription, which needs a connection of its own.
    client: redis::Client,
    connection: ConnectionManager,
    keys: RedisKeys,
    apply: Script,
    read_top: Script,
}

impl RedisStore {
    /// Connects to `url`; fails when Redis does not answer. The connection then reconnects by
    /// itself after Redis restarts.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(RESPONSE_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let mut connection = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(unavailable)?;
        // Redis accepts a connection without credentials and refuses only its commands (NOAUTH):
        // one PING makes a missing password an error now, not at the first batch.
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(Self {
            client,
            connection,
            keys: RedisKeys::new(prefix),
            apply: Script::new(include_str!("apply_batch.lua")),
            read_top: Script::new(include_str!("read_top.lua")),
        })
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn apply(&self, batch: &FencedBatch) -> Result<Applied, StoreError> {
        let counts = &batch.counts;
        let update =
            serde_json::to_string(&Update::of(batch)).expect("an update always serializes");
        let mut invocation = self.apply.prepare_invoke();
        invocation
            .key(self.keys.offsets())
            .key(self.keys.all_time())
            .key(self.keys.stats());
        for window in counts.windows().keys() {
            invocation
                .key(self.keys.window(window.start_secs()))
                .key(self.keys.window_total(window.start_secs()));
        }
        invocation
            .arg(self.keys.updates())
            .arg(update)
            .arg(batch.window_retention_secs)
            .arg(&batch.flushed_at)
            .arg(counts.total_words())
            .arg(counts.records())
            .arg(counts.invalid_records())
            .arg(counts.late_records())
            .arg(batch.ranges.len());
        for range in &batch.ranges {
            invocation
                .arg(RedisKeys::offset_field(&range.topic, range.partition))
                .arg(range.from)
                .arg(range.to);
        }
        let all_time = counts.all_time();
        invocation.arg(all_time.unique());
        for (word, count) in all_time.iter() {
            invocation.arg(word).arg(count);
        }
        for window_counts in counts.windows().values() {
            invocation
                .arg(window_counts.total())
                .arg(window_counts.unique());
            for (word, count) in window_counts.iter() {
                invocation.arg(word).arg(count);
            }
        }
        // `invoke_async` sends EVALSHA and loads the script only when Redis does not know it.
        let reply: Vec<Value> = invocation
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        match reply.as_slice() {
            [Value::Int(1)] => Ok(Applied::Applied),
            [Value::Int(0), field, stored] => {
                let field: String = redis::from_redis_value_ref(field).map_err(protocol)?;
                let stored: i64 = redis::from_redis_value_ref(stored).map_err(protocol)?;
                let range = batch
                    .ranges
                    .iter()
                    .find(|range| RedisKeys::offset_field(&range.topic, range.partition) == field)
                    .ok_or_else(|| {
                        StoreError::Protocol(format!("rejected unknown range {field}"))
                    })?;
                Ok(Applied::Rejected {
                    topic: range.topic.clone(),
                    partition: range.partition,
                    stored: Some(stored),
                    claimed: range.from,
                })
            }
            other => Err(StoreError::Protocol(format!(
                "apply script answered {other:?}"
            ))),
        }
    }

    async fn offsets(&self, topic: &str) -> Result<HashMap<i32, i64>, StoreError> {
        let all: HashMap<String, i64> = self
            .connection
            .clone()
            .hgetall(self.keys.offsets())
            .await
            .map_err(unavailable)?;
        Ok(all
            .into_iter()
            .filter_map(|(field, offset)| Some((RedisKeys::partition_of(&field, topic)?, offset)))
            .collect())
    }

    async fn counts(&self, view: &View) -> Result<WordCounts, StoreError> {
        let mut connection = self.connection.clone();
        let members: Vec<(String, f64)> = match view {
            View::AllTime => connection
                .zrange_withscores(self.keys.all_time(), 0, -1)
                .await
                .map_err(unavailable)?,
            View::Windows(starts) if starts.is_empty() => Vec::new(),
            View::Windows(starts) => {
                let keys: Vec<String> = starts
                    .iter()
                    .map(|start| self.keys.window(*start))
                    .collect();
                redis::cmd("ZUNION")
                    .arg(keys.len())
                    .arg(&keys)
                    .arg("WITHSCORES")
                    .query_async(&mut connection)
                    .await
                    .map_err(unavailable)?
            }
        };
        let mut counts = WordCounts::new();
        for (word, score) in members {
            // Scores are exact integers below 2^53; counts never come near that.
            counts.add(&word, score as u64);
        }
        Ok(counts)
    }

    async fn top(&self, view: &View, query: &WordQuery) -> Result<TopWords, StoreError> {
        let mut invocation = self.read_top.prepare_invoke();
        match view {
            View::AllTime => invocation.key(self.keys.all_time()).key(self.keys.stats()),
            View::Windows(starts) if starts.is_empty() => return Ok(TopWords::default()),
            // One window is read in place; more are added up in the scratch key first.
            View::Windows(starts) => {
                match starts.as_slice() {
                    [start] => invocation.key(self.keys.window(*start)),
                    _ => invocation.key(self.keys.scratch()),
                };
                invocation.key(self.keys.stats());
                for start in starts {
                    invocation
                        .key(self.keys.window(*start))
                        .key(self.keys.window_total(*start));
                }
                &mut invocation
            }
        };
        invocation
            .arg(query.limit.unwrap_or(0))
            .arg(query.min_count)
            .arg(query.contains().unwrap_or(""));
        let reply: Vec<Value> = invocation
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        let [total, unique, words @ ..] = reply.as_slice() else {
            return Err(StoreError::Protocol(format!(
                "read script answered {reply:?}"
            )));
        };
        let number = |value: &Value| redis::from_redis_value_ref::<u64>(value).map_err(protocol);
        let candidates = words
            .chunks_exact(2)
            .map(|pair| {
                let word: String = redis::from_redis_value_ref(&pair[0]).map_err(protocol)?;
                Ok((word, number(&pair[1])?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(TopWords::ranked(
            candidates,
            query.limit,
            number(total)?,
            number(unique)?,
        ))
    }

    async fn count_words(&self, view: &View, words: &[String]) -> Result<Vec<u64>, StoreError> {
        let keys = match view {
            View::AllTime => vec![self.keys.all_time()],
            View::Windows(starts) => starts
                .iter()
                .map(|start| self.keys.window(*start))
                .collect(),
        };
        if words.is_empty() || keys.is_empty() {
            return Ok(vec![0; words.len()]);
        }
        // One ZMSCORE per key, pipelined: a lookup per word, whatever the size of the view.
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.cmd("ZMSCORE").arg(key).arg(words);
        }
        let per_key: Vec<Vec<Option<f64>>> = pipe
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        let mut totals = vec![0; words.len()];
        for scores in per_key {
            for (total, score) in totals.iter_mut().zip(scores) {
                *total += score.unwrap_or(0.0) as u64;
            }
        }
        Ok(totals)
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        let fields: HashMap<String, String> = self
            .connection
            .clone()
            .hgetall(self.keys.stats())
            .await
            .map_err(unavailable)?;
        let number = |name: &str| {
            fields
                .get(name)
                .and_then(|value| value.parse().ok())
                .unwrap_or(0)
        };
        Ok(Stats {
            total_words: number(stats::TOTAL_WORDS),
            records_processed: number(stats::RECORDS_PROCESSED),
            invalid_records: number(stats::INVALID_RECORDS),
            late_records: number(stats::LATE_RECORDS),
            batches: number(stats::BATCHES),
            last_updated: fields.get(stats::LAST_UPDATED).cloned(),
        })
    }

    async fn check_health(&self) -> Result<(), StoreError> {
        let pong: String = redis::cmd("PING")
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Protocol(format!("PING answered {pong}")))
        }
    }

    async fn memory(&self) -> Result<MemoryStatus, StoreError> {
        memory_status::read(self.connection.clone()).await
    }

    async fn updates(&self) -> Result<BoxStream<'static, Update>, StoreError> {
        let subscribe = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(self.keys.updates()).await?;
            Ok(pubsub)
        };
        let pubsub = tokio::time::timeout(RESPONSE_TIMEOUT, subscribe)
            .await
            .map_err(|_| StoreError::Unavailable("subscribing timed out".into()))?
            .map_err(unavailable)?;
        Ok(pubsub
            .into_on_message()
            .filter_map(|message| {
                let update = serde_json::from_slice::<Update>(message.get_payload_bytes());
                if let Err(err) = &update {
                    tracing::warn!(%err, "ignoring an update announcement this code cannot read");
                }
                ready(update.ok())
            })
            .boxed())
    }
}
