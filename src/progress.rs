//! What the stages say while they work: progress lines and warnings on stderr. The stages
//! that run before the report (observe, apply) see only this trait, so what they say does
//! not depend on how results are shown; `report::Reporter` is the implementation.

/// A sink for what a stage says while it works.
pub trait Progress: Sync {
    /// A progress line for people (silenced by `-q`).
    fn progress(&self, msg: &str);

    /// A warning: shown even with `-q`, and carried into the JSON document.
    fn warn(&self, msg: String);
}

/// Says nothing (unit tests).
#[cfg(test)]
pub struct Silent;

#[cfg(test)]
impl Progress for Silent {
    fn progress(&self, _msg: &str) {}

    fn warn(&self, _msg: String) {}
}
