//! `dualprop reproduce table1 | fig1 | fig2 | fig3`: the paper's grid at a chosen budget, the table as Markdown
//! and CSV, the figures as PNG and SVG, optionally docs/reproduction.md.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::train::CommonArgs;
use dualprop::error::{Error, Result};
use dualprop::experiments::data::DataSource;
use dualprop::experiments::figures::accuracy::{self, AccuracyRun};
use dualprop::experiments::figures::fig3::{self, GainRun};
use dualprop::experiments::figures::{self, AlphaCurves};
use dualprop::experiments::metrics::{
    AlignmentRecord, EpochMetrics, LoopGainRecord, RunProgress, RunResult,
};
use dualprop::experiments::plan;
use dualprop::experiments::progress::Progress;
use dualprop::experiments::report::{self, ReportContext};
use dualprop::experiments::spec::{Algorithm, RunSpec};
use dualprop::experiments::sweep::{self, run_dir, TABLE1_ALPHAS};
use dualprop::experiments::table;
use dualprop::experiments::train::{read_jsonl, read_result, RunFiles};

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

/// Alignment curves of the DP+ K = 30 runs among `results`, per alpha.
fn curves(out: &Path, results: &[RunResult]) -> Result<Vec<AlphaCurves>> {
    let mut all = Vec::new();
    for alpha in TABLE1_ALPHAS {
        let per_seed = results
            .iter()
            .filter(|r| {
                r.spec.algorithm == Algorithm::DpPlus
                    && r.spec.iterations == 30
                    && r.spec.alpha == alpha
            })
            .map(|r| {
                read_jsonl::<AlignmentRecord>(&RunFiles::new(&run_dir(out, &r.spec)).alignment)
            })
            .collect::<Result<Vec<_>>>()?;
        let per_seed: Vec<_> = per_seed.into_iter().filter(|s| !s.is_empty()).collect();
        if !per_seed.is_empty() {
            all.push(figures::average(alpha, &per_seed));
        }
    }
    Ok(all)
}

/// Figure 3's curves: the original DP and DP+ runs among `results` that logged their loop gain.
fn gain_runs(out: &Path, results: &[RunResult]) -> Result<Vec<GainRun>> {
    let mut runs = Vec::new();
    for r in results {
        let files = RunFiles::new(&run_dir(out, &r.spec));
        let gains = read_jsonl::<LoopGainRecord>(&files.loop_gain)?;
        if gains.is_empty() || r.spec.algorithm == Algorithm::Eq21 {
            continue;
        }
        runs.push(GainRun::new(r, &gains, &read_jsonl(&files.metrics)?));
    }
    Ok(runs)
}

/// The per-epoch test-accuracy curves of the runs among `results` that logged an epoch (metrics.jsonl).
fn accuracy_runs(out: &Path, results: &[RunResult]) -> Result<Vec<AccuracyRun>> {
    let mut runs = Vec::new();
    for r in results {
        let metrics: Vec<EpochMetrics> =
            read_jsonl(&RunFiles::new(&run_dir(out, &r.spec)).metrics)?;
        if !metrics.is_empty() {
            runs.push(AccuracyRun::new(&r.spec, &metrics));
        }
    }
    Ok(runs)
}

/// Results of the runs that finished, and a description of the others (how far they got).
fn finished_only(specs: &[RunSpec], out: &Path) -> Result<(Vec<RunResult>, Vec<String>)> {
    let (mut done, mut open) = (Vec::new(), Vec::new());
    for spec in specs {
        let dir = run_dir(out, spec);
        match read_result(&dir)? {
            Some(r) if r.spec.same_run(spec) => done.push(r),
            _ => {
                let files = RunFiles::new(&dir);
                let how_far = std::fs::read_to_string(&files.progress)
                    .ok()
                    .and_then(|t| serde_json::from_str::<RunProgress>(&t).ok())
                    .map_or("not started or no progress recorded".to_string(), |p| {
                        format!(
                            "reached epoch {} step {}/{} (global step {}) after {:.0} s, last verdict {}, no divergence until then",
                            p.epoch,
                            p.step,
                            p.steps_per_epoch,
                            p.global_step,
                            p.wall_seconds,
                            p.verdict.unwrap_or_else(|| "none".into())
                        )
                    });
                open.push(format!("{}: {how_far}", spec.id()));
            }
        }
    }
    Ok((done, open))
}

/// An absolute path among the arguments, written relative to the working directory (the repository, when the
/// report goes to docs/), so that the report names no machine's directories; anything else unchanged.
fn relative(arg: &str) -> String {
    let path = Path::new(arg);
    let Ok(cwd) = std::env::current_dir() else {
        return arg.to_string();
    };
    if !path.is_absolute() {
        return arg.to_string();
    }
    let (a, b): (Vec<_>, Vec<_>) = (path.components().collect(), cwd.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return arg.to_string();
    }
    let mut rel = PathBuf::new();
    for _ in common..b.len() {
        rel.push("..");
    }
    for c in &a[common..] {
        rel.push(c);
    }
    let text = rel.display().to_string();
    if text.is_empty() {
        ".".into()
    } else {
        text
    }
}

/// `--job FILE`: trains one planned run into its directory under --out (resuming from its checkpoint).
fn run_job(args: &Args, file: &Path) -> Result<i32> {
    let spec = plan::read_job(file)?;
    spec.validate()?;
    let source = DataSource::resolve(args.common.data.as_deref());
    let progress = Progress::new(args.common.quiet);
    let data = source.load()?;
    let dir = run_dir(&args.out, &spec);
    let opts = args.common.options();
    let r = dualprop::with_float!(
        spec.precision,
        kernels T => dualprop::experiments::train::run::<T>(&spec, &data, &dir, &opts, &progress)
    )?;
    println!(
        "{}: {:?} after {} epochs ({:.1} s); outputs in {}",
        spec.id(),
        r.status,
        r.epochs_completed,
        r.wall_seconds,
        dir.display()
    );
    Ok(0)
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io(p, e))
}

/// `--plan DIR`: the jobs, the Slurm and parallel scripts and gather.sh for `specs`.
fn write_plan(args: &Args, dir: &Path, specs: &[RunSpec]) -> Result<i32> {
    let program = std::env::current_exe().map_err(|e| Error::io(Path::new("dualprop"), e))?;
    let source = DataSource::resolve(args.common.data.as_deref());
    let data = match &source {
        DataSource::Dir(d) => Some(absolute(d)?),
        DataSource::Embedded => None,
    };
    let cmd = plan::JobCommand {
        program: program.clone(),
        out: absolute(&args.out)?,
        data,
        keep_checkpoints: args.common.keep_checkpoints,
    };
    // gather.sh: this very command, from this directory, with --report-only instead of --plan.
    let mut words = vec![plan::shell_quote(&program.display().to_string())];
    let mut given = std::env::args().skip(1);
    while let Some(a) = given.next() {
        if a == "--plan" {
            given.next();
        } else if !a.starts_with("--plan=") {
            words.push(plan::shell_quote(&a));
        }
    }
    words.push("--report-only".into());
    let cwd = std::env::current_dir().map_err(|e| Error::io(Path::new("."), e))?;
    let unset = if cmd.data.is_none() {
        "unset DUALPROP_MNIST\n"
    } else {
        ""
    };
    let gather = format!(
        "cd {}\n{unset}exec {}",
        plan::shell_quote(&cwd.display().to_string()),
        words.join(" ")
    );
    let target = match args.target {
        Target::Table1 => "table1",
        Target::Fig1 => "fig1",
        Target::Fig2 => "fig2",
        Target::Fig3 => "fig3",
    };
    let files = plan::write_plan(dir, specs, &cmd, target, &gather)?;
    println!(
        "wrote {} jobs into {}; see {} (Slurm: {}, gather: {})",
        specs.len(),
        dir.join("jobs").display(),
        files.readme.display(),
        files.slurm.display(),
        files.gather.display()
    );
    Ok(0)
}

pub fn run(args: Args) -> Result<i32> {
    if let Some(file) = &args.job {
        return run_job(&args, file);
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
        return write_plan(&args, dir, &specs);
    }
    let progress = Progress::new(args.common.quiet);
    progress.log(&format!("loading MNIST from {}", source.describe()));
    let data = source.load()?;
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    let (results, unfinished) = if args.report_only {
        finished_only(&specs, &args.out)?
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
    let curves = curves(&args.out, &results)?;
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
    let gain_runs = gain_runs(&args.out, &results)?;
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
    let accuracy_runs = accuracy_runs(&args.out, &results)?;
    if !accuracy_runs.is_empty() && args.target == Target::Table1 {
        written.extend(accuracy::write(&accuracy_runs, &args.out)?);
    }
    if let Some(doc) = &args.doc {
        let doc_dir = doc.parent().map(Path::to_path_buf).unwrap_or_default();
        let fig_dir = doc_dir.join("figures");
        let mut figs = Vec::new();
        let mut fig3_file = None;
        if !gain_runs.is_empty() {
            fig3::write(&gain_runs, &fig_dir)?;
            fig3_file = Some(("figures/fig3.png".to_string(), fig3::summary(&gain_runs)));
        }
        let mut accuracy_file = None;
        if !accuracy_runs.is_empty() {
            accuracy::write(&accuracy_runs, &fig_dir)?;
            accuracy_file = Some(format!("figures/{}.png", accuracy::FILE_STEM));
        }
        if !curves.is_empty() {
            for which in [1, 2] {
                for p in figures::write(which, &curves, &fig_dir)? {
                    figs.push(format!(
                        "figures/{}",
                        p.file_name().unwrap_or_default().to_string_lossy()
                    ));
                }
            }
        }
        let command = std::env::args()
            .enumerate()
            .map(|(i, a)| {
                if i == 0 {
                    "dualprop".to_string()
                } else {
                    relative(&a)
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
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
            figures: figs,
            accuracy_figure: accuracy_file,
            fig3: fig3_file,
            session_seconds: started.elapsed().as_secs_f64(),
            runs_planned: specs.len(),
            unfinished,
        };
        let metrics_of = |r: &RunResult| -> Vec<EpochMetrics> {
            read_jsonl(&RunFiles::new(&run_dir(&args.out, &r.spec)).metrics).unwrap_or_default()
        };
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
