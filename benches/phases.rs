//! Where the time of a training step goes, phase by phase (best of N, to see through a shared machine's noise):
//! `cargo bench --bench phases [-- threads reps]`.

use std::time::{Duration, Instant};

use dualprop::kernels::{dense, gradient, inference, KernelFloat, KernelOptions, Workspace};
use dualprop::perf::roofline::{roofline, Roofline};
use dualprop::perf::workload::{batch, paper_network, PAPER_BATCH, PAPER_WIDTHS};
use dualprop::reference::{AdamConfig, AdamState, Config, Method};

fn best(reps: usize, mut f: impl FnMut()) -> Duration {
    f();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn phases<T: KernelFloat>(name: &str, opts: KernelOptions, reps: usize) {
    let w = PAPER_WIDTHS;
    let b = PAPER_BATCH;
    let par = opts.par();
    let mut net = paper_network::<T>(&w, 0).unwrap();
    let (x, y) = batch::<T>(&w, b, 1);
    let mut ws = Workspace::<T>::new(&w, b).unwrap();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (macs, roof) = roofline::<T>(&w, b, par, 1, reps);
    println!(
        "{name}: roofline {:.2} ms ({:.1} GFLOP/s)",
        ms(roof),
        2.0 * macs as f64 / roof.as_secs_f64() / 1e9
    );
    let fwd = best(reps, || {
        dense::forward(&net, &mut ws, &x, b, par);
    });
    println!("{name}: forward {:.2} ms", ms(fwd));
    let bp = best(reps, || {
        dense::forward(&net, &mut ws, &x, b, par);
        gradient::backprop(&net, &mut ws, &x, &y, b, par);
    });
    println!("{name}: forward + backprop gradient {:.2} ms", ms(bp));
    for (label, cfg) in [
        ("DP+ K=1", Config::new(Method::DpPlus, 0.0, 0.5, 1)),
        ("DP+ K=30", Config::new(Method::DpPlus, 0.0, 0.5, 30)),
    ] {
        let order = cfg.schedule.layer_order(net.depth());
        let inf = best(reps, || {
            let s = dense::forward(&net, &mut ws, &x, b, par);
            inference::infer(&net, &cfg, &order, &mut ws, &x, &y, b, s, &opts);
        });
        let all = best(reps, || {
            let s = dense::forward(&net, &mut ws, &x, b, par);
            inference::infer(&net, &cfg, &order, &mut ws, &x, &y, b, s, &opts);
            gradient::dual_gradient(&net, &cfg, &mut ws, b, par);
        });
        println!(
            "{name}: {label} forward + inference {:.2} ms, + gradient {:.2} ms",
            ms(inf),
            ms(all)
        );
    }
    let grad = {
        dense::forward(&net, &mut ws, &x, b, par);
        gradient::backprop(&net, &mut ws, &x, &y, b, par);
        ws_grad(&mut ws)
    };
    let mut state = AdamState::new(&net);
    let adam = best(reps, || {
        dualprop::kernels::adam::update(
            &mut state,
            &AdamConfig::default(),
            &mut net,
            &grad,
            opts.threads,
        )
    });
    println!("{name}: adam {:.2} ms", ms(adam));
}

fn ws_grad<T: KernelFloat>(ws: &mut Workspace<T>) -> dualprop::reference::Gradients<T> {
    ws.gradient().clone()
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
    let opts = KernelOptions {
        threads,
        early_exit: true,
        ..KernelOptions::default()
    };
    threads_gain::<f32>("f32", reps);
    threads_gain::<f64>("f64", reps);
    phases::<f32>("f32", opts, reps);
    phases::<f64>("f64", opts, reps);
}
