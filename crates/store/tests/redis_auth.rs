//! A Redis that wants a password: REDIS_PASSWORD (and REDIS_USERNAME for an ACL user) reach the
//! client, the right password opens it, a wrong or missing one is a clear error, and the password
//! shows in no error message and no `Debug` output.

use std::time::Duration;

use clap::Parser;
use futures::StreamExt;
use wordfreq_domain::Batch;
use wordfreq_store::{Applied, FencedBatch, OffsetRange, RedisArgs, RedisStore, Store, View};
use wordfreq_testkit::{EXTERNAL_REDIS, RedisServer, TestNames};

/// Characters that must be percent-encoded in a URL, so the encoding is exercised.
const PASSWORD: &str = "canary:p@ss/w?rd#1 %";

/// Bound on any wait in these tests.
const WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Parser)]
struct Flags {
    #[command(flatten)]
    redis: RedisArgs,
}

fn flags(args: &[&str]) -> RedisArgs {
    Flags::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
        .unwrap()
        .redis
}

/// A plain connection to the kit's server, to configure it.
async fn admin(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// A fresh server whose default user needs `PASSWORD` (what `--requirepass` does at start).
async fn server_with_requirepass() -> RedisServer {
    assert!(
        std::env::var_os(EXTERNAL_REDIS).is_none(),
        "this test sets a password on its server and needs one the test kit owns; unset \
         {EXTERNAL_REDIS}"
    );
    let server = RedisServer::start();
    let mut admin = admin(&server).await;
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg(PASSWORD)
        .query_async(&mut admin)
        .await
        .unwrap();
    server
}

async fn connect(args: &RedisArgs) -> Result<RedisStore, wordfreq_store::StoreError> {
    tokio::time::timeout(WAIT, RedisStore::connect(&args.url(), &args.prefix))
        .await
        .expect("connecting is bounded")
}

fn one_record_batch() -> FencedBatch {
    let mut counts = Batch::new();
    counts.add_record(
        &wordfreq_domain::Tokenizer::default(),
        "guarded words",
        wordfreq_domain::Windows::new(Duration::from_secs(60))
            .unwrap()
            .window_of(60_000),
        wordfreq_domain::Timeliness::OnTime,
    );
    FencedBatch {
        id: "auth".into(),
        ranges: vec![OffsetRange {
            topic: "user_text".into(),
            partition: 0,
            from: 0,
            to: 1,
        }],
        counts,
        flushed_at: "2026-11-24T10:00:00.000Z".into(),
        window_retention_secs: 3600,
    }
}

#[tokio::test]
async fn the_right_password_opens_a_protected_redis_for_commands_and_updates() {
    let server = server_with_requirepass().await;
    let prefix = TestNames::new("auth").redis_prefix;
    let args = flags(&[
        "--redis-url",
        server.url(),
        "--redis-password",
        PASSWORD,
        "--redis-prefix",
        &prefix,
    ]);
    let store = connect(&args).await.expect("the right password works");
    store.check_health().await.unwrap();
    // The updates subscription opens a connection of its own: it must log in too.
    let mut updates = store.updates().await.unwrap();
    assert_eq!(
        store.apply(&one_record_batch()).await.unwrap(),
        Applied::Applied
    );
    let update = tokio::time::timeout(WAIT, updates.next()).await.unwrap();
    assert!(update.is_some(), "the update arrives through the password");
    assert_eq!(
        store.counts(&View::AllTime).await.unwrap().get("guarded"),
        1
    );
}

#[tokio::test]
async fn a_wrong_or_missing_password_is_a_clear_error_that_does_not_repeat_it() {
    let server = server_with_requirepass().await;
    let wrong = flags(&[
        "--redis-url",
        server.url(),
        "--redis-password",
        "canary-wrong-password",
    ]);
    let err = connect(&wrong).await.err().expect("a wrong password fails");
    let message = err.to_string();
    assert!(
        message.contains("WRONGPASS") || message.to_lowercase().contains("auth"),
        "{message}"
    );
    assert!(!message.contains("canary-wrong-password"), "{message}");

    let missing = flags(&["--redis-url", server.url()]);
    let err = connect(&missing).await.err().expect("no password fails");
    assert!(err.to_string().contains("NOAUTH"), "{err}");
}

#[tokio::test]
async fn an_acl_user_logs_in_with_redis_username_and_redis_password() {
    // An ACL user leaves the default user alone, so this also runs on a shared server.
    let server = RedisServer::start();
    let user = TestNames::new("user").group.replace(['{', '}', ':'], "");
    let mut admin = admin(&server).await;
    let () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg("on")
        .arg(format!(">{PASSWORD}"))
        .arg("~*")
        .arg("&*")
        .arg("+@all")
        .query_async(&mut admin)
        .await
        .unwrap();
    let args = flags(&[
        "--redis-url",
        server.url(),
        "--redis-username",
        &user,
        "--redis-password",
        PASSWORD,
    ]);
    let store = connect(&args).await.expect("the ACL user logs in");
    store.check_health().await.unwrap();
    let whoami: String = redis::cmd("ACL")
        .arg("WHOAMI")
        .query_async(
            &mut redis::Client::open(args.url())
                .unwrap()
                .get_multiplexed_async_connection()
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(whoami, user);

    let wrong = flags(&[
        "--redis-url",
        server.url(),
        "--redis-username",
        &user,
        "--redis-password",
        "canary-wrong-password",
    ]);
    let err = connect(&wrong).await.err().expect("a wrong password fails");
    assert!(!err.to_string().contains("canary-wrong-password"), "{err}");
    let _: () = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&user)
        .query_async(&mut admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_password_in_redis_url_still_works_and_redis_password_replaces_it() {
    let server = server_with_requirepass().await;
    // Every byte but letters and digits escaped, by hand, so this does not test the code with
    // itself.
    let encoded: String = PASSWORD
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect();
    let in_url = server
        .url()
        .replacen("redis://", &format!("redis://:{encoded}@"), 1);
    let store = connect(&flags(&["--redis-url", &in_url])).await;
    store
        .expect("the password in the URL works")
        .check_health()
        .await
        .unwrap();

    let stale = server
        .url()
        .replacen("redis://", "redis://:old-password@", 1);
    let replaced = flags(&["--redis-url", &stale, "--redis-password", PASSWORD]);
    connect(&replaced)
        .await
        .expect("REDIS_PASSWORD wins over the URL's")
        .check_health()
        .await
        .unwrap();
}

#[test]
fn the_password_never_shows_in_debug_output_or_the_loggable_url() {
    let args = flags(&[
        "--redis-host",
        "redis.internal",
        "--redis-username",
        "counter",
        "--redis-password",
        PASSWORD,
    ]);
    assert!(args.url().starts_with("redis://counter:"), "{}", args.url());
    let shown = [format!("{args:?}"), args.redacted_url()];
    for text in &shown {
        assert!(!text.contains("canary"), "{text}");
        assert!(text.contains("redis.internal"), "{text}");
    }
    let in_url = flags(&[
        "--redis-url",
        "redis://:canary-in-url@redis.internal:6380/2",
    ]);
    assert_eq!(
        in_url.redacted_url(),
        "redis://:%5Bredacted%5D@redis.internal:6380/2"
    );
    assert!(!format!("{in_url:?}").contains("canary"));
    let socket = flags(&[
        "--redis-url",
        "redis+unix:///run/redis.sock",
        "--redis-password",
        PASSWORD,
    ]);
    assert!(socket.url().contains("pass="), "{}", socket.url());
    assert!(
        !socket.redacted_url().contains("canary"),
        "{}",
        socket.redacted_url()
    );
}
