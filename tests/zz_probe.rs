mod common;
use common::*;
use dualprop::reference::*;
fn widen<T: Scalar>(g: &Gradients<T>) -> Gradients<f64> {
    Gradients { w: g.w.iter().map(|m| Matrix::from_fn(m.rows(), m.cols(), |i, j| m.get(i, j).to_f64().unwrap())).collect(),
        b: g.b.iter().map(|b| b.iter().map(|v| v.to_f64().unwrap()).collect()).collect() }
}
fn flat(g: &Gradients<f64>) -> Vec<f64> { g.w.iter().zip(&g.b).flat_map(|(w,b)| w.as_slice().iter().chain(b).copied().collect::<Vec<_>>()).collect() }
fn cos(a:&[f64],b:&[f64])->f64{ let d:f64=a.iter().zip(b).map(|(x,y)|x*y).sum(); d/(a.iter().map(|x|x*x).sum::<f64>().sqrt()*b.iter().map(|x|x*x).sum::<f64>().sqrt())}
#[test]
fn probe() {
    let cfg = Config::new(Method::DpPlus, 0.5, 0.5, 2);
    for seed in 0..16 {
        let c64 = case(&[4, 6, 5, 3], 3, Activation::Identity, Loss::LeastSquares, seed);
        let inf = infer(&c64.net, &cfg, &c64.x, &c64.y).unwrap();
        let g64 = dual_gradient(&c64.net, &cfg, &inf.states);
        let (_, bp) = backprop(&c64.net, &c64.x, &c64.y);
        let c16 = convert::<half::f16>(&c64);
        let i16 = infer(&c16.net, &cfg, &c16.x, &c16.y).unwrap();
        let g16 = widen(&dual_gradient(&c16.net, &cfg, &i16.states));
        let cb = convert::<half::bf16>(&c64);
        let ib = infer(&cb.net, &cfg, &cb.x, &cb.y).unwrap();
        let gb = widen(&dual_gradient(&cb.net, &cfg, &ib.states));
        let mut kp: f64 = 0.0;
        for r in 0..4u64 {
            let mut rng = 0x9e3779b97f4a7c15u64.wrapping_mul(seed * 4 + r + 1);
            let mut sgn = || { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; if rng & 1 == 0 { 1.0 } else { -1.0 } };
            let h = 1e-8;
            let mut p = c64.clone();
            for l in &mut p.net.layers { for v in l.w.as_mut_slice() { *v *= 1.0 + h * sgn(); } for v in &mut l.b { *v *= 1.0 + h * sgn(); } }
            for v in p.x.as_mut_slice() { *v *= 1.0 + h * sgn(); }
            for v in p.y.as_mut_slice() { *v *= 1.0 + h * sgn(); }
            let ip = infer(&p.net, &cfg, &p.x, &p.y).unwrap();
            let gp = dual_gradient(&p.net, &cfg, &ip.states);
            kp = kp.max(gradient_relative_error(&gp, &g64) / h);
        }
        println!("kp {kp:.2} f16 err/u/kp {:.2} bf16 {:.2}", gradient_relative_error(&g16,&g64)/2f64.powi(-11)/kp, gradient_relative_error(&gb,&g64)/2f64.powi(-8)/kp);
        // condition: cancellation |z+|+|z-| / |delta|
        let mut kap: f64 = 0.0;
        for k in 1..=c64.net.depth() { let s: f64 = inf.states.plus[k].as_slice().iter().zip(inf.states.minus[k].as_slice()).map(|(p,m)| (p.abs()+m.abs()).powi(2)).sum::<f64>().sqrt(); let d: f64 = inf.states.delta(k).as_slice().iter().map(|x|x*x).sum::<f64>().sqrt(); kap = kap.max(s/d);}
        println!("seed {seed} f16 err {:.3e} cos {:.6} bf16 err {:.3e} cos {:.6} kappa {kap:.2} bp-vs-64 {:.2e}", gradient_relative_error(&g16,&g64), cos(&flat(&g16),&flat(&bp)), gradient_relative_error(&gb,&g64), cos(&flat(&gb),&flat(&bp)), gradient_relative_error(&g64,&bp));
    }
}
