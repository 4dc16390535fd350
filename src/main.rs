use std::process::ExitCode;

fn main() -> ExitCode {
    realtime_token::cli::main()
}
