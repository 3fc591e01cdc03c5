(** One report per main theorem; checked by check_assumptions.sh. *)
Require Import DualProp.Common DualProp.OutputLayer DualProp.HiddenLayer
               DualProp.OrigOutput DualProp.OrigVsPlus
               DualProp.Chain DualProp.DPPlusChain DualProp.LeCunChain.
Print Assumptions eq16_satisfies_eq15.
Print Assumptions eq15_unique.
Print Assumptions eq16_least_squares.
Print Assumptions veq16_satisfies_veq15.
Print Assumptions veq15_unique.
Print Assumptions affine_eq8_solves_eq10.
Print Assumptions affine_eq10_unique.
Print Assumptions affine_eq12.
Print Assumptions aff_inv_derivative.
Print Assumptions locally_affine_solves_eq10.
Print Assumptions vector_affine_prop31.
Print Assumptions orig_out_plus_global_min.
Print Assumptions orig_out_minus_global_max.
Print Assumptions orig_out_saddle.
Print Assumptions orig_out_minus_unbounded.
Print Assumptions orig_out_minus_degenerate.
Print Assumptions half_hidden_updates_coincide.
Print Assumptions half_output_plus_difference.
Print Assumptions half_output_minus_difference.
Print Assumptions half_outputs_differ.
Print Assumptions dp_mean_feedforward_extreme.
Print Assumptions orig_mean_extreme.
Print Assumptions orig_mean_not_feedforward.
Print Assumptions dp_plus_identity_equals_bp.
Print Assumptions dp_plus_identity_equals_bp_matrices.
Print Assumptions dp_plus_scalar_chain_explicit.
Print Assumptions settled_update_satisfies_kkt.
Print Assumptions printed_update_kkt_iff.
Print Assumptions lecun_settled_equals_bp.
Print Assumptions lecun_printed_alternates.
Print Assumptions printed_sign_counterexample.
