//! Property tests (proptest) of everything that reads untrusted input, in process: the
//! configuration parser and validators, the policy canonicalisation and trust rules, the JWT
//! decoder and the policy evaluator. `PROPTEST_CASES` sets the cases per property (default
//! 1000).

#![allow(
    unreachable_pub,
    reason = "a test binary exports nothing: `pub` in its modules is what the other modules use"
)]

mod strategies;

mod guard_rails_props;
mod guard_rails_verify_props;
