//! The `bootstrap` binary: everything happens in [`bootstrap::run`].
fn main() {
    std::process::exit(bootstrap::run(std::env::args_os().collect()));
}
