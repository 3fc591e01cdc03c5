//! `dualprop perf`: measures the kernels on the paper's network (784-1000-1000-1000-1000-10, batch 100) in f32
//! and f64, against faer's own matrix multiply (the roofline), the reference and a JAX peer, and writes
//! docs/performance.md.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::kernels::bench::{
    backprop_macs, batch, estimators, median, paper_network, time_median, Roofline, PAPER_BATCH,
    PAPER_WIDTHS,
};
use crate::kernels::{KernelFloat, KernelOptions, Trainer, Workspace};
use crate::reference::{AdamConfig, Config, Matrix, Method};

/// Arguments of `dualprop perf`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the report [default: docs/performance.md; with --quick: target/performance-quick.md].
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
    /// Internal: train a few steps of one estimator ("f32:0" = float type and estimator index) in this
    /// process and print its peak resident memory.
    #[arg(long, hide = true)]
    pub memory_probe: Option<String>,
    /// Internal: training steps of a memory probe.
    #[arg(long, hide = true, default_value_t = 3)]
    pub probe_steps: usize,
}

/// Repetitions and sizes of one run.
struct Plan {
    warmup: usize,
    reps: usize,
    /// Batch at which the reference and the kernel are compared (the reference is slow).
    ref_batch: usize,
    /// Training steps of each memory probe.
    probe_steps: usize,
    opts: KernelOptions,
}

/// One training-step row of the table.
struct StepRow {
    name: &'static str,
    time: Duration,
    macs: u64,
    iterations: usize,
    verdict: String,
}

/// Everything measured for one float type.
struct TypeReport {
    float: &'static str,
    roof_macs: u64,
    roof_time: Duration,
    /// The same with one thread (roofline time, back-propagation and DP+ K=1 steps), measured in the same rounds.
    /// Other ways to use the threads (label, roofline time, back-propagation and DP+ K=1 steps), measured in
    /// the same rounds: one thread, and two threads as row-block tasks.
    variants: Vec<(&'static str, Duration, Vec<StepRow>)>,
    steps: Vec<StepRow>,
    /// (K, reference time, kernel time at the same batch, kernel time at batch 100)
    inference: Vec<(usize, Duration, Duration, Duration)>,
    peak_bytes: Vec<(&'static str, Option<u64>, usize)>,
}

pub fn run(args: Args) -> Result<i32> {
    if let Some(spec) = &args.memory_probe {
        return memory_probe(spec, args.threads, args.probe_steps);
    }
    let plan = if args.quick {
        Plan {
            warmup: 0,
            reps: 1,
            ref_batch: 1,
            probe_steps: 1,
            opts: KernelOptions {
                threads: args.threads,
                early_exit: true,
                ..KernelOptions::default()
            },
        }
    } else {
        Plan {
            warmup: 2,
            reps: 10,
            ref_batch: 8,
            probe_steps: 3,
            opts: KernelOptions {
                threads: args.threads,
                early_exit: true,
                ..KernelOptions::default()
            },
        }
    };
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(if args.quick {
            "target/performance-quick.md"
        } else {
            "docs/performance.md"
        })
    });
    let started = Instant::now();
    let load_before = load_average();
    eprintln!("dualprop perf: f32 ...");
    let f32_report = measure::<f32>("f32", &plan)?;
    eprintln!("dualprop perf: f64 ...");
    let f64_report = measure::<f64>("f64", &plan)?;
    let want_peer =
        !args.no_peer && (!args.quick || std::env::var("DUALPROP_CI_PEER").as_deref() == Ok("1"));
    let peer = if want_peer {
        eprintln!("dualprop perf: JAX peer ...");
        Some(run_peer(if args.quick { 3 } else { 20 }))
    } else {
        None
    };
    let elapsed = started.elapsed();
    let load = (load_before, load_average());
    let reports = [f32_report, f64_report];
    let doc = render(&args, &plan, &reports, peer.as_ref(), elapsed, load);
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    std::fs::write(&out, doc).map_err(|e| io_err(&out, e))?;
    eprintln!(
        "dualprop perf: wrote {} in {:.0} s",
        out.display(),
        elapsed.as_secs_f64()
    );
    Ok(0)
}

fn io_err(path: &std::path::Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn measure<T: KernelFloat>(float: &'static str, plan: &Plan) -> Result<TypeReport> {
    let widths = PAPER_WIDTHS;
    let par = plan.opts.par();
    let net = paper_network::<T>(&widths, 0)?;
    let (x, y) = batch::<T>(&widths, PAPER_BATCH, 1);
    // Round-robin: each round times the roofline once and one step of every estimator, so that a change in the
    // shared machine's load touches all of them alike and the ratios stay meaningful.
    let mut roof = Roofline::<T>::new(&widths, PAPER_BATCH);
    let mut trainers = estimators()
        .into_iter()
        .map(|(name, est)| {
            Ok((
                name,
                Trainer::new(&net, est, AdamConfig::default(), PAPER_BATCH)?
                    .with_options(plan.opts),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    // One-thread twins of the first two estimators (back-propagation, DP+ K=1), when the default is parallel.
    // Variants of the first two estimators (back-propagation, DP+ K=1), when the default is parallel.
    let variant_opts: Vec<(&'static str, KernelOptions)> = if plan.opts.threads > 1 {
        vec![
            (
                "1 thread",
                KernelOptions {
                    threads: 1,
                    ..plan.opts
                },
            ),
            (
                "row-block tasks",
                KernelOptions {
                    row_tasks: true,
                    ..plan.opts
                },
            ),
        ]
    } else {
        Vec::new()
    };
    for (_, opts) in &variant_opts {
        for (name, est) in estimators().into_iter().take(2) {
            trainers.push((
                name,
                Trainer::new(&net, est, AdamConfig::default(), PAPER_BATCH)?.with_options(*opts),
            ));
        }
    }
    let mut variant_roof_times = vec![Vec::new(); variant_opts.len()];
    let mut roof_times = Vec::new();
    let mut step_times = vec![Vec::new(); trainers.len()];
    let mut last = Vec::new();
    let mut roof_macs = 0;
    for round in 0..plan.warmup + plan.reps {
        let start = Instant::now();
        roof_macs = roof.run(par);
        let t = start.elapsed();
        for (i, (_, opts)) in variant_opts.iter().enumerate() {
            let start = Instant::now();
            roof.run(opts.par());
            if round >= plan.warmup {
                variant_roof_times[i].push(start.elapsed());
            }
        }
        if round >= plan.warmup {
            roof_times.push(t);
        }
        last.clear();
        for (i, (_, trainer)) in trainers.iter_mut().enumerate() {
            let start = Instant::now();
            let step = trainer.step(&x, &y, PAPER_BATCH)?;
            let t = start.elapsed();
            if round >= plan.warmup {
                step_times[i].push(t);
            }
            last.push(step);
        }
    }
    let roof_time = median(roof_times);
    let mut steps: Vec<StepRow> = trainers
        .iter()
        .zip(step_times)
        .zip(last)
        .map(|(((name, trainer), times), step)| StepRow {
            name,
            time: median(times),
            macs: trainer.last_macs(),
            iterations: step.iterations_run,
            verdict: step.verdict.map_or("-".into(), |v| v.label()),
        })
        .collect();
    let mut variant_steps = steps.split_off(estimators().len());
    let mut variants = Vec::new();
    for ((label, _), times) in variant_opts.iter().zip(variant_roof_times) {
        let rest = variant_steps.split_off(2);
        variants.push((
            *label,
            median(times),
            std::mem::replace(&mut variant_steps, rest),
        ));
    }
    let mut inference = Vec::new();
    for k in [1usize, 30] {
        let cfg = Config::new(Method::DpPlus, 0.0, 0.5, k);
        let (rx, ry) = batch::<T>(&widths, plan.ref_batch, 2);
        let xm = Matrix::from_vec(plan.ref_batch, widths[0], rx.clone())?;
        let ym = Matrix::from_vec(plan.ref_batch, widths[5], ry.clone())?;
        let start = Instant::now();
        crate::reference::infer(&net, &cfg, &xm, &ym)?;
        let reference = start.elapsed();
        let small = time_kernel_inference(&net, &cfg, &rx, &ry, plan.ref_batch, plan)?;
        let large = time_kernel_inference(&net, &cfg, &x, &y, PAPER_BATCH, plan)?;
        inference.push((k, reference, small, large));
    }
    let mut peak_bytes = Vec::new();
    for (i, (name, est)) in estimators().into_iter().enumerate() {
        let trainer = Trainer::new(&net, est, AdamConfig::default(), PAPER_BATCH)?;
        peak_bytes.push((name, probe_peak(float, i, plan), trainer.total_bytes()));
    }
    Ok(TypeReport {
        float,
        roof_macs,
        roof_time,
        variants,
        steps,
        inference,
        peak_bytes,
    })
}

/// Median time of the kernel's feed-forward pass plus inference sweep on a preallocated workspace.
fn time_kernel_inference<T: KernelFloat>(
    net: &crate::reference::Network<T>,
    cfg: &Config,
    x: &[T],
    y: &[T],
    batch: usize,
    plan: &Plan,
) -> Result<Duration> {
    let mut ws = Workspace::<T>::new(&net.widths(), batch)?;
    let order = cfg.schedule.layer_order(net.depth());
    let par = plan.opts.par();
    Ok(time_median(plan.warmup, plan.reps, || {
        let scale = crate::kernels::dense::forward(net, &mut ws, x, batch, par);
        crate::kernels::inference::infer(net, cfg, &order, &mut ws, x, y, batch, scale, &plan.opts);
    }))
}

/// Peak resident memory (VmHWM) of a separate process that builds one trainer and trains `plan.probe_steps` steps.
fn probe_peak(float: &str, estimator: usize, plan: &Plan) -> Option<u64> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new(exe)
        .args(["perf", "--threads", &plan.opts.threads.to_string()])
        .args([
            "--probe-steps",
            &plan.probe_steps.to_string(),
            "--memory-probe",
        ])
        .arg(format!("{float}:{estimator}"))
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn memory_probe(spec: &str, threads: usize, steps: usize) -> Result<i32> {
    let (float, index) = spec
        .split_once(':')
        .and_then(|(f, i)| Some((f, i.parse::<usize>().ok()?)))
        .ok_or_else(|| Error::Format(format!("memory probe spec {spec:?}")))?;
    let opts = KernelOptions {
        threads,
        early_exit: true,
        ..KernelOptions::default()
    };
    match float {
        "f32" => probe_steps::<f32>(index, opts, steps)?,
        "f64" => probe_steps::<f64>(index, opts, steps)?,
        _ => return Err(Error::Format(format!("float type {float:?}"))),
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!("{}", kib * 1024);
    Ok(0)
}

fn probe_steps<T: KernelFloat>(index: usize, opts: KernelOptions, steps: usize) -> Result<()> {
    let widths = PAPER_WIDTHS;
    let (_, est) = estimators()
        .into_iter()
        .nth(index)
        .ok_or_else(|| Error::Format(format!("estimator index {index}")))?;
    let net = paper_network::<T>(&widths, 0)?;
    let (x, y) = batch::<T>(&widths, PAPER_BATCH, 1);
    let mut trainer =
        Trainer::new(&net, est, AdamConfig::default(), PAPER_BATCH)?.with_options(opts);
    for _ in 0..steps {
        trainer.step(&x, &y, PAPER_BATCH)?;
    }
    Ok(())
}

/// The JAX peer's seconds per step for f32 and f64, or why it could not run.
fn run_peer(repeats: usize) -> std::result::Result<(String, f64, f64), String> {
    let script = PathBuf::from("benches/peers/run_jax.sh");
    if !script.exists() {
        return Err(format!(
            "{} not found (run from the repository root)",
            script.display()
        ));
    }
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(["--repeats", &repeats.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("peer failed: {}", err.lines().last().unwrap_or("")));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let f = |k: &str| v[k].as_f64().ok_or(format!("no {k} in peer output"));
    Ok((
        v["jax"].as_str().unwrap_or("?").to_string(),
        f("f32")?,
        f("f64")?,
    ))
}

/// The 1-minute load average (how many runnable processes shared the cores).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn gflops(macs: u64, d: Duration) -> f64 {
    2.0 * macs as f64 / d.as_secs_f64() / 1e9
}

fn machine() -> (String, String) {
    let lscpu = std::process::Command::new("lscpu")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let field = |name: &str| {
        lscpu
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| "?".into())
    };
    (field("Model name:"), field("CPU(s):"))
}

fn render(
    args: &Args,
    plan: &Plan,
    reports: &[TypeReport],
    peer: Option<&std::result::Result<(String, f64, f64), String>>,
    elapsed: Duration,
    load: (String, String),
) -> String {
    let (model, cpus) = machine();
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut s = String::new();
    let cmd = if args.quick {
        "dualprop perf --quick"
    } else {
        "cargo run --release -- perf"
    };
    let _ = writeln!(s, "# Performance of the kernels\n");
    let _ = writeln!(
        s,
        "Generated by `{cmd}` (threads = {}) on {date}, in {:.0} s. Machine: {model}, {cpus} CPU(s). The machine \
         was shared with other jobs (1-minute load average {} at the start of the run and {} at the end, on {cpus} \
         CPU(s)), so absolute times are slower and noisier than on an idle machine; every ratio below compares \
         numbers measured in this one run.\n",
        plan.opts.threads,
        elapsed.as_secs_f64(),
        load.0,
        load.1
    );
    let _ = writeln!(
        s,
        "Network 784-1000-1000-1000-1000-10 (ReLU, least squares), batch {PAPER_BATCH}, PyTorch-default \
         initialisation (seed 0), one seeded batch of uniform pixels and one-hot targets. Times are medians of \
         {} round(s) after {} warm-up round(s); each round times the roofline and one step of every estimator in turn, \
         so that the shared machine's changing load affects all of them alike. DP variants use the up-down schedule, alpha = 0, beta = 1/2, the \
         exact early exit on. GFLOP/s count 2 flops per multiply-add actually executed by the dense products \
         (elementwise work is not counted); a back-propagation step executes B (3P - P_1) = {:.3e} multiply-adds \
         (P = weights, P_1 = weights of the first layer, which needs no backward product).\n",
        plan.reps,
        plan.warmup,
        backprop_macs(&PAPER_WIDTHS, PAPER_BATCH) as f64
    );
    for r in reports {
        let roof = gflops(r.roof_macs, r.roof_time);
        let _ = writeln!(s, "## {}\n", r.float);
        let _ = writeln!(
            s,
            "Roofline: faer's `matmul` alone at the {} products of a back-propagation step, in the kernels' layouts: \
             {:.2} ms, **{:.1} GFLOP/s**.\n",
            3 * (PAPER_WIDTHS.len() - 1) - 1,
            ms(r.roof_time),
            roof
        );
        let _ = writeln!(
            s,
            "| training step (inference, gradient, Adam) | time (ms) | multiply-adds | GFLOP/s | % of roofline | vs back-propagation | iterations run | verdict |"
        );
        let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        let bp = r.steps[0].time;
        for row in &r.steps {
            let g = gflops(row.macs, row.time);
            let _ = writeln!(
                s,
                "| {} | {:.2} | {:.3e} | {:.1} | {:.0}% | {:.2}x | {} | {} |",
                row.name,
                ms(row.time),
                row.macs as f64,
                g,
                100.0 * g / roof,
                row.time.as_secs_f64() / bp.as_secs_f64(),
                row.iterations,
                row.verdict
            );
        }
        for (label, roof1, rows) in &r.variants {
            let roof1_g = gflops(r.roof_macs, *roof1);
            let _ = writeln!(
                s,
                "\nWith {label}, in the same rounds: roofline {:.2} ms, **{:.1} GFLOP/s**.\n",
                ms(*roof1),
                roof1_g
            );
            let _ = writeln!(
                s,
                "| training step, {label} | time (ms) | GFLOP/s | % of its roofline | vs back-propagation ({label}) |"
            );
            let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: |");
            for row in rows {
                let g = gflops(row.macs, row.time);
                let _ = writeln!(
                    s,
                    "| {} | {:.2} | {:.1} | {:.0}% | {:.2}x |",
                    row.name,
                    ms(row.time),
                    g,
                    100.0 * g / roof1_g,
                    row.time.as_secs_f64() / rows[0].time.as_secs_f64()
                );
            }
        }
        let _ = writeln!(
            s,
            "\n| DP+ inference (feed-forward + sweep) | reference, batch {b} (ms) | kernel, batch {b} (ms) | speed-up | kernel, batch {PAPER_BATCH} (ms) | speed-up per sample |",
            b = plan.ref_batch
        );
        let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: | ---: |");
        for (k, reference, small, large) in &r.inference {
            let per_sample = (reference.as_secs_f64() / plan.ref_batch as f64)
                / (large.as_secs_f64() / PAPER_BATCH as f64);
            let _ = writeln!(
                s,
                "| K = {k} | {:.1} | {:.3} | {:.0}x | {:.2} | {:.0}x |",
                ms(*reference),
                ms(*small),
                reference.as_secs_f64() / small.as_secs_f64(),
                ms(*large),
                per_sample
            );
        }
        let _ = writeln!(
            s,
            "\nThe reference (`reference::infer`, one run, including its probe pass) is timed at batch {} only: \
             it is a plain triple loop. The speed-up at the same batch compares like with like; the per-sample \
             speed-up divides the reference's time per sample by the kernel's at batch {PAPER_BATCH}.\n",
            plan.ref_batch
        );
        let _ = writeln!(
            s,
            "| peak memory of a training step | process VmHWM (MiB) | trainer buffers (MiB) |"
        );
        let _ = writeln!(s, "| --- | ---: | ---: |");
        for (name, peak, held) in &r.peak_bytes {
            let peak = peak.map_or("?".into(), |p| format!("{:.1}", p as f64 / 1048576.0));
            let _ = writeln!(s, "| {name} | {peak} | {:.1} |", *held as f64 / 1048576.0);
        }
        let _ = writeln!(
            s,
            "\nVmHWM is the peak resident set of a separate process (`dualprop perf --memory-probe`) that builds \
             the network and one trainer and trains {} step(s) (it includes the binary and the initial network); \
             trainer buffers = workspace + weights + Adam's two moments.\n",
            plan.probe_steps
        );
    }
    render_targets(&mut s, reports, peer);
    let _ = writeln!(
        s,
        "What bounds these numbers:\n\n\
         - A DP+ K=1 step executes the same dense products as a back-propagation step (the multiply-add counts \
         above are equal); it differs only in elementwise work: setting up the dual states and the seven fused \
         layer updates of the up-down sweep, over about 4,000 x {PAPER_BATCH} states. Its ratio to \
         back-propagation is therefore a few percent above 1 on an idle machine, and within the run-to-run noise of \
         the shared machine here.\n\
         - Adam is memory-bound: it reads and writes 7 values per parameter (parameter, gradient, two moments), \
         about 106 MB per step in f32 and 212 MB in f64, which no product's GFLOP/s covers; it is the main gap \
         between a training step and the roofline.\n\
         - faer's `Par::rayon(2)` runs each product as one fork-join over both cores: when another process \
         holds a core, the product waits for its descheduled half, and on this shared machine it was slower than \
         one thread. The row-block tasks (`KernelOptions::row_tasks`) and one thread do not have this problem; \
         JAX's runtime neither, which is most of its lead here.\n\
         - The reference is compared at a small batch: at batch 1 or so the kernel's products are matrix-vector \
         products bound by reading the weights, so its speed-up over the reference grows with the batch.\n"
    );
    let _ = writeln!(s, "## Peer: JAX\n");
    match peer {
        None => {
            let _ = writeln!(
                s,
                "Not run (`--no-peer`, or `--quick` without DUALPROP_CI_PEER=1).\n"
            );
        }
        Some(Err(e)) => {
            let _ = writeln!(s, "Could not run: {e}\n");
        }
        Some(Ok((version, f32_s, f64_s))) => {
            let _ = writeln!(
                s,
                "The same back-propagation training step (network, batch, Adam) in JAX {version}, jit-compiled on \
                 the CPU (`benches/peers/run_jax.sh`, which installs JAX into target/peers-venv; median of its \
                 repetitions after three warm-up calls, as for our steps). It ran right after our measurements, \
                 in its own process, so it met the machine's load of a few minutes later.\n"
            );
            let _ = writeln!(s, "| float | JAX back-propagation step (ms) | our back-propagation step (ms) | our DP+ K=1 step (ms) | DP+ K=1 vs JAX |");
            let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: |");
            for (r, peer_s) in reports.iter().zip([f32_s, f64_s]) {
                let dp = r.steps[1].time.as_secs_f64();
                let _ = writeln!(
                    s,
                    "| {} | {:.2} | {:.2} | {:.2} | {:.2}x |",
                    r.float,
                    peer_s * 1e3,
                    ms(r.steps[0].time),
                    dp * 1e3,
                    dp / peer_s
                );
            }
            s.push('\n');
        }
    }
    s
}

/// The targets, each as measured in this run.
fn render_targets(
    s: &mut String,
    reports: &[TypeReport],
    peer: Option<&std::result::Result<(String, f64, f64), String>>,
) {
    let _ = writeln!(s, "## Targets\n");
    let _ = writeln!(s, "| target | float | measured | met |");
    let _ = writeln!(s, "| --- | --- | ---: | --- |");
    let verdict = |ok: bool| if ok { "yes" } else { "**no**" };
    for (i, r) in reports.iter().enumerate() {
        let roof = gflops(r.roof_macs, r.roof_time);
        let (bp, dp1) = (&r.steps[0], &r.steps[1]);
        let ratio = dp1.time.as_secs_f64() / bp.time.as_secs_f64();
        let _ = writeln!(
            s,
            "| DP+ K=1 step <= 1.15x back-propagation step | {} | {ratio:.2}x | {} |",
            r.float,
            verdict(ratio <= 1.15)
        );
        let pct = 100.0 * gflops(dp1.macs, dp1.time) / roof;
        let _ = writeln!(
            s,
            "| DP+ K=1 step >= 60% of the roofline | {} | {pct:.0}% | {} |",
            r.float,
            verdict(pct >= 60.0)
        );
        for (k, reference, small, _) in &r.inference {
            let speed = reference.as_secs_f64() / small.as_secs_f64();
            let _ = writeln!(
                s,
                "| kernel >= 20x the reference (DP+ K={k}, same batch) | {} | {speed:.0}x | {} |",
                r.float,
                verdict(speed >= 20.0)
            );
        }
        let peer_s = match peer {
            Some(Ok((_, f32_s, f64_s))) => Some(if i == 0 { *f32_s } else { *f64_s }),
            _ => None,
        };
        if let Some(peer_s) = peer_s {
            let ratio = dp1.time.as_secs_f64() / peer_s;
            let _ = writeln!(
                s,
                "| DP+ K=1 step no slower than JAX's back-propagation step | {} | {ratio:.2}x | {} |",
                r.float,
                verdict(ratio <= 1.0)
            );
        }
        for (label, roof1, rows) in &r.variants {
            let (bp1, dp1) = (&rows[0], &rows[1]);
            let ratio = dp1.time.as_secs_f64() / bp1.time.as_secs_f64();
            let _ = writeln!(
                s,
                "| DP+ K=1 step <= 1.15x back-propagation step ({label}) | {} | {ratio:.2}x | {} |",
                r.float,
                verdict(ratio <= 1.15)
            );
            let pct = 100.0 * gflops(dp1.macs, dp1.time) / gflops(r.roof_macs, *roof1);
            let _ = writeln!(
                s,
                "| DP+ K=1 step >= 60% of the roofline ({label}) | {} | {pct:.0}% | {} |",
                r.float,
                verdict(pct >= 60.0)
            );
            if let Some(peer_s) = peer_s {
                let ratio = dp1.time.as_secs_f64() / peer_s;
                let _ = writeln!(
                    s,
                    "| DP+ K=1 step ({label}) no slower than JAX's back-propagation step | {} | {ratio:.2}x | {} |",
                    r.float,
                    verdict(ratio <= 1.0)
                );
            }
        }
    }
    s.push('\n');
}
