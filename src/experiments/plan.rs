//! A sweep written out for a scheduler: one self-contained job per run (its spec and the command that trains
//! it), a Slurm job-array script, the GNU parallel and xargs lines, and the command that gathers the results.
//! Each job trains into its own run directory (`<out>/runs/<id>`) and resumes from its checkpoint, so a job
//! that is killed and started again goes on where its last epoch ended.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::experiments::spec::RunSpec;

/// What a job's command line needs besides its spec file.
#[derive(Debug, Clone)]
pub struct JobCommand {
    /// The `dualprop` executable (absolute, so that the jobs run from any directory).
    pub program: PathBuf,
    /// The sweep's output directory (absolute).
    pub out: PathBuf,
    /// `--data DIR` (absolute); None: the embedded subset (the job unsets `DUALPROP_MNIST`).
    pub data: Option<PathBuf>,
    /// Pass `--keep-checkpoints` to every job (keep each run's last checkpoint after it ends).
    pub keep_checkpoints: bool,
}

/// The files a plan consists of.
#[derive(Debug, Clone)]
pub struct PlanFiles {
    /// `jobs/NNN.json` (the spec) and `jobs/NNN.sh` (the command), in run order.
    pub jobs: Vec<PathBuf>,
    /// `jobs.txt`: the job scripts, one a line (input of GNU parallel and xargs).
    pub list: PathBuf,
    /// `slurm.sh`: a job array, task i runs line i + 1 of jobs.txt.
    pub slurm: PathBuf,
    /// `gather.sh`: the table, figures and report from whatever has finished.
    pub gather: PathBuf,
    /// `README.md`: how to run the plan.
    pub readme: PathBuf,
}

/// `s` quoted for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn quote_path(p: &Path) -> String {
    shell_quote(&p.display().to_string())
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

fn executable(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

/// The shell script of one job: trains the spec in `spec_file` into `cmd.out`.
fn job_script(cmd: &JobCommand, spec_file: &Path, target: &str) -> String {
    let mut line = format!(
        "exec {} reproduce {target} --job {} --out {} --quiet",
        quote_path(&cmd.program),
        quote_path(spec_file),
        quote_path(&cmd.out)
    );
    if let Some(d) = &cmd.data {
        line += &format!(" --data {}", quote_path(d));
    }
    if cmd.keep_checkpoints {
        line += " --keep-checkpoints";
    }
    let data_env = if cmd.data.is_none() {
        "unset DUALPROP_MNIST  # the embedded subset, whatever the environment says\n"
    } else {
        ""
    };
    format!("#!/bin/sh\n# One run of the sweep; resumes from its checkpoint if it was interrupted.\nset -e\n{data_env}{line}\n")
}

/// Writes the plan for `specs` into `dir`; `gather` is the shell text that builds the table afterwards.
pub fn write_plan(
    dir: &Path,
    specs: &[RunSpec],
    cmd: &JobCommand,
    target: &str,
    gather: &str,
) -> Result<PlanFiles> {
    let jobs_dir = dir.join("jobs");
    for d in [&jobs_dir, &dir.join("logs")] {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let mut jobs = Vec::new();
    let mut list = String::new();
    for (i, spec) in specs.iter().enumerate() {
        let json = jobs_dir.join(format!("{i:03}.json"));
        let text = serde_json::to_string_pretty(spec).map_err(|e| Error::Format(e.to_string()))?;
        write(&json, &(text + "\n"))?;
        let sh = jobs_dir.join(format!("{i:03}.sh"));
        write(&sh, &job_script(cmd, &json, target))?;
        executable(&sh)?;
        list += &format!("{}\n", sh.display());
        jobs.extend([json, sh]);
    }
    let list_file = dir.join("jobs.txt");
    write(&list_file, &list)?;
    let slurm = dir.join("slurm.sh");
    write(
        &slurm,
        &format!(
            "#!/bin/bash\n\
             # Submit with: sbatch {slurm_q}   (task i runs line i + 1 of jobs.txt; re-submitting resumes)\n\
             #SBATCH --job-name=dualprop-{target}\n\
             #SBATCH --array=0-{last}\n\
             #SBATCH --cpus-per-task=2\n\
             #SBATCH --output={logs}/%A_%a.out\n\
             set -euo pipefail\n\
             job=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {list_q})\n\
             exec bash \"$job\"\n",
            slurm_q = quote_path(&slurm),
            last = specs.len().saturating_sub(1),
            logs = dir.join("logs").display(),
            list_q = quote_path(&list_file),
        ),
    )?;
    executable(&slurm)?;
    let gather_file = dir.join("gather.sh");
    write(
        &gather_file,
        &format!("#!/bin/sh\n# Table, figures and report from the runs finished so far (unfinished runs are listed).\nset -e\n{gather}\n"),
    )?;
    executable(&gather_file)?;
    let readme = dir.join("README.md");
    write(
        &readme,
        &format!(
            "# A dualprop sweep: {n} runs\n\n\
             Each `jobs/NNN.sh` trains the run specified in `jobs/NNN.json` into `{out}/runs/<id>/` and resumes from \
             its checkpoint when started again. Run them with any of:\n\n\
             ```\n\
             sbatch {slurm}                         # Slurm job array, one task per run\n\
             parallel --jobs 2 bash :::: {list}     # GNU parallel on one machine\n\
             xargs -P 2 -n 1 bash < {list}          # without GNU parallel\n\
             ```\n\n\
             Then, at any time (partial results are fine): `sh {gather}`.\n",
            n = specs.len(),
            out = cmd.out.display(),
            slurm = quote_path(&slurm),
            list = quote_path(&list_file),
            gather = quote_path(&gather_file),
        ),
    )?;
    Ok(PlanFiles {
        jobs,
        list: list_file,
        slurm,
        gather: gather_file,
        readme,
    })
}

/// Reads a job's spec file.
pub fn read_job(path: &Path) -> Result<RunSpec> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::Format(format!("job spec {}: {e}", path.display())))
}

/// gather.sh's text: `program` with the planning command's arguments `args` (its own name left out), `--plan DIR`
/// replaced by `--report-only`, run from `cwd`; with the embedded data, `DUALPROP_MNIST` unset so that the report
/// reads the same data the jobs trained on.
pub fn gather_script(
    program: &Path,
    mut args: impl Iterator<Item = String>,
    cwd: &Path,
    embedded: bool,
) -> String {
    let mut words = vec![shell_quote(&program.display().to_string())];
    while let Some(a) = args.next() {
        if a == "--plan" {
            args.next();
        } else if !a.starts_with("--plan=") {
            words.push(shell_quote(&a));
        }
    }
    words.push("--report-only".into());
    let unset = if embedded {
        "unset DUALPROP_MNIST\n"
    } else {
        ""
    };
    format!(
        "cd {}\n{unset}exec {}",
        shell_quote(&cwd.display().to_string()),
        words.join(" ")
    )
}
