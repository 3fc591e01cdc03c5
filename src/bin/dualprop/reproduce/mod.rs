//! `dualprop reproduce table1 | fig1 | fig2 | fig3`: the paper's grid at a chosen budget, the table as Markdown
//! and CSV, the figures as PNG and SVG, optionally docs/reproduction.md.

mod jobs;

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::train::CommonArgs;
use dualprop::error::{Error, Result};
use dualprop::experiments::data::DataSource;
use dualprop::experiments::figures;
use dualprop::experiments::figures::accuracy;
use dualprop::experiments::figures::fig3;
use dualprop::experiments::gather;
use dualprop::experiments::metrics::RunResult;
use dualprop::experiments::progress::Progress;
use dualprop::experiments::report::{self, ReportContext};
use dualprop::experiments::spec::{Algorithm, RunSpec};
use dualprop::experiments::sweep;
use dualprop::experiments::table;

/// Default budget of the main job on the embedded subset (see docs/experiments.md for its runtime).
pub const DEFAULT_EPOCHS: usize = 5;
pub const DEFAULT_SEEDS: u64 = 2;
/// Default alignment logging interval in steps.
pub const DEFAULT_ALIGNMENT_EVERY: usize = 5;
/// Default loop-gain logging interval of `reproduce fig3` and `--quick` in steps (other targets: off).
pub const DEFAULT_LOOP_GAIN_EVERY: usize = 10;
/// `--quick`: epochs of every configuration (an equal budget, no cap on original DP at K = 30) and seeds.
pub const QUICK_EPOCHS: usize = 5;
pub const QUICK_SEEDS: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Table 1: {DP+, original DP} x alpha {0, 1} x K {1, 30}, beta = 1/2, plus back-propagation.
    Table1,
    /// Figure 1: angle between DP+ (K = 30) and back-propagation gradients per layer.
    Fig1,
    /// Figure 2: norms of the difference and of both gradients.
    Fig2,
    /// Figure 3 (beyond the paper): loop gain and non-converged fraction against the step, original DP and DP+
    /// at K = 30, alpha {0, 1} (the same runs as Table 1's, with loop-gain logs).
    Fig3,
}

/// Arguments of `dualprop reproduce`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    pub target: Target,
    /// Number of seeds (1..=N); default 2, 1 with --quick.
    #[arg(long)]
    pub seeds: Option<u64>,
    /// The main job's preset: every configuration trains the same number of steps (QUICK_EPOCHS epochs, no cap
    /// on original DP at K = 30) with 1 seed, and the K = 30 runs log the loop gain (Figure 3); --epochs,
    /// --seeds and --loop-gain-every still override it. Meant for the embedded subset: on full MNIST its 5 epochs of
    /// original DP at K = 30 take hours.
    #[arg(long, conflicts_with_all = ["costly_epochs", "costly_steps"])]
    pub quick: bool,
    /// Output directory (runs/, table1.md, table1.csv, fig1.*, fig2.*, fig3.*, accuracy.*).
    #[arg(long, value_name = "DIR", default_value = "out/reproduce")]
    pub out: PathBuf,
    /// Also write this Markdown report (e.g. docs/reproduction.md) with the figures in <its dir>/figures/.
    #[arg(long, value_name = "FILE")]
    pub doc: Option<PathBuf>,
    /// Cap the epochs of original DP at K = 30 (it runs all 30 iterations every step, ~15x the cost of the
    /// other runs); the table states each configuration's epochs.
    #[arg(long, value_name = "E")]
    pub costly_epochs: Option<usize>,
    /// Cap the total training steps of original DP at K = 30 (its last epoch is then partial).
    #[arg(long, value_name = "N")]
    pub costly_steps: Option<usize>,
    /// Train nothing: build the table, figures and report from the runs already finished in --out
    /// (unfinished runs are listed with how far they got).
    #[arg(long)]
    pub report_only: bool,
    /// Train nothing: write one self-contained job per run into DIR (jobs/NNN.json with the spec, jobs/NNN.sh
    /// with the command), a Slurm job-array script (slurm.sh), the GNU parallel and xargs lines (README.md) and
    /// gather.sh (this command with --report-only). Each job trains into --out and resumes from its checkpoint.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["report_only", "job"])]
    pub plan: Option<PathBuf>,
    /// Train the one run specified in FILE (a job written by --plan) into --out, and nothing else.
    #[arg(long, value_name = "FILE", conflicts_with = "report_only")]
    pub job: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

pub fn run(args: Args) -> Result<i32> {
    if let Some(file) = &args.job {
        return jobs::run_job(&args, file);
    }
    let started = Instant::now();
    let source = DataSource::resolve(args.common.data.as_deref());
    let mut base = args.common.base_spec(
        &source,
        if args.quick {
            QUICK_EPOCHS
        } else {
            DEFAULT_EPOCHS
        },
    );
    if args.common.loop_gain_every.is_none() && (args.quick || args.target == Target::Fig3) {
        base.loop_gain_every = DEFAULT_LOOP_GAIN_EVERY;
    }
    let default_seeds = if args.quick {
        QUICK_SEEDS
    } else {
        DEFAULT_SEEDS
    };
    let seeds: Vec<u64> = (1..=args.seeds.unwrap_or(default_seeds)).collect();
    if seeds.is_empty() {
        return Err(Error::Unsupported("--seeds must be at least 1".into()));
    }
    let every = args
        .common
        .alignment_every
        .unwrap_or(DEFAULT_ALIGNMENT_EVERY);
    let specs: Vec<RunSpec> = match args.target {
        Target::Table1 => {
            sweep::table1_specs(&base, &seeds, every, args.costly_epochs, args.costly_steps)
        }
        Target::Fig1 | Target::Fig2 => sweep::figure_specs(&base, &seeds, every.max(1)),
        // Table 1's K = 30 runs, so that both targets share them.
        Target::Fig3 => {
            sweep::table1_specs(&base, &seeds, every, args.costly_epochs, args.costly_steps)
                .into_iter()
                .filter(|s| s.algorithm != Algorithm::Backprop && s.iterations == 30)
                .collect()
        }
    };
    for s in &specs {
        s.validate()?;
    }
    if let Some(dir) = &args.plan {
        return jobs::write_plan(&args, dir, &specs);
    }
    let progress = Progress::new(args.common.quiet);
    progress.log(&format!("loading MNIST from {}", source.describe()));
    let data = source.load()?;
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    let (results, unfinished) = if args.report_only {
        gather::finished_runs(&specs, &args.out)?
    } else {
        let r = sweep::sweep(&specs, &data, &args.out, &args.common.options(), &progress)?;
        (r, Vec::new())
    };

    let mut written = Vec::new();
    if args.target == Target::Table1 {
        let rows = table::rows(&results);
        let (md, csv) = (args.out.join("table1.md"), args.out.join("table1.csv"));
        write(&md, &table::markdown(&rows))?;
        write(&csv, &table::csv(&rows))?;
        println!("{}", table::markdown(&rows));
        written.extend([md, csv]);
    }
    let curves = gather::alignment_curves(&args.out, &results)?;
    if !curves.is_empty() {
        for which in match args.target {
            Target::Fig1 => vec![1],
            Target::Fig2 => vec![2],
            Target::Table1 => vec![1, 2],
            Target::Fig3 => vec![],
        } {
            written.extend(figures::write(which, &curves, &args.out)?);
        }
    }
    let gain_runs = gather::loop_gain_runs(&args.out, &results)?;
    if !gain_runs.is_empty() && matches!(args.target, Target::Table1 | Target::Fig3) {
        println!(
            "Loop gain of the inference iteration (K = 30; batch's first {} examples, {} power steps; \
             loop_gain.jsonl, Figure 3):\n\n{}",
            dualprop::experiments::train::LOOP_GAIN_EXAMPLES,
            dualprop::experiments::train::LOOP_GAIN_POWER_STEPS,
            fig3::summary(&gain_runs)
        );
        written.extend(fig3::write(&gain_runs, &args.out)?);
    }
    let accuracy_runs = gather::accuracy_runs(&args.out, &results)?;
    if !accuracy_runs.is_empty() && args.target == Target::Table1 {
        written.extend(accuracy::write(&accuracy_runs, &args.out)?);
    }
    if let Some(doc) = &args.doc {
        let doc_dir = doc.parent().map(Path::to_path_buf).unwrap_or_default();
        let figs = gather::write_report_figures(&doc_dir, &curves, &gain_runs, &accuracy_runs)?;
        let command = gather::command_line(std::env::args());
        let train_images = base
            .train_limit
            .map_or(data.train.len(), |n| n.min(data.train.len()));
        let ctx = ReportContext {
            command: &command,
            data_source: &data.source,
            train_images,
            validation_images: data.validation.len(),
            test_images: data.test.len(),
            seeds: &seeds,
            epochs: base.epochs,
            figures: figs.alignment,
            accuracy_figure: figs.accuracy,
            fig3: figs.fig3,
            session_seconds: started.elapsed().as_secs_f64(),
            runs_planned: specs.len(),
            unfinished,
        };
        let metrics_of = |r: &RunResult| gather::epoch_metrics(&args.out, r);
        write(doc, &report::document(&ctx, &results, &metrics_of))?;
        written.push(doc.clone());
    }
    for p in &written {
        progress.log(&format!("wrote {}", p.display()));
    }
    progress.log(&format!(
        "total wall time {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(0)
}
