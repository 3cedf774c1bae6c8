//! [`Retold`]: a group of flags one command tells in its own words (`verify --offline`
//! takes init's trust flags under its own heading), so that the flags are declared once.

use clap::Args;

/// A group of flags another command takes under its own heading, some told in its own
/// words: the flags are declared once, in `T`, and `R` says how this command tells them.
#[derive(Debug)]
pub struct Retold<T, R>(pub T, std::marker::PhantomData<R>);

/// The heading, and the help of some flags by id, of a [`Retold`] group.
pub trait Retelling {
    const HEADING: &'static str;
    const HELP: &'static [(&'static str, &'static str)];
}

impl<T: Args, R: Retelling> Args for Retold<T, R> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let group = T::augment_args(clap::Command::new("retold"));
        group.get_arguments().fold(cmd, |cmd, arg| {
            let arg = arg.clone().help_heading(R::HEADING).display_order(None);
            match R::HELP.iter().find(|(id, _)| arg.get_id() == *id) {
                Some((_, help)) => cmd.arg(arg.help(*help)),
                None => cmd.arg(arg),
            }
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl<T: serde::Serialize, R> serde::Serialize for Retold<T, R> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<T: clap::FromArgMatches, R> clap::FromArgMatches for Retold<T, R> {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(|t| Retold(t, std::marker::PhantomData))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
}
