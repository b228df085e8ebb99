//! The flags of the whole system in one process (`wordfreq` with no subcommand): where the log and
//! the store are (in-process unless Kafka and Redis are given), the two addresses, and the
//! services' own settings, each with its environment variable. The Kafka and Redis flags are the
//! services' own structs, TLS, SASL and login included, so `--kafka` and `--redis` reach a secured
//! cluster the same way the three separate binaries do, and each setting is declared once.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use dashboard::DashboardSettings;
use producer_api::ApiSettings;
use stream_job::JobSettings;
use wordfreq_bus::KafkaArgs;
use wordfreq_bus::kafka::SecurityProtocol;
use wordfreq_service_kit::{Given, LogArgs};
use wordfreq_store::RedisArgs;

/// The variable that makes the launcher use Kafka rather than the in-process log.
const KAFKA_GIVEN_BY: &str = "KAFKA_BOOTSTRAP_SERVERS";
/// The variables that make it use Redis rather than the in-process store.
const REDIS_GIVEN_BY: [&str; 2] = ["REDIS_URL", "REDIS_HOST"];
/// Kafka variables the in-process log uses too.
const KAFKA_SHARED: [&str; 2] = [KAFKA_GIVEN_BY, "KAFKA_TOPIC"];
/// Redis variables that would go unused, but mean no harm, without a Redis: only a login given
/// for no Redis is refused (the operator would believe it in use).
const REDIS_LOGIN: [&str; 2] = ["REDIS_USERNAME", "REDIS_PASSWORD"];

/// Runs the producer API, the stream job and the dashboard in this process.
#[derive(Debug, Clone, Args)]
pub struct SystemArgs {
    /// The Kafka to use (`--kafka`, KAFKA_BOOTSTRAP_SERVERS) instead of the in-process log, its
    /// TLS and SASL, and the topic submissions are written to and counted from.
    #[command(flatten)]
    pub kafka: Given<KafkaArgs>,
    /// The Redis to use (`--redis`, REDIS_URL, or REDIS_HOST with REDIS_PORT) instead of the
    /// in-process store, its login and its key prefix.
    #[command(flatten)]
    pub redis: Given<RedisArgs>,
    /// Keep the in-process store's counts in this directory across restarts.
    #[arg(long = "data-dir", env = "DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the producer API.
    #[arg(long = "api-addr", env = "API_ADDR", default_value = "0.0.0.0:8000")]
    pub api_addr: SocketAddr,
    /// Address of the dashboard.
    #[arg(
        long = "dashboard-addr",
        env = "DASHBOARD_ADDR",
        default_value = "0.0.0.0:8501"
    )]
    pub dashboard_addr: SocketAddr,
    /// Serve the stream job's `/metrics` and `/health` here too (off unless set).
    #[arg(long = "metrics-addr", env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Consumer group of the stream job, on Kafka.
    #[arg(long, env = "CONSUMER_GROUP", default_value = "wordfreq-stream-job")]
    pub consumer_group: String,
    #[command(flatten)]
    pub api: ApiSettings,
    #[command(flatten)]
    pub job: JobSettings,
    #[command(flatten)]
    pub dashboard: DashboardSettings,
    #[command(flatten)]
    pub log: LogArgs,
}

impl SystemArgs {
    /// The topic submissions are written to and counted from, on Kafka or in-process.
    pub fn topic(&self) -> &str {
        &self.kafka.value.topic
    }

    /// The Kafka clients' settings, security included, when a Kafka is given.
    pub fn kafka_args(&self) -> Option<&KafkaArgs> {
        self.kafka
            .is_set(KAFKA_GIVEN_BY)
            .then_some(&self.kafka.value)
    }

    /// The Redis to use and how to log in, when one is given: REDIS_URL, else REDIS_HOST with
    /// REDIS_PORT. An empty REDIS_URL counts as unset, as it does for the services.
    pub fn redis_args(&self) -> Option<&RedisArgs> {
        REDIS_GIVEN_BY
            .iter()
            .any(|variable| self.redis.is_set(variable))
            .then_some(&self.redis.value)
    }

    /// Refuses, naming the variable to fix, security settings that cannot work and those that
    /// would be ignored: a password for a Kafka or Redis this process does not use would make the
    /// operator believe it is in use.
    pub fn check(&self) -> Result<(), String> {
        match self.kafka_args() {
            Some(kafka) => kafka.security.check()?,
            None => {
                // Plaintext is the default, so naming it asks for nothing the log would ignore.
                let plaintext = self.kafka.value.security.protocol == SecurityProtocol::Plaintext;
                let ignored = |set: &str| {
                    let shared = KAFKA_SHARED.contains(&set);
                    let default_protocol = set == "KAFKA_SECURITY_PROTOCOL" && plaintext;
                    !shared && !default_protocol
                };
                if let Some(variable) = self.kafka.first_set(ignored) {
                    return Err(format!(
                        "{variable} is set, but no Kafka is given (--kafka or KAFKA_BOOTSTRAP_SERVERS): \
                         the in-process log would ignore it"
                    ));
                }
            }
        }
        if self.redis_args().is_none()
            && let Some(variable) = self.redis.first_set(|set| REDIS_LOGIN.contains(&set))
        {
            return Err(format!(
                "{variable} is set, but no Redis is given (--redis or REDIS_URL, or \
                 REDIS_HOST): the in-process store would ignore it"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use wordfreq_domain::names::INPUT_TOPIC;

    use super::*;

    const SECRET: &str = "hunter2-canary";

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        system: SystemArgs,
    }

    fn parse(args: &[&str]) -> SystemArgs {
        Flags::try_parse_from(std::iter::once("wordfreq").chain(args.iter().copied()))
            .unwrap_or_else(|err| panic!("{args:?}: {err}"))
            .system
    }

    #[test]
    fn with_no_settings_it_runs_on_the_in_process_log_and_store() {
        let args = parse(&[]);
        assert!(args.kafka_args().is_none());
        assert!(args.redis_args().is_none());
        assert_eq!(args.check(), Ok(()));
    }

    #[test]
    fn kafka_tls_and_sasl_reach_the_kafka_clients() {
        let args = parse(&[
            "--kafka",
            "broker:9093",
            "--kafka-security-protocol",
            "sasl_ssl",
            "--kafka-sasl-mechanism",
            "SCRAM-SHA-512",
            "--kafka-sasl-username",
            "counter",
            "--kafka-sasl-password",
            SECRET,
            "--kafka-ssl-ca-location",
            "/etc/kafka/ca.pem",
        ]);
        assert_eq!(args.check(), Ok(()));
        let kafka = args.kafka_args().expect("a Kafka is given");
        // The one constructor every Kafka client of the launcher is built from.
        let config = kafka.client_config("any").unwrap();
        assert_eq!(config.get("bootstrap.servers"), Some("broker:9093"));
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(config.get("sasl.mechanisms"), Some("SCRAM-SHA-512"));
        assert_eq!(config.get("sasl.username"), Some("counter"));
        assert_eq!(config.get("sasl.password"), Some(SECRET));
        assert_eq!(config.get("ssl.ca.location"), Some("/etc/kafka/ca.pem"));
        assert_eq!(kafka.topic, INPUT_TOPIC);
    }

    #[test]
    fn the_redis_login_reaches_the_redis_url_and_is_redacted_from_what_is_shown() {
        let args = parse(&[
            "--redis",
            "redis://127.0.0.1:6380/2",
            "--redis-username",
            "counter",
            "--redis-password",
            SECRET,
            "--redis-prefix",
            "{t}:",
        ]);
        assert_eq!(args.check(), Ok(()));
        let redis = args.redis_args().expect("a Redis is given");
        assert_eq!(
            redis.url(),
            format!("redis://counter:{SECRET}@127.0.0.1:6380/2")
        );
        assert_eq!(redis.prefix, "{t}:");
        assert!(
            !redis.redacted_url().contains(SECRET),
            "{}",
            redis.redacted_url()
        );
        assert!(!format!("{redis:?}").contains(SECRET));

        let by_host = parse(&[
            "--redis-host",
            "cache",
            "--redis-port",
            "6390",
            "--redis-password",
            SECRET,
        ]);
        assert_eq!(
            by_host.redis_args().unwrap().url(),
            format!("redis://:{SECRET}@cache:6390/")
        );
    }

    #[test]
    fn secrets_are_in_no_debug_output() {
        let args = parse(&[
            "--kafka",
            "broker:9093",
            "--kafka-security-protocol",
            "sasl_plaintext",
            "--kafka-sasl-mechanism",
            "PLAIN",
            "--kafka-sasl-username",
            "counter",
            "--kafka-sasl-password",
            SECRET,
            "--redis-host",
            "cache",
            "--redis-password",
            SECRET,
        ]);
        let shown = format!("{args:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("counter"), "{shown}");
    }

    #[test]
    fn settings_for_a_kafka_or_redis_not_in_use_are_refused_naming_the_variable() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--kafka-sasl-password", SECRET],
                "KAFKA_SASL_PASSWORD is set",
            ),
            (
                &["--kafka-security-protocol", "ssl"],
                "KAFKA_SECURITY_PROTOCOL is set",
            ),
            (
                &["--kafka-ssl-ca-location", "/ca.pem"],
                "KAFKA_SSL_CA_LOCATION",
            ),
            (&["--redis-password", SECRET], "REDIS_PASSWORD is set"),
            (&["--redis-username", "counter"], "REDIS_USERNAME is set"),
            // A Kafka is given, but the settings cannot work: the services' own check.
            (
                &[
                    "--kafka",
                    "broker:9093",
                    "--kafka-security-protocol",
                    "sasl_ssl",
                ],
                "needs KAFKA_SASL_MECHANISM",
            ),
        ];
        for (flags, expected) in cases {
            let why = parse(flags).check().unwrap_err();
            assert!(why.contains(expected), "{flags:?}: {why}");
            assert!(!why.contains(SECRET), "{why}");
        }
        // Empty variables (a compose file's `KAFKA_SASL_PASSWORD:`) are unset.
        assert_eq!(
            parse(&["--kafka-sasl-password=", "--redis-password="]).check(),
            Ok(())
        );
    }
}
