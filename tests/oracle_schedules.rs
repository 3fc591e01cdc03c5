//! The follow-up code's schedule names (Rasmuskh/dualprop_icml_2024, `inference_sequence` in `src/models.py`) are
//! aliases of ours, and each computes the states of the schedule it names.
//!
//! Route: each name's sequence of single-layer updates is rebuilt here from that code's documented definition (a
//! flat list of layer indices, first pass included) and applied with `update_layer` from the feed-forward states;
//! the result is compared with K passes of our schedule through `infer`, which builds its order from
//! `Schedule::layer_order` instead.

use dualprop::reference::Problem;
use std::path::Path;

use dualprop::oracle::{vectors, Case, OracleConfig};
use dualprop::reference::update::update_layer;
use dualprop::reference::{infer, Activation, Config, DualState, Loss, Method, Schedule};

/// The follow-up code's flat update sequence for `name` with L layers and K passes (facts from its `get_inf_seq`):
/// fwbwK = [L..2] + (K - 1) x [1..L-1, L..1] + [1]; fwK = K x [1..L]; bwK = [L..1] once, whatever K;
/// oddeven = K x ([odd] + [even]); evenodd = K x ([even] + [odd]).
fn follow_up_sequence(name: &str, depth: usize, passes: usize) -> Vec<usize> {
    let up_down: Vec<usize> = (1..depth).chain((1..=depth).rev()).collect();
    let odd: Vec<usize> = (1..=depth).step_by(2).collect();
    let even: Vec<usize> = (2..=depth).step_by(2).collect();
    match name {
        "fwbwK" => (2..=depth)
            .rev()
            .chain(up_down.repeat(passes - 1))
            .chain([1])
            .collect(),
        "fwK" => (1..=depth).collect::<Vec<_>>().repeat(passes),
        "bwK" => (1..=depth).rev().collect(),
        "oddeven" => [odd, even].concat().repeat(passes),
        "evenodd" => [even, odd].concat().repeat(passes),
        _ => unreachable!(),
    }
}

fn case() -> Case {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let [case, _, _] = vectors::paths(&dir, "dp_plus_ahalf_k30_tanh_f64");
    Case::read(&case).unwrap()
}

/// Largest absolute difference between two states, over all layers.
fn max_diff(a: &DualState<f64>, b: &DualState<f64>) -> f64 {
    a.plus
        .iter()
        .chain(&a.minus)
        .zip(b.plus.iter().chain(&b.minus))
        .flat_map(|(p, q)| {
            p.as_slice()
                .iter()
                .zip(q.as_slice())
                .map(|(x, y)| (x - y).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn the_follow_up_names_parse_as_our_schedules() {
    let base =
        r#"{"method":"dp_plus","alpha":0.5,"beta":0.5,"K":3,"activation":"tanh","schedule":"#;
    for (alias, ours) in [
        ("fwbwK", Schedule::UpDown),
        ("fwK", Schedule::ForwardOnly),
        ("bwK", Schedule::BackwardOnly),
        ("oddeven", Schedule::OddEven),
        ("evenodd", Schedule::EvenOdd),
    ] {
        let cfg = OracleConfig::from_json(format!("{base}\"{alias}\"}}").as_bytes()).unwrap();
        assert_eq!(cfg.schedule, ours, "{alias}");
        // The command line's --schedule goes through the same parser.
        let flag = OracleConfig::from_parts(
            Some(format!("{base}\"up_down\"}}").as_bytes()),
            &[("schedule", alias.to_string())],
        )
        .unwrap();
        assert_eq!(flag.schedule, ours, "--schedule {alias}");
        // Written back under our own name.
        assert!(!cfg.to_json().contains(alias), "{}", cfg.to_json());
    }
}

/// fwK, oddeven and evenodd are K passes of ours update for update: bitwise equal. fwbwK differs from K up-down
/// passes in its first pass (it starts with the downward sweep L..2; ours starts with the upward sweep 1..L-1,
/// which from the feed-forward states, where every delta is 0, recomputes them) and in its final repeated update
/// of layer 1 (an update does not read its own layer, so repeating it changes nothing): equal to rounding
/// (bitwise where alpha z + (1 - alpha) z is exactly z, e.g. alpha in {0, 1/2, 1}). bwK is one backward sweep
/// whatever K: it equals backward_only with K = 1.
#[test]
fn each_follow_up_sequence_computes_the_schedule_it_names() {
    let case = case();
    let net = case
        .network::<f64>(Activation::Tanh, Loss::LeastSquares)
        .unwrap();
    let (x, y) = case.batch(&net).unwrap();
    let depth = net.depth();
    for method in [Method::DpPlus, Method::OriginalDp] {
        for alpha in [0.0, 0.3, 0.5, 1.0] {
            for passes in [1, 2, 7] {
                for (name, ours, our_passes) in [
                    ("fwbwK", Schedule::UpDown, passes),
                    ("fwK", Schedule::ForwardOnly, passes),
                    ("bwK", Schedule::BackwardOnly, 1),
                    ("oddeven", Schedule::OddEven, passes),
                    ("evenodd", Schedule::EvenOdd, passes),
                ] {
                    let cfg = Config::new(method, alpha, 0.5, our_passes).with_schedule(ours);
                    let expected = infer(&Problem::new(&net, &cfg, &x, &y).unwrap())
                        .unwrap()
                        .states;
                    let mut state = DualState::feed_forward(&net, &x);
                    let frozen = net.loss.weighted_gradient(&state.plus[depth], &y, 0.5);
                    for k in follow_up_sequence(name, depth, passes) {
                        update_layer(&net, &cfg, &mut state, k, &y, &frozen);
                    }
                    let diff = max_diff(&state, &expected);
                    let exact = name != "fwbwK" || [0.0, 0.5, 1.0].contains(&alpha);
                    // Rounding of the recomputed feed-forward states, carried through 7 passes: a few ulps of
                    // the unit-scale states (the states of this case stay below 2 in magnitude).
                    let tol = if exact { 0.0 } else { 64.0 * f64::EPSILON };
                    assert!(
                        diff <= tol,
                        "{name} vs {ours:?}, {method:?}, alpha {alpha}, K {passes}: {diff:e}"
                    );
                }
            }
        }
    }
}
