//! The `dvc` command line: serve, migrate and manage tenants (the commands are in `cli/`).

mod cli;

use clap::Parser;
use dvc::config::Settings;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("dvc: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    // A server that cannot sign or open secrets would start and answer 503: stop here instead,
    // with one line naming the key and its environment variable.
    if matches!(cli.command, cli::Command::Serve)
        && let Err(e) = settings.validate_for_serve()
    {
        eprintln!("dvc: configuration error: {e}");
        return ExitCode::from(2);
    }
    dvc::telemetry::init(&settings.log);
    let result = cli::run(cli.command, settings);
    dvc::telemetry::shutdown();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dvc: {e:#}");
            ExitCode::FAILURE
        }
    }
}
