//! The `wordfreq` binary as a user runs it: stdin in, stdout out, exit codes and messages.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn wordfreq(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wordfreq"))
        .args(args)
        .env_remove("MIN_WORD_LENGTH")
        .env_remove("STOPWORDS")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running wordfreq");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> &str {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::str::from_utf8(&output.stdout).unwrap()
}

#[test]
fn tokenize_writes_the_tokens_of_each_line() {
    let output = wordfreq(
        &["tokenize"],
        &[],
        "Don't PANIC!\nCafé naïve Москва\n".as_bytes(),
    );
    assert_eq!(stdout(&output), "dont panic\ncafé naïve москва\n");
}

#[test]
fn count_writes_word_tab_count_most_frequent_first() {
    let output = wordfreq(&["count"], &[], b"the cat the hat the end cat");
    assert_eq!(stdout(&output), "the\t3\ncat\t2\nend\t1\nhat\t1\n");
}

#[test]
fn the_min_word_length_and_stopwords_come_from_the_environment_or_flags() {
    let from_env = wordfreq(
        &["count"],
        &[("MIN_WORD_LENGTH", "2"), ("STOPWORDS", "the,Hat")],
        b"to the hat go",
    );
    assert_eq!(stdout(&from_env), "go\t1\nto\t1\n");
    let from_flags = wordfreq(
        &["tokenize", "--min-word-length", "4", "--stopwords", "over"],
        &[],
        b"jumps over the lazy dog",
    );
    assert_eq!(stdout(&from_flags), "jumps lazy\n");
}

#[test]
fn invalid_utf8_fails_with_the_byte_offset() {
    let output = wordfreq(&["count"], &[], b"fine words \xc3\x28 here");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not valid UTF-8 at byte 11"), "{stderr}");
}

#[test]
fn help_lists_the_subcommands_and_the_flags_of_the_whole_system() {
    let output = wordfreq(&["--help"], &[], b"");
    let help = stdout(&output);
    for expected in [
        "tokenize",
        "count",
        "--kafka",
        "--redis",
        "--data-dir",
        "--api-addr",
    ] {
        assert!(help.contains(expected), "{expected} missing from {help}");
    }
}

#[test]
fn help_lists_the_kafka_and_redis_security_settings_but_not_their_secrets() {
    let secret = "hunter2-canary";
    let url = format!("redis://:{secret}@cache:6379/");
    let output = wordfreq(
        &["--help"],
        &[
            ("KAFKA_SASL_PASSWORD", secret),
            ("KAFKA_SSL_KEY_PASSWORD", secret),
            ("REDIS_PASSWORD", secret),
            ("REDIS_URL", &url),
        ],
        b"",
    );
    let help = stdout(&output);
    for variable in [
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISM",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
        "KAFKA_SSL_CA_LOCATION",
        "KAFKA_SSL_CERTIFICATE_LOCATION",
        "KAFKA_SSL_KEY_LOCATION",
        "KAFKA_SSL_KEY_PASSWORD",
        "REDIS_USERNAME",
        "REDIS_PASSWORD",
    ] {
        assert!(
            help.contains(&format!("[env: {variable}")),
            "{variable} missing from {help}"
        );
    }
    assert!(!help.contains(secret), "{help}");
}
