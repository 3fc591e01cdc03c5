//! `dualprop perf`: measures the kernels (the engine is [`crate::perf`]) and writes docs/performance.md, with the
//! same report as JSON beside it.

use std::path::PathBuf;

use crate::error::Result;
use crate::perf::{Launcher, Plan};

/// Arguments of `dualprop perf`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the report [default: docs/performance.md; with --quick: target/performance-quick.md]; the
    /// JSON goes beside it (same name, .json).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A short run for CI (few repetitions, tiny reference timings, no peer unless DUALPROP_CI_PEER=1);
    /// checks that everything runs and does not overwrite docs/performance.md.
    #[arg(long)]
    pub quick: bool,
    /// Threads for faer's products and the Adam update.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Skip the JAX peer (benches/peers/run_jax.sh).
    #[arg(long)]
    pub no_peer: bool,
    /// Internal: train a few steps of one estimator ("f32:dp_plus_k1" = float type and estimator key) in this
    /// process and print its peak resident memory.
    #[arg(long, hide = true)]
    pub memory_probe: Option<String>,
    /// Internal: training steps of a memory probe.
    #[arg(long, hide = true, default_value_t = 3)]
    pub probe_steps: usize,
}

/// Runs `dualprop perf` (or, with the hidden `--memory-probe`, one memory probe); returns the exit code.
pub fn run(args: Args) -> Result<i32> {
    if let Some(spec) = &args.memory_probe {
        let plan = Plan {
            probe_steps: args.probe_steps,
            ..Plan::full(args.threads)
        };
        println!("{}", crate::perf::probe::child(spec, &plan)?);
        return Ok(0);
    }
    let mut plan = if args.quick {
        Plan::quick(args.threads)
    } else {
        Plan::full(args.threads)
    };
    let ci_peer = std::env::var("DUALPROP_CI_PEER").as_deref() == Ok("1");
    if args.no_peer || (args.quick && !ci_peer) {
        plan.peer_repeats = None;
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(if args.quick {
            "target/performance-quick.md"
        } else {
            "docs/performance.md"
        })
    });
    // The memory probe re-runs this binary with the hidden flags above.
    let launcher = std::env::current_exe().ok().map(|program| Launcher {
        program,
        args: vec![
            "perf".into(),
            "--threads".into(),
            plan.threads.to_string(),
            "--probe-steps".into(),
            plan.probe_steps.to_string(),
            "--memory-probe".into(),
        ],
    });
    let report = crate::perf::run(&plan, launcher.as_ref(), |stage| {
        eprintln!("dualprop perf: {stage} ...")
    })?;
    let json = report.write(&out)?;
    eprintln!(
        "dualprop perf: wrote {} and {} in {:.0} s",
        out.display(),
        json.display(),
        report.elapsed_s
    );
    Ok(0)
}
