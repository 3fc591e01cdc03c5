//! Where the time of a training step goes, phase by phase (best of N, to see through a shared machine's noise):
//! `cargo bench --bench phases [-- threads reps]`. The stages and their split are `dualprop::perf::profile`'s,
//! the same that `dualprop perf` reports.

use std::time::Instant;

use dualprop::kernels::KernelFloat;
use dualprop::perf::profile::{our_stages, split, Phase};
use dualprop::perf::roofline::{roofline, Roofline};
use dualprop::perf::workload::{EstimatorId, PAPER_BATCH, PAPER_WIDTHS};
use dualprop::perf::Plan;

fn phases<T: KernelFloat>(name: &str, plan: &Plan) {
    let par = plan.options().par();
    let (macs, roof) = roofline::<T>(&PAPER_WIDTHS, PAPER_BATCH, par, 1, plan.reps);
    let rate = 2.0 * macs as f64 / roof.as_secs_f64() / 1e9;
    println!(
        "{name}: roofline {:.2} ms ({rate:.1} GFLOP/s)",
        roof.as_secs_f64() * 1e3
    );
    for id in [
        EstimatorId::BackPropagation,
        EstimatorId::DpPlusK1,
        EstimatorId::DpPlusK30,
    ] {
        let profile = split(&our_stages::<T>(id, plan).unwrap(), rate);
        let parts: Vec<String> = Phase::ALL
            .iter()
            .map(|ph| format!("{} {:.2}", ph.label(), profile.phases_s[ph] * 1e3))
            .collect();
        println!(
            "{name}: {}: step {:.2} ms = {} ms",
            id.label(),
            profile.step_s * 1e3,
            parts.join(" + ")
        );
    }
}

/// The roofline with one thread, faer's two threads and two threads as row-block tasks, alternating, to see what
/// each way of using the second core brings on this machine now.
fn threads_gain<T: KernelFloat>(name: &str, reps: usize) {
    use dualprop::kernels::dense::Exec;
    let mut r = Roofline::<T>::new(&PAPER_WIDTHS, PAPER_BATCH);
    let modes = [
        ("1 thread", Exec::Faer(faer::Par::Seq)),
        ("faer Par::rayon(2)", Exec::Faer(faer::Par::rayon(2))),
        ("row-block tasks", Exec::RowTasks),
    ];
    let mut times = vec![Vec::new(); modes.len()];
    for _ in 0..reps {
        for (i, (_, exec)) in modes.iter().enumerate() {
            let t = Instant::now();
            r.run(*exec);
            times[i].push(t.elapsed());
        }
    }
    for ((label, _), t) in modes.iter().zip(times) {
        let med = dualprop::perf::measurement::median(t).as_secs_f64() * 1e3;
        println!("{name}: roofline median, {label}: {med:.2} ms");
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let threads = args.first().copied().unwrap_or(2);
    let reps = args.get(1).copied().unwrap_or(10);
    let plan = Plan {
        reps,
        ..Plan::full(threads)
    };
    threads_gain::<f32>("f32", reps);
    threads_gain::<f64>("f64", reps);
    phases::<f32>("f32", &plan);
    phases::<f64>("f64", &plan);
}
