//! The boundary table: the sweep's results as Markdown, one row per (method, alpha, activation).

use crate::reference::activation::Activation;
use crate::reference::method::Method;

use super::crossing::{sig3, Crossing};
use super::CaseResult;

fn activation_name(a: Activation) -> String {
    match a {
        Activation::Identity => "identity".into(),
        Activation::Relu => "ReLU".into(),
        Activation::Tanh => "tanh".into(),
        other => format!("{other:?}"),
    }
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::DpPlus => "DP+",
        Method::OriginalDp => "original DP",
        Method::Eq21 => "Eq. 21",
        Method::Eq21Printed => "Eq. 21 printed",
        Method::OriginalDpDampened => "dampened original DP",
    }
}

/// The boundary table (markdown), one row per (method, alpha, activation), seeds separated by " / ":
/// the observed divergence and settling boundaries, the predicted one, the predicted gain at the observed
/// divergence (the bracket's upper end), the sufficient boundary where it applies, and the cells' outcomes along
/// the grid (C converged, R converged to rounding, B bounded, D diverged, N non-finite). Scales and gains to 3
/// significant digits.
pub fn boundary_table(results: &[CaseResult]) -> String {
    let mut out = String::from(
        "| method | alpha | f | gain from | diverges from s = | not converged from s = | predicted G >= 1 from s = | predicted G at observed divergence | rho(C_global) >= 1 from s = | outcomes along the grid |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut i = 0;
    while i < results.len() {
        let head = results[i].case;
        let group: Vec<&CaseResult> = results[i..]
            .iter()
            .take_while(|r| {
                r.case.method == head.method
                    && r.case.alpha == head.alpha
                    && r.case.activation == head.activation
            })
            .collect();
        i += group.len();
        let join = |f: &dyn Fn(&CaseResult) -> String| {
            group.iter().map(|r| f(r)).collect::<Vec<_>>().join(" / ")
        };
        let sufficient = if group.iter().all(|r| r.sufficient.is_none()) {
            "-".to_string()
        } else {
            join(&|r| r.sufficient.map_or("-".into(), Crossing::label))
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            method_name(head.method),
            head.alpha,
            activation_name(head.activation),
            group[0].source.label(),
            join(&|r| r.diverges.label()),
            join(&|r| r.unsettled.label()),
            join(&|r| r.predicted.label()),
            join(&|r| r.gain_at_divergence.map_or("-".into(), |(_, hi)| sig3(hi))),
            sufficient,
            join(&|r| r.cells.iter().map(|c| c.outcome.letter()).collect()),
        ));
    }
    out
}
