//! Criterion benchmarks of the kernels on the paper's network (784-1000-1000-1000-1000-10, batch 100):
//! faer's matmul at a training step's shapes (the roofline), and one training step per estimator, f32 and f64.
//! `dualprop perf` measures the same things side by side and writes docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dualprop::kernels::{KernelFloat, KernelOptions, Trainer};
use dualprop::perf::roofline::Roofline;
use dualprop::perf::workload::{
    backprop_macs, batch, paper_network, EstimatorId, PAPER_BATCH, PAPER_WIDTHS,
};
use dualprop::reference::AdamConfig;

fn roofline<T: KernelFloat>(c: &mut Criterion, name: &str) {
    let par = KernelOptions::default().par();
    let mut roof = Roofline::<T>::new(&PAPER_WIDTHS, PAPER_BATCH);
    let mut group = c.benchmark_group(format!("roofline/{name}"));
    group.throughput(Throughput::Elements(backprop_macs(
        &PAPER_WIDTHS,
        PAPER_BATCH,
    )));
    group.sample_size(10);
    group.bench_function("faer matmul, back-propagation shapes", |b| {
        b.iter(|| roof.run(par))
    });
    group.finish();
}

fn training_steps<T: KernelFloat>(c: &mut Criterion, name: &str) {
    let net = paper_network::<T>(&PAPER_WIDTHS, 0).unwrap();
    let (x, y) = batch::<T>(&PAPER_WIDTHS, PAPER_BATCH, 1);
    let mut group = c.benchmark_group(format!("training step/{name}"));
    group.sample_size(10);
    for id in EstimatorId::ALL {
        let mut trainer = Trainer::new(&net, id.estimator(), AdamConfig::default(), PAPER_BATCH)
            .unwrap()
            .with_options(id.options(KernelOptions::default()));
        group.bench_function(id.label(), |b| {
            b.iter(|| trainer.step(&x, &y, PAPER_BATCH).unwrap())
        });
    }
    group.finish();
}

fn all(c: &mut Criterion) {
    roofline::<f32>(c, "f32");
    roofline::<f64>(c, "f64");
    training_steps::<f32>(c, "f32");
    training_steps::<f64>(c, "f64");
}

criterion_group!(benches, all);
criterion_main!(benches);
