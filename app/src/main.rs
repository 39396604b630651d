//! The `tradsys` binary: see the library for the commands.

use std::process::ExitCode;

fn main() -> ExitCode {
    tradsys::main_with_args(std::env::args_os())
}
