//! Where Redis is and how to log in: the flags, and the URL they make, with the credentials in it
//! to connect and with the password replaced for logs.

use std::fmt;

use clap::Args;
use wordfreq_domain::names::DEFAULT_REDIS_PREFIX;

/// Where Redis is and how to log in; the original's `REDIS_HOST`/`REDIS_PORT` keep working.
#[derive(Clone, Args)]
pub struct RedisArgs {
    /// Redis URL (`redis://[[user]:password@]host:port/db`); overrides REDIS_HOST and REDIS_PORT.
    #[arg(
        long = "redis-url",
        visible_alias = "redis",
        env = "REDIS_URL",
        hide_env_values = true
    )]
    pub url: Option<String>,
    /// Redis host, when REDIS_URL is not set.
    #[arg(long = "redis-host", env = "REDIS_HOST", default_value = "localhost")]
    pub host: String,
    /// Redis port, when REDIS_URL is not set.
    #[arg(long = "redis-port", env = "REDIS_PORT", default_value_t = 6379)]
    pub port: u16,
    /// ACL user name (Redis 6+); the `default` user when not set.
    #[arg(long = "redis-username", env = "REDIS_USERNAME")]
    pub username: Option<String>,
    /// Password (`requirepass`, or the ACL user's); replaces one in REDIS_URL. Prefer the
    /// environment variable: a command-line flag shows in `ps`.
    #[arg(
        long = "redis-password",
        env = "REDIS_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Prefix of every key; keep the hash tag (`{…}`) for Redis Cluster.
    #[arg(long = "redis-prefix", env = "REDIS_PREFIX", default_value = DEFAULT_REDIS_PREFIX)]
    pub prefix: String,
}

/// Shown in place of a password.
const REDACTED: &str = "[redacted]";

impl fmt::Debug for RedisArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisArgs")
            .field("url", &self.redacted_url())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisArgs {
    /// The URL to connect with, REDIS_USERNAME and REDIS_PASSWORD included (percent-encoded, so
    /// any character may be in them). It holds the password: never log it; log
    /// [`RedisArgs::redacted_url`].
    pub fn url(&self) -> String {
        let base = self
            .url
            .clone()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| format!("redis://{}:{}/", self.host, self.port));
        let username = self.username.as_deref().filter(|name| !name.is_empty());
        let password = self.password.as_deref().filter(|word| !word.is_empty());
        if username.is_none() && password.is_none() {
            return base;
        }
        // A URL that does not parse is handed on as it is: connecting reports it.
        let Ok(mut url) = url::Url::parse(&base) else {
            return base;
        };
        if url.has_host() {
            // `set_username`/`set_password` fail only for URLs without a host.
            if let Some(username) = username {
                let _ = url.set_username(username);
            }
            if let Some(password) = password {
                let _ = url.set_password(Some(password));
            }
        } else {
            // A Unix socket (`redis+unix:///path`): the client reads these query parameters.
            let mut query = url.query_pairs_mut();
            if let Some(username) = username {
                query.append_pair("user", username);
            }
            if let Some(password) = password {
                query.append_pair("pass", password);
            }
        }
        url.into()
    }

    /// The URL to connect with, its password replaced: what may be logged.
    pub fn redacted_url(&self) -> String {
        redact(&self.url())
    }
}

/// `url` with any password in it replaced, for logs and error messages.
pub fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // Cannot tell where a password would be: show nothing of it.
        return "(a Redis URL that does not parse)".into();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some(REDACTED));
    }
    let secret_query = parsed.query_pairs().any(|(key, _)| key == "pass");
    if secret_query {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "pass" {
                    REDACTED.to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.into()
}
