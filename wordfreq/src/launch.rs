//! The flags of the whole system in one process (`wordfreq` with no subcommand): where the log and
//! the store are (in-process unless Kafka and Redis are given), the two addresses, and the
//! services' own settings, each with its environment variable. Kafka's TLS and SASL and Redis's
//! login are the services' own flags too, so `--kafka` and `--redis` reach a secured cluster the
//! same way the three separate binaries do.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgMatches, Args, Command, FromArgMatches};
use dashboard::DashboardSettings;
use producer_api::ApiSettings;
use stream_job::JobSettings;
use wordfreq_bus::KafkaArgs;
use wordfreq_bus::kafka::{KafkaSecurity, SecurityProtocol};
use wordfreq_domain::names::{DEFAULT_REDIS_PREFIX, INPUT_TOPIC};
use wordfreq_runtime::LogArgs;
use wordfreq_store::RedisArgs;

/// Runs the producer API, the stream job and the dashboard in this process.
#[derive(Debug, Clone, Args)]
pub struct SystemArgs {
    /// Use this Kafka (comma-separated host:port) instead of the in-process log.
    #[arg(
        long = "kafka",
        env = "KAFKA_BOOTSTRAP_SERVERS",
        value_name = "HOST:PORT"
    )]
    pub kafka: Option<String>,
    /// TLS and SASL of the Kafka clients, with --kafka: the producer API's and the stream job's.
    #[command(flatten)]
    pub kafka_security: KafkaSecurity,
    /// The topic submissions are written to and counted from.
    #[arg(long = "kafka-topic", env = "KAFKA_TOPIC", default_value = INPUT_TOPIC)]
    pub topic: String,
    /// Use this Redis (`redis://host:port/db`) instead of the in-process store.
    #[arg(
        long = "redis",
        env = "REDIS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub redis_url: Option<String>,
    /// Use the Redis on this host (with REDIS_PORT), when REDIS_URL is not set.
    #[arg(long = "redis-host", env = "REDIS_HOST")]
    pub redis_host: Option<String>,
    #[arg(long = "redis-port", env = "REDIS_PORT", default_value_t = 6379)]
    pub redis_port: u16,
    /// Prefix of every Redis key.
    #[arg(long = "redis-prefix", env = "REDIS_PREFIX", default_value = DEFAULT_REDIS_PREFIX)]
    pub redis_prefix: String,
    /// REDIS_USERNAME and REDIS_PASSWORD, with --redis or --redis-host.
    #[command(flatten)]
    pub redis_login: RedisLogin,
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
    /// The Kafka clients' settings, security included, when a Kafka is given.
    pub fn kafka_args(&self) -> Option<KafkaArgs> {
        self.kafka.as_ref().map(|servers| KafkaArgs {
            bootstrap_servers: servers.clone(),
            topic: self.topic.clone(),
            security: self.kafka_security.clone(),
        })
    }

    /// The Redis to use and how to log in, when one is given: REDIS_URL, else REDIS_HOST with
    /// REDIS_PORT. An empty REDIS_URL counts as unset, as it does for the services.
    pub fn redis_args(&self) -> Option<RedisArgs> {
        let url = self.redis_url.clone().filter(|url| !url.is_empty());
        if url.is_none() && self.redis_host.is_none() {
            return None;
        }
        Some(RedisArgs {
            url,
            // Unused when the URL is given (RedisArgs prefers it), as in the services.
            host: self
                .redis_host
                .clone()
                .unwrap_or_else(|| "localhost".into()),
            port: self.redis_port,
            username: self.redis_login.username.clone(),
            password: self.redis_login.password.clone(),
            prefix: self.redis_prefix.clone(),
        })
    }

    /// Refuses, naming the variable to fix, security settings that cannot work and those that
    /// would be ignored: a password for a Kafka or Redis this process does not use would make the
    /// operator believe it is in use.
    pub fn check(&self) -> Result<(), String> {
        if self.kafka.is_some() {
            self.kafka_security.check()?;
        } else if let Some(variable) = kafka_security_given(&self.kafka_security) {
            return Err(format!(
                "{variable} is set, but no Kafka is given (--kafka or KAFKA_BOOTSTRAP_SERVERS): \
                 the in-process log would ignore it"
            ));
        }
        if self.redis_args().is_none()
            && let Some(variable) = self.redis_login.given()
        {
            return Err(format!(
                "{variable} is set, but no Redis is given (--redis or REDIS_URL, or \
                 REDIS_HOST): the in-process store would ignore it"
            ));
        }
        Ok(())
    }
}

/// The first Kafka security variable set to something other than its default, if any. An empty
/// variable counts as unset (compose files often set one to nothing).
fn kafka_security_given(security: &KafkaSecurity) -> Option<&'static str> {
    let text = |value: &Option<String>| value.as_deref().is_some_and(|text| !text.is_empty());
    let path = |value: &Option<PathBuf>| {
        value
            .as_ref()
            .is_some_and(|path| !path.as_os_str().is_empty())
    };
    [
        (
            "KAFKA_SECURITY_PROTOCOL",
            security.protocol != SecurityProtocol::Plaintext,
        ),
        ("KAFKA_SASL_MECHANISM", security.sasl_mechanism.is_some()),
        ("KAFKA_SASL_USERNAME", text(&security.sasl_username)),
        ("KAFKA_SASL_PASSWORD", text(&security.sasl_password)),
        ("KAFKA_SSL_CA_LOCATION", path(&security.ssl_ca_location)),
        (
            "KAFKA_SSL_CERTIFICATE_LOCATION",
            path(&security.ssl_certificate_location),
        ),
        ("KAFKA_SSL_KEY_LOCATION", path(&security.ssl_key_location)),
        ("KAFKA_SSL_KEY_PASSWORD", text(&security.ssl_key_password)),
    ]
    .into_iter()
    .find_map(|(variable, given)| given.then_some(variable))
}

/// REDIS_USERNAME and REDIS_PASSWORD, exactly as the services read them: the two flags are taken
/// from [`RedisArgs`] itself, so their names, variables, help and hidden values cannot drift.
/// `RedisArgs` as a whole cannot be flattened here: its REDIS_HOST defaults to `localhost`, and
/// here an unset REDIS_HOST means the in-process store.
#[derive(Clone, Default)]
pub struct RedisLogin {
    pub username: Option<String>,
    pub password: Option<String>,
}

/// The two flags: their ids in `RedisArgs` (its field names) and here, where ids must not clash
/// with the other flattened settings'.
const USERNAME: (&str, &str) = ("username", "redis_username");
const PASSWORD: (&str, &str) = ("password", "redis_password");

impl RedisLogin {
    /// The first of the two variables that is set (and not empty), if any.
    fn given(&self) -> Option<&'static str> {
        let set = |value: &Option<String>| value.as_deref().is_some_and(|text| !text.is_empty());
        if set(&self.username) {
            Some("REDIS_USERNAME")
        } else if set(&self.password) {
            Some("REDIS_PASSWORD")
        } else {
            None
        }
    }
}

impl fmt::Debug for RedisLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLogin")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Args for RedisLogin {
    fn augment_args(command: Command) -> Command {
        let services = RedisArgs::augment_args(Command::new("redis"));
        [USERNAME, PASSWORD]
            .into_iter()
            .fold(command, |command, (theirs, ours)| {
                let arg = services
                    .get_arguments()
                    .find(|arg| arg.get_id() == theirs)
                    .unwrap_or_else(|| panic!("RedisArgs has no `{theirs}` flag"))
                    .clone()
                    .id(ours);
                command.arg(arg)
            })
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl FromArgMatches for RedisLogin {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut login = Self::default();
        login.update_from_arg_matches(matches)?;
        Ok(login)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        let value = |id: &str| matches.get_one::<String>(id).cloned();
        self.username = value(USERNAME.1).or(self.username.take());
        self.password = value(PASSWORD.1).or(self.password.take());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

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
    fn the_login_flags_are_the_services_own() {
        let ours = Flags::command();
        let services = RedisArgs::augment_args(Command::new("redis"));
        for (theirs, id) in [USERNAME, PASSWORD] {
            let find = |command: &Command, id: &str| {
                command
                    .get_arguments()
                    .find(|arg| arg.get_id() == id)
                    .cloned()
                    .unwrap_or_else(|| panic!("no flag {id}"))
            };
            let (ours, theirs) = (find(&ours, id), find(&services, theirs));
            assert_eq!(ours.get_long(), theirs.get_long());
            assert_eq!(ours.get_env(), theirs.get_env());
            assert_eq!(
                ours.is_hide_env_values_set(),
                theirs.is_hide_env_values_set()
            );
        }
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
