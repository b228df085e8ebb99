//! The Redis password never reaches the dashboard's output: not when Redis cannot be reached at
//! start (the error names where it tried), not when Redis refuses it, not in `--help`.

use std::process::{Command, Output};

use wordfreq_testkit::{RedisServer, free_port};

use crate::helpers::WAIT;

const CANARY: &str = "canary-redis-password-91c2";

/// Runs the `dashboard` binary to its exit (it exits when Redis does not let it in), bounded.
async fn run(configure: impl FnOnce(&mut Command) + Send + 'static) -> Output {
    let output = tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dashboard"));
        command
            .env("DASHBOARD_ADDR", format!("127.0.0.1:{}", free_port()))
            .env("RUST_LOG", "trace")
            .env_remove("REDIS_URL")
            .env_remove("REDIS_PASSWORD");
        configure(&mut command);
        command.output().unwrap()
    });
    tokio::time::timeout(WAIT, output)
        .await
        .expect("the dashboard gives up on Redis within the bound")
        .unwrap()
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn an_unreachable_redis_is_reported_without_the_password_in_its_url() {
    let closed = free_port();
    let output = run(move |command| {
        command.env(
            "REDIS_URL",
            format!("redis://:{CANARY}@127.0.0.1:{closed}/"),
        );
    })
    .await;
    assert!(!output.status.success());
    let text = printed(&output);
    // Where it tried is REDIS_URL's address, not REDIS_HOST's default.
    assert!(
        text.contains("connecting to Redis at redis://")
            && text.contains(&format!("@127.0.0.1:{closed}/")),
        "{text}"
    );
    assert!(!text.contains(CANARY), "{text}");
}

#[tokio::test]
async fn a_wrong_redis_password_is_reported_without_the_password() {
    let server = RedisServer::start();
    let mut admin = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // An ACL user, so the server's default user (and a shared server) is left alone.
    let user = format!("dashboard{}", free_port());
    let () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg("on")
        .arg(">the-right-one")
        .arg("~*")
        .arg("+@all")
        .query_async(&mut admin)
        .await
        .unwrap();
    let url = server.url().to_owned();
    let name = user.clone();
    let output = run(move |command| {
        command
            .env("REDIS_URL", url)
            .env("REDIS_USERNAME", name)
            .env("REDIS_PASSWORD", CANARY);
    })
    .await;
    assert!(!output.status.success());
    let text = printed(&output);
    assert!(
        text.contains("WRONGPASS") || text.to_lowercase().contains("auth"),
        "{text}"
    );
    assert!(!text.contains(CANARY), "{text}");
    let () = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&user)
        .query_async(&mut admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn help_shows_the_redis_variables_but_not_their_secret_values() {
    let output = run(|command| {
        command
            .arg("--help")
            .env("REDIS_URL", format!("redis://:{CANARY}@redis:6379/"))
            .env("REDIS_PASSWORD", CANARY);
    })
    .await;
    let help = printed(&output);
    assert!(
        help.contains("REDIS_PASSWORD") && help.contains("REDIS_USERNAME"),
        "{help}"
    );
    assert!(!help.contains(CANARY), "{help}");
}
