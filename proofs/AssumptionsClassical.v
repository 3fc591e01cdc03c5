(** Theorems that also use excluded middle, through the standard library's
    mean value theorem (MVT_cor2); checked by check_assumptions.sh with
    assumptions-allowlist-classical.txt.  Nothing else may use it. *)
Require Import DualProp.OutputSaddle.
Print Assumptions max_of_concave.
Print Assumptions eq16_saddle_general.
