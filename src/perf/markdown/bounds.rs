//! What bounds the report's numbers: the counts and design facts behind them, and why the targets against JAX
//! read as they do (from the run's own phase profiles).

use std::fmt::Write as _;

use super::super::measurement::Mode;
use super::super::report::Report;
use super::super::workload::EstimatorId;

impl Report {
    /// What bounds these numbers: counts and design facts computed from the run's shapes, no measurement.
    pub(super) fn bounds(&self, s: &mut String) {
        let p: usize = self.widths.windows(2).map(|w| w[0] * w[1]).sum();
        let macs = |id| {
            self.floats
                .values()
                .find_map(|r| r.step(Mode::Default, id).map(|st| st.macs))
        };
        let _ = writeln!(s, "What bounds these numbers (counts, not measurements):\n");
        if let (Some(bp), Some(dp)) = (
            macs(EstimatorId::BackPropagation),
            macs(EstimatorId::DpPlusK1),
        ) {
            let same = if bp == dp { "the same" } else { "not the same" };
            let _ = writeln!(
                s,
                "- A DP+ K=1 step executed {dp:.3e} multiply-adds in its dense products and a back-propagation \
                 step {bp:.3e}: {same} products. Beyond them it sets up the dual states and runs the fused layer \
                 updates of one up-down sweep over {} x {} states.",
                self.widths[1..].iter().sum::<usize>(),
                self.batch,
            );
        }
        let _ = writeln!(
            s,
            "- Adam reads and writes 7 values per parameter (parameter, gradient, two moments): {:.0} MB per step \
             in f32 and {:.0} MB in f64 for the {p} weights, memory-bound work no product's GFLOP/s covers.\n\
             - The products run as row-block tasks (`KernelOptions::row_tasks`, the default): independent \
             sequential faer products on blocks of output rows, which rayon balances; faer's `Par::rayon(n)` runs \
             each product as one fork-join over the threads instead, so a product waits for its slowest share. \
             The tables above give each mode's times in this run.\n\
             - The reference is compared at a small batch: at batch 1 or so the kernel's products are \
             matrix-vector products bound by reading the weights, so its speed-up over the reference grows with \
             the batch.\n",
            7.0 * p as f64 * 4.0 / 1e6,
            7.0 * p as f64 * 8.0 / 1e6,
        );
    }

    /// Why the targets against JAX read as they do, from this run's phase profiles: XLA's GEMM rate at the step's
    /// shapes against faer's, and our step's products alone at faer's rate against JAX's whole step. Omitted
    /// where no peer profile was measured.
    pub(super) fn jax_gap(&self, s: &mut String) {
        let mut lines = Vec::new();
        for (float, r) in &self.floats {
            let Some(peer) = &r.peer else {
                continue;
            };
            for (&id, ours) in &r.profile {
                let (Some(jax), Some(step)) = (peer.profile.get(&id), r.step(Mode::Default, id))
                else {
                    continue;
                };
                if !(ours.gemm_gflops > 0.0 && jax.gemm_gflops > 0.0 && jax.step_s > 0.0) {
                    continue;
                }
                // Both steps execute the same products; charge each at its own library's GEMM rate and compare
                // that difference with the difference of the whole steps (both from the phase profiles).
                let at = |gflops: f64| 2.0 * step.macs as f64 / (gflops * 1e9);
                let (ours_products, jax_products) = (at(ours.gemm_gflops), at(jax.gemm_gflops));
                let products_gap = ours_products - jax_products;
                let step_gap = ours.step_s - jax.step_s;
                let reading = if step_gap <= 0.0 {
                    "so our whole step is not the slower one here".to_string()
                } else if products_gap >= step_gap {
                    "so the GEMM rate accounts for the whole gap: outside the products our step is the faster"
                        .to_string()
                } else {
                    format!(
                        "so the GEMM rate accounts for {:.2} ms of the {:.2} ms gap and the other {:.2} ms lie \
                         outside the products",
                        products_gap.max(0.0) * 1e3,
                        step_gap * 1e3,
                        (step_gap - products_gap.max(0.0)) * 1e3
                    )
                };
                lines.push(format!(
                    "- {float}, {}: XLA's products run at {:.1} GFLOP/s at this step's shapes, faer's at {:.1} \
                     (XLA / faer = {:.2}x). Charged at those rates, the step's products ({:.3e} multiply-adds) take \
                     {:.2} ms ours and {:.2} ms JAX's ({:+.2} ms); the whole steps take {:.2} ms and {:.2} ms \
                     ({:+.2} ms), {reading}.",
                    id.label(),
                    jax.gemm_gflops,
                    ours.gemm_gflops,
                    jax.gemm_gflops / ours.gemm_gflops,
                    step.macs as f64,
                    ours_products * 1e3,
                    jax_products * 1e3,
                    products_gap * 1e3,
                    ours.step_s * 1e3,
                    jax.step_s * 1e3,
                    step_gap * 1e3,
                ));
            }
        }
        if lines.is_empty() {
            return;
        }
        let _ = writeln!(
            s,
            "Why the targets against JAX read as they do (measured in this run, from the phase profiles above):\n"
        );
        for line in lines {
            let _ = writeln!(s, "{line}");
        }
        s.push('\n');
    }
}
