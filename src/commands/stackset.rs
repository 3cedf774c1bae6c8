//! `plan`, `init` and `status` for `--stackset NAME`.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::report::{Output, Reporter};

pub async fn plan(_s: &Settings, _r: &Reporter, _d: bool) -> Result<Output> {
    Err(Error::failure("not yet"))
}
pub async fn init(_s: &Settings, _r: &Reporter, _y: bool) -> Result<Output> {
    Err(Error::failure("not yet"))
}
pub async fn status(_s: &Settings, _r: &Reporter) -> Result<Output> {
    Err(Error::failure("not yet"))
}
