//! `tradsys gen orders`: a deterministic synthetic order flow in the replay format.

use std::io::Write;
use std::path::Path;

use tradsys_core::orderflow::generator::{GeneratorConfig, OrderFlowGenerator, Profile};
use tradsys_core::orderflow::{HEADER, write_command};

use crate::cli::GenOrdersArgs;
use crate::failure::{BadInput, Failure, Internal};
use crate::output::{OutputFile, OutputRequest, check_outputs};

/// Runs `gen orders`.
///
/// # Errors
/// An unknown profile or an uncreatable output (exit 2); a write failure (exit 1).
pub fn orders(args: &GenOrdersArgs) -> Result<(), Failure> {
    let profile: Profile = args.profile.parse().map_err(anyhow::Error::msg).bad_input()?;
    let config = GeneratorConfig { profile, count: args.count, seed: args.seed, symbols: args.symbols };
    let generator =
        OrderFlowGenerator::new(config).map_err(|error| anyhow::anyhow!("--symbols: {error}")).bad_input()?;
    let out_path = args.out.as_deref().unwrap_or(Path::new("-"));
    check_outputs(&[OutputRequest { flag: "--out", path: out_path, extensions: &["csv"], stdout: true }], &[])?;
    let mut output = OutputFile::create(out_path).bad_input()?;
    let instruments = generator.instruments().clone();
    let out = output.writer();
    writeln!(out, "{HEADER}").internal()?;
    for command in generator {
        write_command(out, &command, &instruments).internal()?;
    }
    output.commit().internal()
}
