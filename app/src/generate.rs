//! `tradsys gen orders`: a deterministic synthetic order flow in the replay format.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use anyhow::Context;
use tradsys_core::orderflow::generator::{GeneratorConfig, OrderFlowGenerator, Profile};
use tradsys_core::orderflow::{HEADER, write_command};

use crate::cli::GenOrdersArgs;
use crate::failure::{BadInput, Failure, Internal};

/// Runs `gen orders`.
///
/// # Errors
/// An unknown profile or an uncreatable output (exit 2); a write failure (exit 1).
pub fn orders(args: &GenOrdersArgs) -> Result<(), Failure> {
    let profile: Profile = args.profile.parse().map_err(anyhow::Error::msg).bad_input()?;
    let output: Box<dyn Write> = match &args.out {
        Some(path) => {
            Box::new(File::create(path).with_context(|| format!("cannot create {}", path.display())).bad_input()?)
        }
        None => Box::new(io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, output);
    let config = GeneratorConfig { profile, count: args.count, seed: args.seed, symbols: args.symbols };
    let generator =
        OrderFlowGenerator::new(config).map_err(|error| anyhow::anyhow!("--symbols: {error}")).bad_input()?;
    let instruments = generator.instruments().clone();
    writeln!(out, "{HEADER}").internal()?;
    for command in generator {
        write_command(&mut out, &command, &instruments).internal()?;
    }
    out.flush().internal()
}
