//! `reference`: the configuration reference, in Markdown, from the code's
//! own tables (`docs/src/configuration.md` is its output).

use std::io::Write as _;
use std::process::ExitCode;

use crate::config::reference::markdown;

pub(super) fn print() -> ExitCode {
    match std::io::stdout().lock().write_all(markdown().as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reference: {e}");
            ExitCode::FAILURE
        }
    }
}
