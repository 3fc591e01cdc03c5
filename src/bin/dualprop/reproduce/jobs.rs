//! `dualprop reproduce --plan DIR` (one job file per run, for a cluster) and `--job FILE` (train one of them).

use std::path::{Path, PathBuf};

use super::{Args, Target};
use dualprop::error::{Error, Result};
use dualprop::experiments::data::DataSource;
use dualprop::experiments::plan;
use dualprop::experiments::progress::Progress;
use dualprop::experiments::spec::RunSpec;
use dualprop::experiments::sweep::run_dir;

/// `--job FILE`: trains one planned run into its directory under --out (resuming from its checkpoint).
pub(super) fn run_job(args: &Args, file: &Path) -> Result<i32> {
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
pub(super) fn write_plan(args: &Args, dir: &Path, specs: &[RunSpec]) -> Result<i32> {
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
    let cwd = std::env::current_dir().map_err(|e| Error::io(Path::new("."), e))?;
    let gather = plan::gather_script(&program, std::env::args().skip(1), &cwd, cmd.data.is_none());
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
