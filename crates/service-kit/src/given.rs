//! A flattened group of flags that also says which of them were set: the launcher takes the
//! services' own Kafka and Redis flags, declared once, and runs in-process unless they are given.

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, FromArgMatches};

/// The flags of `T`, and which of them were set to something other than nothing, by flag or by
/// environment variable (a default is not "set"; neither is an empty variable, which compose
/// files often write).
#[derive(Debug, Clone)]
pub struct Given<T> {
    pub value: T,
    /// The environment variable of each flag that was set (its `--long` name if it has none), in
    /// the order `T` declares them.
    set: Vec<String>,
}

impl<T> Given<T> {
    /// Whether the flag that reads `variable` was set.
    pub fn is_set(&self, variable: &str) -> bool {
        self.set.iter().any(|set| set == variable)
    }

    /// The first set flag's variable among those `relevant` picks, if any.
    pub fn first_set(&self, relevant: impl Fn(&str) -> bool) -> Option<&str> {
        self.set
            .iter()
            .map(String::as_str)
            .find(|&set| relevant(set))
    }
}

impl<T: Args> Args for Given<T> {
    fn augment_args(command: Command) -> Command {
        T::augment_args(command)
    }

    fn augment_args_for_update(command: Command) -> Command {
        T::augment_args_for_update(command)
    }
}

impl<T: Args + FromArgMatches> FromArgMatches for Given<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Self {
            value: T::from_arg_matches(matches)?,
            set: set_flags::<T>(matches),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.value.update_from_arg_matches(matches)?;
        self.set = set_flags::<T>(matches);
        Ok(())
    }
}

/// The variables (or `--long` names) of `T`'s flags that `matches` got a non-empty value for.
fn set_flags<T: Args>(matches: &ArgMatches) -> Vec<String> {
    T::augment_args(Command::new("flags"))
        .get_arguments()
        .filter(|arg| {
            let id = arg.get_id().as_str();
            let by_user = matches!(
                matches.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            );
            let non_empty = matches
                .try_get_raw(id)
                .ok()
                .flatten()
                .is_some_and(|mut values| values.any(|value| !value.is_empty()));
            by_user && non_empty
        })
        .map(|arg| match arg.get_env() {
            Some(variable) => variable.to_string_lossy().into_owned(),
            None => format!("--{}", arg.get_long().unwrap_or(arg.get_id().as_str())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Clone, Args)]
    struct Server {
        #[arg(
            long = "server-host",
            env = "TEST_GIVEN_SERVER_HOST",
            default_value = "localhost"
        )]
        host: String,
        #[arg(long = "server-password", env = "TEST_GIVEN_SERVER_PASSWORD")]
        password: Option<String>,
        #[arg(long = "server-verbose")]
        verbose: bool,
    }

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        server: Given<Server>,
    }

    fn parse(args: &[&str]) -> Given<Server> {
        Flags::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
            .unwrap()
            .server
    }

    #[test]
    fn defaults_are_not_set_and_the_values_are_the_flags_own() {
        let given = parse(&[]);
        assert_eq!(given.value.host, "localhost");
        assert!(!given.is_set("TEST_GIVEN_SERVER_HOST"));
        assert_eq!(given.first_set(|_| true), None);
    }

    #[test]
    fn flags_set_are_named_by_their_variable_in_declaration_order() {
        let given = parse(&[
            "--server-password",
            "pw",
            "--server-host",
            "db",
            "--server-verbose",
        ]);
        assert_eq!(given.value.host, "db");
        assert!(given.is_set("TEST_GIVEN_SERVER_HOST"));
        assert_eq!(given.first_set(|_| true), Some("TEST_GIVEN_SERVER_HOST"));
        assert_eq!(
            given.first_set(|variable| variable != "TEST_GIVEN_SERVER_HOST"),
            Some("TEST_GIVEN_SERVER_PASSWORD")
        );
        assert!(given.is_set("--server-verbose"));
    }

    #[test]
    fn an_empty_value_is_not_set() {
        let given = parse(&["--server-password="]);
        assert!(!given.is_set("TEST_GIVEN_SERVER_PASSWORD"));
    }
}
