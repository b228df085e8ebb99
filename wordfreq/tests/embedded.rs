//! `wordfreq` with no subcommand, as a newcomer runs it: the whole system in one process on the
//! in-process log and store, started as a process, probed over HTTP, stopped with SIGTERM; its
//! counts kept across restarts with --data-dir; clear errors for a busy port or an unreachable
//! service; and the same process on real Kafka and Redis from the test kit, a Redis that wants a
//! password included, with no secret in anything it prints.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use wordfreq_testkit::{EXTERNAL_REDIS, KafkaBroker, RedisServer, TestNames, free_port};

/// Bound on every wait.
const WAIT: Duration = Duration::from_secs(30);
/// Any free port for each service.
const FREE_PORTS: &[&str] = &[
    "--api-addr",
    "127.0.0.1:0",
    "--dashboard-addr",
    "127.0.0.1:0",
];

/// A running `wordfreq`, killed when dropped so a failed assertion leaves none behind.
struct Running {
    child: Child,
    api: String,
    dashboard: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wordfreq"));
    command
        .args(args)
        // The pinned variables switch to real services, and their security settings are
        // refused without them: none may leak in from the environment.
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .env_remove("REDIS_URL")
        .env_remove("REDIS_HOST")
        .env_remove("REDIS_USERNAME")
        .env_remove("REDIS_PASSWORD")
        .env_remove("KAFKA_SECURITY_PROTOCOL")
        .env_remove("KAFKA_SASL_MECHANISM")
        .env_remove("KAFKA_SASL_USERNAME")
        .env_remove("KAFKA_SASL_PASSWORD")
        .env_remove("KAFKA_SSL_CA_LOCATION")
        .env_remove("KAFKA_SSL_CERTIFICATE_LOCATION")
        .env_remove("KAFKA_SSL_KEY_LOCATION")
        .env_remove("KAFKA_SSL_KEY_PASSWORD")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Starts `wordfreq` on free ports and waits (bounded) for the two URLs it prints.
fn start(args: &[&str]) -> Running {
    start_with(args, &[])
}

/// [`start`], with these environment variables.
fn start_with(args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut child = command(&[FREE_PORTS, args].concat())
        .envs(env.iter().copied())
        .spawn()
        .expect("running wordfreq");
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let url_after = |line: &str, label: &str| {
        line.trim()
            .strip_prefix(label)
            .map(|rest| rest.split_whitespace().next().unwrap().to_owned())
    };
    let (mut api, mut dashboard) = (None, None);
    let deadline = Instant::now() + WAIT;
    while api.is_none() || dashboard.is_none() {
        let line = received
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("wordfreq printed its URLs in time");
        api = api.or_else(|| url_after(&line, "producer API"));
        dashboard = dashboard.or_else(|| url_after(&line, "dashboard"));
    }
    Running {
        child,
        api: api.unwrap(),
        dashboard: dashboard.unwrap(),
    }
}

async fn submit(running: &Running, text: &str) {
    let response = reqwest::Client::new()
        .post(format!("{}/submit_text", running.api))
        .json(&json!({"text": text, "user_id": "tester"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn words(running: &Running) -> Value {
    reqwest::get(format!(
        "{}/api/words?window=all&limit=0",
        running.dashboard
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

/// Waits (bounded) until the dashboard shows `total` words.
async fn wait_for_total(running: &Running, total: u64) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let words = words(running).await;
        if words["total_words"] == total {
            return words;
        }
        assert!(
            Instant::now() < deadline,
            "total never reached {total}: {words}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGTERM, then the exit status, waited for (bounded).
fn stop(mut running: Running) -> std::process::ExitStatus {
    kill(Pid::from_raw(running.child.id() as i32), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = running.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "wordfreq did not stop within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn count_of(words: &Value, word: &str) -> u64 {
    words["words"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["word"] == word)
        .map_or(0, |entry| entry["count"].as_u64().unwrap())
}

#[tokio::test]
async fn with_no_arguments_it_serves_both_urls_counts_what_is_submitted_and_stops_cleanly() {
    let started = Instant::now();
    let running = start(&[]);
    eprintln!("URLs printed after {:?}", started.elapsed());
    let health = reqwest::get(format!("{}/health", running.api))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let page = reqwest::get(&running.dashboard)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Real-Time Word Frequency Dashboard"));

    submit(&running, "The quick brown fox jumps over the lazy dog").await;
    submit(&running, "the fox again").await;
    let words = wait_for_total(&running, 12).await;
    assert_eq!(count_of(&words, "fox"), 2);
    assert_eq!(count_of(&words, "the"), 3);

    let status = stop(running);
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn with_a_data_dir_the_counts_survive_a_restart_and_go_on_from_there() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let first = start(&["--data-dir", data_dir]);
    submit(&first, "persistent words persist").await;
    wait_for_total(&first, 3).await;
    // Accepted just before the stop: counted before the process ends, not lost with the log.
    submit(&first, "last words").await;
    assert!(stop(first).success());

    let second = start(&["--data-dir", data_dir]);
    let words = wait_for_total(&second, 5).await;
    assert_eq!(count_of(&words, "persistent"), 1);
    assert_eq!(count_of(&words, "last"), 1);
    submit(&second, "persistent again").await;
    let words = wait_for_total(&second, 7).await;
    assert_eq!(count_of(&words, "persistent"), 2);
    assert!(stop(second).success());
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = command(&["--api-addr", &addr, "--dashboard-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("using the port"), "{stderr}");
}

#[test]
fn an_unreachable_redis_or_kafka_is_a_clear_error_within_seconds() {
    let closed = free_port();
    let started = Instant::now();
    let redis = format!("redis://127.0.0.1:{closed}/");
    let output = command(&[FREE_PORTS, &["--redis", &redis]].concat())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Redis at redis://127.0.0.1"), "{stderr}");
    assert!(stderr.contains("does not answer"), "{stderr}");

    let kafka = format!("127.0.0.1:{closed}");
    let output = command(&[FREE_PORTS, &["--kafka", &kafka]].concat())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("Kafka at 127.0.0.1:{closed} does not answer")),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// A password no output may contain.
const SECRET: &str = "hunter2-canary";

/// Runs `wordfreq` to its (failed) end at trace level; what it printed, checked for secrets.
fn failed_run(args: &[&str], env: &[(&str, &str)]) -> String {
    let output = command(&[FREE_PORTS, args].concat())
        .env("RUST_LOG", "trace")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "{printed}");
    assert!(
        !printed.contains(SECRET),
        "a secret in the output: {printed}"
    );
    printed
}

#[tokio::test]
async fn a_redis_that_wants_a_password_is_used_with_redis_password_and_refused_without() {
    assert!(
        std::env::var_os(EXTERNAL_REDIS).is_none(),
        "this test sets a password on its server and needs one the test kit owns; unset \
         {EXTERNAL_REDIS}"
    );
    let redis = RedisServer::start();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg(SECRET)
        .query_async(&mut admin)
        .await
        .unwrap();
    let names = TestNames::new("embedded-auth");
    let args = [
        "--redis",
        redis.url(),
        "--redis-prefix",
        &names.redis_prefix,
    ];

    let without = failed_run(&args, &[]);
    assert!(without.contains("Redis at redis://127.0.0.1"), "{without}");
    assert!(without.contains("NOAUTH"), "{without}");
    let wrong = failed_run(&args, &[("REDIS_PASSWORD", "not-the-password")]);
    assert!(wrong.contains("Password authentication failed"), "{wrong}");
    // The right password in the URL is redacted from the message as well.
    let in_url = redis
        .url()
        .replacen("redis://", &format!("redis://:{SECRET}@"), 1);
    let closed = format!("redis://:{SECRET}@127.0.0.1:{}/", free_port());
    let unreachable = failed_run(&["--redis", &closed], &[]);
    assert!(unreachable.contains("does not answer"), "{unreachable}");

    let running = start_with(&args, &[("REDIS_PASSWORD", SECRET)]);
    submit(&running, "guarded words counted").await;
    wait_for_total(&running, 3).await;
    assert!(stop(running).success());
    let running = start(&["--redis", &in_url, "--redis-prefix", &names.redis_prefix]);
    wait_for_total(&running, 3).await;
    assert!(stop(running).success());
}

#[test]
fn kafka_security_settings_are_used_or_refused_and_never_printed() {
    let kafka = format!("127.0.0.1:{}", free_port());
    let sasl = [
        ("KAFKA_SECURITY_PROTOCOL", "sasl_plaintext"),
        ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
        ("KAFKA_SASL_USERNAME", "counter"),
        ("KAFKA_SASL_PASSWORD", SECRET),
    ];
    // Accepted and handed to the clients, which then find no broker.
    let unreachable = failed_run(&["--kafka", &kafka], &sasl);
    assert!(
        unreachable.contains(&format!("Kafka at {kafka} does not answer")),
        "{unreachable}"
    );
    // A combination that cannot work stops it at start, naming the variable.
    let incomplete = failed_run(&["--kafka", &kafka], &sasl[..1]);
    assert!(
        incomplete.contains("needs KAFKA_SASL_MECHANISM"),
        "{incomplete}"
    );
    // A password with no Kafka to send it to would be silently ignored: refused instead.
    let unused = failed_run(&[], &sasl[3..]);
    assert!(
        unused.contains("KAFKA_SASL_PASSWORD is set, but no Kafka is given"),
        "{unused}"
    );
    let unused = failed_run(&[], &[("REDIS_PASSWORD", SECRET)]);
    assert!(
        unused.contains("REDIS_PASSWORD is set, but no Redis is given"),
        "{unused}"
    );
}

#[tokio::test]
async fn with_kafka_and_redis_it_is_the_same_system_on_real_services() {
    let broker = KafkaBroker::start();
    let redis = RedisServer::start();
    let names = TestNames::new("embedded");
    broker.create_topic(&names.topic, 3).await;
    for side in ["user_text.dlq", "word_counts"] {
        broker.create_topic(side, 1).await;
    }
    let running = start(&[
        "--kafka",
        broker.bootstrap_servers(),
        "--kafka-topic",
        &names.topic,
        "--redis",
        redis.url(),
        "--redis-prefix",
        &names.redis_prefix,
        "--consumer-group",
        &names.group,
    ]);
    submit(&running, "real services count real words").await;
    let words = wait_for_total(&running, 5).await;
    assert_eq!(count_of(&words, "real"), 2);
    // The counts are in Redis, under the prefix, where the separate services would put them.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let stored: Option<f64> = redis::cmd("ZSCORE")
        .arg(format!("{}all", names.redis_prefix))
        .arg("real")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(stored, Some(2.0));
    assert!(stop(running).success());
}

#[tokio::test]
async fn kafka_init_creates_the_topics_once_and_is_idempotent() {
    let broker = KafkaBroker::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/kafka-init.sh");
    // The script runs the `wordfreq` on PATH: this build's.
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_wordfreq"))
        .parent()
        .unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let run = || {
        let output = Command::new("bash")
            .arg(script)
            .env("PATH", &path)
            .env("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(
        run(),
        "user_text: created\nuser_text.dlq: created\nword_counts: created\n"
    );
    assert_eq!(
        run(),
        "user_text: exists\nuser_text.dlq: exists\nword_counts: exists\n"
    );
    let consumer: rdkafka::consumer::BaseConsumer = broker.client_config().create().unwrap();
    let metadata = rdkafka::consumer::Consumer::fetch_metadata(
        &consumer,
        Some("user_text"),
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(metadata.topics()[0].partitions().len(), 3);
}
