//! `dualprop perf`: measures the kernels (the engine is [`dualprop::perf`]) and writes docs/performance.md, with the
//! same report as JSON beside it.

use std::path::PathBuf;

use dualprop::error::Result;
use dualprop::perf::{Launcher, Plan};

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
    /// Skip the JAX peer (benches/peers/run_jax.sh, interleaved with our rounds).
    #[arg(long)]
    pub no_peer: bool,
    /// Instead of the report: sweep widths and batches (f32, back-propagation and DP+ K=1, ours and JAX's
    /// unless --no-peer) and write docs/performance-scaling.{md,json,png,svg} (or --out's stem). A few minutes;
    /// with --quick, the two smallest points of each sweep into target/performance-scaling-quick.*.
    #[arg(long)]
    pub scaling: bool,
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
        println!("{}", dualprop::perf::probe::child(spec, &plan)?);
        return Ok(0);
    }
    if args.scaling {
        let stem = args.out.clone().unwrap_or_else(|| {
            PathBuf::from(if args.quick {
                "target/performance-scaling-quick"
            } else {
                "docs/performance-scaling"
            })
        });
        let report =
            dualprop::perf::scaling::run(args.threads, !args.no_peer, args.quick, |stage| {
                eprintln!("dualprop perf --scaling: {stage} ...")
            })?;
        for path in report.write(&stem.with_extension(""))? {
            eprintln!("dualprop perf --scaling: wrote {}", path.display());
        }
        return Ok(0);
    }
    let mut plan = if args.quick {
        Plan::quick(args.threads)
    } else {
        Plan::full(args.threads)
    };
    let ci_peer = std::env::var("DUALPROP_CI_PEER").as_deref() == Ok("1");
    if args.no_peer || (args.quick && !ci_peer) {
        plan.peer = false;
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
    let report = dualprop::perf::run(&plan, launcher.as_ref(), |stage| {
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
