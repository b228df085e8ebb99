//! How the Kafka clients authenticate and encrypt: plaintext (the default, as the original), TLS,
//! SASL, or SASL over TLS. One [`KafkaSecurity::apply`] sets them on every client the bus builds
//! (producer, consumer, admin), so no client can be left on plaintext by mistake.
//!
//! Secrets (the SASL password, the TLS key's password) never leave through `Debug` or an error
//! message: librdkafka's own config errors quote the value they refused, so those are rewritten by
//! [`describe`] before they reach a log.

use std::fmt;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use rdkafka::ClientConfig;
use rdkafka::error::KafkaError;

use crate::contract::BusError;

/// Kafka's `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SecurityProtocol {
    #[default]
    #[value(name = "plaintext")]
    Plaintext,
    #[value(name = "ssl")]
    Ssl,
    #[value(name = "sasl_plaintext")]
    SaslPlaintext,
    #[value(name = "sasl_ssl")]
    SaslSsl,
}

impl SecurityProtocol {
    /// The value librdkafka (and every Kafka client) knows it by.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }

    fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }
}

/// The SASL mechanisms that take a user name and a password. (GSSAPI needs Kerberos and
/// OAUTHBEARER a token provider; neither is built in.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SaslMechanism {
    #[value(name = "PLAIN")]
    Plain,
    #[value(name = "SCRAM-SHA-256")]
    ScramSha256,
    #[value(name = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// TLS and SASL settings of the Kafka clients. Passwords are best given through the environment
/// (a command-line flag shows in `ps`).
#[derive(Clone, Default, Args)]
pub struct KafkaSecurity {
    /// How to reach the brokers: plaintext, ssl, sasl_plaintext or sasl_ssl.
    #[arg(
        long = "kafka-security-protocol",
        env = "KAFKA_SECURITY_PROTOCOL",
        value_enum,
        ignore_case = true,
        default_value_t = SecurityProtocol::Plaintext
    )]
    pub protocol: SecurityProtocol,
    /// SASL mechanism for sasl_plaintext and sasl_ssl: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
    #[arg(
        long = "kafka-sasl-mechanism",
        env = "KAFKA_SASL_MECHANISM",
        value_enum,
        ignore_case = true
    )]
    pub sasl_mechanism: Option<SaslMechanism>,
    /// SASL user name.
    #[arg(long = "kafka-sasl-username", env = "KAFKA_SASL_USERNAME")]
    pub sasl_username: Option<String>,
    /// SASL password (prefer the environment variable).
    #[arg(
        long = "kafka-sasl-password",
        env = "KAFKA_SASL_PASSWORD",
        hide_env_values = true
    )]
    pub sasl_password: Option<String>,
    /// CA certificate(s) (PEM) the brokers' certificates are verified against; the system's
    /// store when not set. Broker host names are always verified.
    #[arg(long = "kafka-ssl-ca-location", env = "KAFKA_SSL_CA_LOCATION")]
    pub ssl_ca_location: Option<PathBuf>,
    /// Client certificate (PEM), for brokers that require mutual TLS; with the key.
    #[arg(
        long = "kafka-ssl-certificate-location",
        env = "KAFKA_SSL_CERTIFICATE_LOCATION"
    )]
    pub ssl_certificate_location: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long = "kafka-ssl-key-location", env = "KAFKA_SSL_KEY_LOCATION")]
    pub ssl_key_location: Option<PathBuf>,
    /// Password of an encrypted private key (prefer the environment variable).
    #[arg(
        long = "kafka-ssl-key-password",
        env = "KAFKA_SSL_KEY_PASSWORD",
        hide_env_values = true
    )]
    pub ssl_key_password: Option<String>,
}

/// Shown in place of a secret.
const REDACTED: &str = "[redacted]";

impl fmt::Debug for KafkaSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |value: &Option<String>| value.as_ref().map(|_| REDACTED);
        f.debug_struct("KafkaSecurity")
            .field("protocol", &self.protocol)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field("sasl_username", &self.sasl_username)
            .field("sasl_password", &secret(&self.sasl_password))
            .field("ssl_ca_location", &self.ssl_ca_location)
            .field("ssl_certificate_location", &self.ssl_certificate_location)
            .field("ssl_key_location", &self.ssl_key_location)
            .field("ssl_key_password", &secret(&self.ssl_key_password))
            .finish()
    }
}

/// An unset or empty setting (compose files often set a variable to nothing) is absent.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|value| !value.is_empty())
}

fn given_path(value: &Option<PathBuf>) -> Option<&PathBuf> {
    value.as_ref().filter(|path| !path.as_os_str().is_empty())
}

impl KafkaSecurity {
    /// Why these settings cannot work together, if they cannot. A setting that the protocol would
    /// silently ignore is refused too: a password that is never sent, or a CA that is never
    /// checked, is a misconfiguration the operator wants to hear about at start.
    pub fn check(&self) -> Result<(), String> {
        let protocol = self.protocol.as_str();
        let sasl_given = self.sasl_mechanism.is_some()
            || given(&self.sasl_username).is_some()
            || given(&self.sasl_password).is_some();
        if self.protocol.uses_sasl() {
            if self.sasl_mechanism.is_none() {
                return Err(format!(
                    "KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_MECHANISM \
                     (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"
                ));
            }
            if given(&self.sasl_username).is_none() || given(&self.sasl_password).is_none() {
                return Err(format!(
                    "KAFKA_SECURITY_PROTOCOL={protocol} needs both KAFKA_SASL_USERNAME and \
                     KAFKA_SASL_PASSWORD"
                ));
            }
        } else if sasl_given {
            return Err(format!(
                "KAFKA_SASL_* is set but KAFKA_SECURITY_PROTOCOL={protocol} does not use SASL \
                 (use sasl_plaintext or sasl_ssl)"
            ));
        }
        let tls_given = given_path(&self.ssl_ca_location).is_some()
            || given_path(&self.ssl_certificate_location).is_some()
            || given_path(&self.ssl_key_location).is_some()
            || given(&self.ssl_key_password).is_some();
        if tls_given && !self.protocol.uses_tls() {
            return Err(format!(
                "KAFKA_SSL_* is set but KAFKA_SECURITY_PROTOCOL={protocol} does not use TLS \
                 (use ssl or sasl_ssl)"
            ));
        }
        if given_path(&self.ssl_certificate_location).is_some()
            != given_path(&self.ssl_key_location).is_some()
        {
            return Err(
                "KAFKA_SSL_CERTIFICATE_LOCATION and KAFKA_SSL_KEY_LOCATION go together".into(),
            );
        }
        if given(&self.ssl_key_password).is_some() && given_path(&self.ssl_key_location).is_none() {
            return Err("KAFKA_SSL_KEY_PASSWORD is set without KAFKA_SSL_KEY_LOCATION".into());
        }
        Ok(())
    }

    /// Sets these settings on a client's configuration, after checking them.
    pub fn apply(&self, config: &mut ClientConfig) -> Result<(), BusError> {
        self.check().map_err(|why| {
            BusError::Unavailable(format!("invalid Kafka security settings: {why}"))
        })?;
        config.set("security.protocol", self.protocol.as_str());
        if let Some(mechanism) = self.sasl_mechanism {
            config.set("sasl.mechanisms", mechanism.as_str());
        }
        if let Some(username) = given(&self.sasl_username) {
            config.set("sasl.username", username);
        }
        if let Some(password) = given(&self.sasl_password) {
            config.set("sasl.password", password);
        }
        let paths = [
            ("ssl.ca.location", &self.ssl_ca_location),
            ("ssl.certificate.location", &self.ssl_certificate_location),
            ("ssl.key.location", &self.ssl_key_location),
        ];
        for (key, path) in paths {
            if let Some(path) = given_path(path) {
                config.set(key, path.to_string_lossy());
            }
        }
        if let Some(password) = given(&self.ssl_key_password) {
            config.set("ssl.key.password", password);
        }
        Ok(())
    }
}

/// librdkafka settings whose values are secrets.
const SECRET_KEYS: &[&str] = &[
    "sasl.password",
    "ssl.key.password",
    "ssl.keystore.password",
    "sasl.oauthbearer.client.secret",
];

/// An rdkafka error as text that is safe to log: a refused setting is named, and its value shown
/// only when it is not a secret (rdkafka's own message quotes the value).
pub fn describe(err: &KafkaError) -> String {
    match err {
        KafkaError::ClientConfig(_, why, key, _) if SECRET_KEYS.contains(&key.as_str()) => {
            format!("Client config error: {why} {key} {REDACTED}")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;
    use rdkafka::types::RDKafkaConfRes;

    use super::*;

    const PASSWORD: &str = "hunter2-canary";

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        security: KafkaSecurity,
    }

    fn parse(args: &[&str]) -> Result<KafkaSecurity, clap::Error> {
        Flags::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
            .map(|flags| flags.security)
    }

    fn sasl_ssl() -> KafkaSecurity {
        parse(&[
            "--kafka-security-protocol=SASL_SSL",
            "--kafka-sasl-mechanism=scram-sha-512",
            "--kafka-sasl-username=counter",
            &format!("--kafka-sasl-password={PASSWORD}"),
            "--kafka-ssl-ca-location=/etc/kafka/ca.pem",
        ])
        .unwrap()
    }

    #[test]
    fn the_default_is_plaintext_and_sets_only_the_protocol() {
        let security = parse(&[]).unwrap();
        let mut config = ClientConfig::new();
        security.apply(&mut config).unwrap();
        assert_eq!(config.get("security.protocol"), Some("plaintext"));
        assert_eq!(config.config_map().len(), 1, "{config:?}");
    }

    #[test]
    fn sasl_over_tls_settings_reach_the_client_config() {
        let mut config = ClientConfig::new();
        sasl_ssl().apply(&mut config).unwrap();
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(config.get("sasl.mechanisms"), Some("SCRAM-SHA-512"));
        assert_eq!(config.get("sasl.username"), Some("counter"));
        assert_eq!(config.get("sasl.password"), Some(PASSWORD));
        assert_eq!(config.get("ssl.ca.location"), Some("/etc/kafka/ca.pem"));
    }

    #[test]
    fn mutual_tls_settings_reach_the_client_config() {
        let security = parse(&[
            "--kafka-security-protocol=ssl",
            "--kafka-ssl-certificate-location=/tls/client.pem",
            "--kafka-ssl-key-location=/tls/client.key",
            &format!("--kafka-ssl-key-password={PASSWORD}"),
        ])
        .unwrap();
        let mut config = ClientConfig::new();
        security.apply(&mut config).unwrap();
        assert_eq!(config.get("security.protocol"), Some("ssl"));
        assert_eq!(
            config.get("ssl.certificate.location"),
            Some("/tls/client.pem")
        );
        assert_eq!(config.get("ssl.key.location"), Some("/tls/client.key"));
        assert_eq!(config.get("ssl.key.password"), Some(PASSWORD));
        assert_eq!(config.get("sasl.mechanisms"), None);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut security = sasl_ssl();
        security.ssl_certificate_location = Some("/tls/client.pem".into());
        security.ssl_key_location = Some("/tls/client.key".into());
        security.ssl_key_password = Some(format!("{PASSWORD}-key"));
        let shown = format!("{security:?}");
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(
            shown.contains("counter") && shown.contains(REDACTED),
            "{shown}"
        );
        let mut config = ClientConfig::new();
        security.apply(&mut config).unwrap();
        assert!(!format!("{config:?}").contains(PASSWORD));
    }

    #[test]
    fn a_refused_secret_setting_is_described_without_its_value() {
        let refused = KafkaError::ClientConfig(
            RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
            "Invalid value".into(),
            "sasl.password".into(),
            PASSWORD.into(),
        );
        assert!(refused.to_string().contains(PASSWORD), "rdkafka quotes it");
        let described = describe(&refused);
        assert!(!described.contains(PASSWORD), "{described}");
        assert!(described.contains("sasl.password"), "{described}");

        let ordinary = KafkaError::ClientConfig(
            RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
            "Invalid value".into(),
            "linger.ms".into(),
            "soon".into(),
        );
        assert!(describe(&ordinary).contains("soon"));
    }

    #[test]
    fn unknown_protocols_and_mechanisms_are_refused_when_parsing() {
        let protocol = parse(&["--kafka-security-protocol=tls"]).unwrap_err();
        assert!(protocol.to_string().contains("sasl_ssl"), "{protocol}");
        let mechanism = parse(&["--kafka-sasl-mechanism=GSSAPI"]).unwrap_err();
        assert!(
            mechanism.to_string().contains("SCRAM-SHA-256"),
            "{mechanism}"
        );
    }

    #[test]
    fn combinations_that_cannot_work_are_refused_with_the_variable_to_fix() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--kafka-security-protocol=sasl_plaintext"],
                "needs KAFKA_SASL_MECHANISM",
            ),
            (
                &[
                    "--kafka-security-protocol=sasl_ssl",
                    "--kafka-sasl-mechanism=PLAIN",
                    "--kafka-sasl-username=counter",
                ],
                "KAFKA_SASL_PASSWORD",
            ),
            (
                &["--kafka-sasl-username=counter", "--kafka-sasl-password=x"],
                "does not use SASL",
            ),
            (&["--kafka-ssl-ca-location=/ca.pem"], "does not use TLS"),
            (
                &[
                    "--kafka-security-protocol=ssl",
                    "--kafka-ssl-certificate-location=/c.pem",
                ],
                "go together",
            ),
            (
                &[
                    "--kafka-security-protocol=ssl",
                    "--kafka-ssl-key-password=x",
                ],
                "without KAFKA_SSL_KEY_LOCATION",
            ),
        ];
        for (args, expected) in cases {
            let security = parse(args).unwrap();
            let err = security.apply(&mut ClientConfig::new()).unwrap_err();
            assert!(err.to_string().contains(expected), "{args:?}: {err}");
            assert!(!err.to_string().contains(PASSWORD));
        }
    }

    #[test]
    fn an_empty_variable_counts_as_unset() {
        let security = KafkaSecurity {
            sasl_username: Some(String::new()),
            ssl_ca_location: Some(PathBuf::new()),
            ..KafkaSecurity::default()
        };
        let mut config = ClientConfig::new();
        security.apply(&mut config).unwrap();
        assert_eq!(config.get("sasl.username"), None);
        assert_eq!(config.get("ssl.ca.location"), None);
    }

    /// Arguments for a broker nobody listens on: clients connect lazily, so creating one checks
    /// the settings without a broker.
    fn args_with(security: KafkaSecurity) -> crate::KafkaArgs {
        crate::KafkaArgs {
            bootstrap_servers: "127.0.0.1:1".into(),
            security,
            ..crate::KafkaArgs::default()
        }
    }

    #[test]
    fn every_client_gets_the_security_settings_from_one_place() {
        let config = args_with(sasl_ssl()).client_config("any").unwrap();
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(config.get("sasl.password"), Some(PASSWORD));
        assert_eq!(config.get("bootstrap.servers"), Some("127.0.0.1:1"));
    }

    #[tokio::test]
    async fn librdkafka_is_built_with_tls_and_scram_so_producer_and_consumer_accept_them() {
        // Without OpenSSL in the build, librdkafka refuses sasl_ssl and SCRAM at creation.
        let mut security = sasl_ssl();
        security.ssl_ca_location = None;
        let args = args_with(security);
        let publisher = crate::KafkaPublisher::new(&args, "tls-test", Duration::from_secs(2));
        assert!(publisher.is_ok(), "{:?}", publisher.err());
        let subscriber = crate::KafkaSubscriber::new(&args, "tls-test", "tls-test");
        assert!(subscriber.is_ok(), "{:?}", subscriber.err());
    }

    #[tokio::test]
    async fn a_missing_ca_file_fails_at_creation_naming_the_setting() {
        let mut security = sasl_ssl();
        security.ssl_ca_location = Some("/nonexistent/wordfreq-ca.pem".into());
        let err =
            crate::KafkaPublisher::new(&args_with(security), "tls-test", Duration::from_secs(2))
                .err()
                .expect("no such CA file");
        let message = err.to_string();
        assert!(message.contains("ssl.ca.location"), "{message}");
        assert!(!message.contains(PASSWORD), "{message}");
    }
}
