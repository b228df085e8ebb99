//! End to end, as an operator runs it: `simulate_users load --verify` against (a) the embedded
//! `wordfreq` process and (b) the three service binaries as separate processes on tansu and Redis
//! from the test kit; both must count exactly what was sent. Also the README's two commands, as
//! the code paths they name.
//!
//! The other binaries are this workspace's, found beside `wordfreq`: `cargo test --workspace`
//! (what `scripts/test.sh` runs) builds them all.

mod workspace;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use wordfreq_testkit::{KafkaBroker, RedisServer, TestNames, free_port};

use crate::workspace::{binary, root};

/// Bound on every wait.
const WAIT: Duration = Duration::from_secs(60);

/// A child process, killed when dropped so a failed assertion leaves none behind.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

fn spawn(name: &str, args: &[&str], env: &[(&str, &str)]) -> Process {
    Process(
        Command::new(binary(name))
            .args(args)
            // Only what the test sets: nothing from the environment may point elsewhere.
            .env_remove("KAFKA_BOOTSTRAP_SERVERS")
            .env_remove("REDIS_URL")
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("starting {name}: {err}")),
    )
}

/// Waits (bounded) until `url` answers 200.
async fn wait_until_ok(url: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(response) = reqwest::get(url).await
            && response.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not answer 200 within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `simulate_users load --verify`, small and seeded; its output, asserted successful.
fn load_and_verify(api: &str, dashboard: &str) -> Output {
    let output = Command::new(binary("simulate_users"))
        .args([
            "load",
            "--users",
            "4",
            "--messages",
            "15",
            "--delay-ms",
            "0..20",
            "--seed",
            "11",
            "--verify",
            "--verify-timeout",
            "60s",
            "--api-url",
            api,
            "--dashboard-url",
            dashboard,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "simulate_users failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("match"), "{stdout}");
    assert!(stdout.contains("60 of 60"), "{stdout}");
    eprintln!("{stdout}");
    output
}

#[tokio::test]
async fn simulate_users_load_verify_passes_against_the_embedded_system() {
    let (api, dashboard) = (free_addr(), free_addr());
    let _wordfreq = spawn(
        "wordfreq",
        &["--api-addr", &api, "--dashboard-addr", &dashboard],
        &[],
    );
    let (api, dashboard) = (format!("http://{api}"), format!("http://{dashboard}"));
    wait_until_ok(&format!("{api}/health")).await;
    wait_until_ok(&format!("{dashboard}/api/stats")).await;
    load_and_verify(&api, &dashboard);
}

#[tokio::test]
async fn simulate_users_load_verify_passes_against_the_three_services_on_kafka_and_redis() {
    let broker = KafkaBroker::start();
    let redis = RedisServer::start();
    let names = TestNames::new("e2e");
    // The topics as an operator creates them.
    let init = Command::new(binary("wordfreq"))
        .args(["init-topics", "--kafka-topic", &names.topic])
        .env("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers())
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );

    let (api, dashboard) = (free_addr(), free_addr());
    let kafka = [
        ("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers()),
        ("KAFKA_TOPIC", names.topic.as_str()),
    ];
    let redis_env = [
        ("REDIS_URL", redis.url()),
        ("REDIS_PREFIX", names.redis_prefix.as_str()),
    ];
    let api_url = format!("http://{api}");
    let _api = spawn(
        "producer-api",
        &[],
        &[&kafka[..], &[("API_ADDR", &api)]].concat(),
    );
    let _job = spawn(
        "stream-job",
        &[],
        &[
            &kafka[..],
            &redis_env[..],
            &[
                ("CONSUMER_GROUP", &names.group),
                ("METRICS_ADDR", "127.0.0.1:0"),
            ],
        ]
        .concat(),
    );
    let _dashboard = spawn(
        "dashboard",
        &[],
        &[
            &redis_env[..],
            &[
                ("DASHBOARD_ADDR", &dashboard),
                ("PRODUCER_API_URL", &api_url),
            ],
        ]
        .concat(),
    );
    let dashboard = format!("http://{dashboard}");
    wait_until_ok(&format!("{api_url}/health")).await;
    wait_until_ok(&format!("{dashboard}/api/stats")).await;
    load_and_verify(&api_url, &dashboard);
}

#[test]
fn the_readmes_two_commands_are_the_ones_the_code_runs() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let first_blocks: Vec<&str> = readme
        .split("```sh\n")
        .skip(1)
        .take(2)
        .map(|block| block[..block.find("```").unwrap()].trim())
        .collect();
    assert_eq!(
        first_blocks,
        ["cargo run --release --bin wordfreq", "scripts/test.sh"]
    );
    // The first is the embedded mode, which the other tests start as a process; the second is
    // what CI runs.
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(ci.contains("scripts/test.sh"), "{ci}");
    let syntax = Command::new("bash")
        .args(["-n", root.join("scripts/test.sh").to_str().unwrap()])
        .status()
        .unwrap();
    assert!(syntax.success());
}
