(** Theorem 4: DP+ versus the original dual propagation (Eq. 3),
    at alpha = 1/2 and at alpha in {0, 1}. *)
Require Import Reals Lra.
Require Import DualProp.Common DualProp.HiddenLayer DualProp.OutputLayer
               DualProp.OrigOutput.
Open Scope R_scope.

(** Original DP hidden update: z+ = f(a + alpha b), z- = f(a - abar b). *)
Definition orig_plus (f : R -> R) (alpha a b : R) : R := f (a + alpha * b).
Definition orig_minus (f : R -> R) (alpha a b : R) : R := f (a - abar alpha * b).

(** At alpha = 1/2 the hidden updates of DP+ (Eq. 8) and original DP
    coincide, for any activation f. *)
Theorem half_hidden_updates_coincide : forall f a b,
  dp_plus f (1/2) a b = orig_plus f (1/2) a b /\
  dp_minus f (1/2) a b = orig_minus f (1/2) a b.
Proof.
  intros. unfold dp_plus, dp_minus, orig_plus, orig_minus, abar.
  split; f_equal; field.
Qed.

(** Their output rules differ: closed-form differences at alpha = 1/2
    between original DP's exact min/max (Theorem 7) and Eq. 16 with
    least squares l'(z) = beta (z - y). *)
Theorem half_output_plus_difference : forall beta a y, 0 < beta ->
  orig_out_plus (1/2) beta a y - out_plus (ls_grad beta y) (1/2) a
  = beta ^ 2 * (a - y) / (2 * (2 + beta)).
Proof.
  intros. unfold orig_out_plus, out_plus, ls_grad, abar. field. lra.
Qed.

Theorem half_output_minus_difference : forall beta a y, 0 < beta -> beta <> 2 ->
  orig_out_minus (1/2) beta a y - out_minus (ls_grad beta y) (1/2) a
  = beta ^ 2 * (a - y) / (2 * (2 - beta)).
Proof.
  intros beta a y Hb H2. unfold orig_out_minus, out_minus, ls_grad, abar.
  field. repeat split; intro; apply H2; lra.
Qed.

(** Hence the outputs differ whenever a <> y (and beta > 0). *)
Corollary half_outputs_differ : forall beta a y, 0 < beta -> a <> y ->
  orig_out_plus (1/2) beta a y <> out_plus (ls_grad beta y) (1/2) a.
Proof.
  intros beta a y Hb Hay Heq.
  pose proof (half_output_plus_difference beta a y Hb) as E.
  rewrite Heq, Rminus_diag_eq in E by reflexivity.
  assert (Hn : beta ^ 2 * (a - y) <> 0).
  { apply Rmult_integral_contrapositive. split.
    - apply pow_nonzero. lra.
    - lra. }
  apply Hn. apply (Rmult_eq_reg_r (/ (2 * (2 + beta)))).
  - rewrite Rmult_0_l. unfold Rdiv in E. lra.
  - apply Rinv_neq_0_compat. lra.
Qed.

(** Means of the compartments for both hidden rules. *)
Definition dp_mean (f : R -> R) (alpha a b : R) : R :=
  zbar alpha (dp_plus f alpha a b) (dp_minus f alpha a b).
Definition orig_mean (f : R -> R) (alpha a b : R) : R :=
  zbar alpha (orig_plus f alpha a b) (orig_minus f alpha a b).

(** At alpha in {0, 1} the DP+ mean is the feed-forward value f(a), for
    any f and any feedback b: the feedback cancels in the mean. *)
Theorem dp_mean_feedforward_extreme : forall f alpha a b,
  alpha = 0 \/ alpha = 1 -> dp_mean f alpha a b = f a.
Proof.
  intros f alpha a b [H|H]; subst alpha;
  unfold dp_mean, dp_plus, dp_minus, zbar, abar.
  - replace (a - 0 * b) with a by ring.
    replace (a + (1 - 0) * b) with (a + b) by ring. ring.
  - replace (a + (1 - 1) * b) with a by ring. ring.
Qed.

(** Original DP's mean is f(a + b) at alpha = 1 and f(a - b) at alpha = 0. *)
Theorem orig_mean_extreme : forall f a b,
  orig_mean f 1 a b = f (a + b) /\ orig_mean f 0 a b = f (a - b).
Proof.
  intros. unfold orig_mean, orig_plus, orig_minus, zbar, abar. split.
  - replace (a + 1 * b) with (a + b) by ring. ring.
  - replace (a - (1 - 0) * b) with (a - b) by ring. ring.
Qed.

(** Counterexample: with f = id and any b <> 0, original DP's mean is not
    the feed-forward value a, at alpha = 1 and at alpha = 0. *)
Theorem orig_mean_not_feedforward : forall a b, b <> 0 ->
  orig_mean (fun x => x) 1 a b <> a /\ orig_mean (fun x => x) 0 a b <> a.
Proof.
  intros a b Hb. destruct (orig_mean_extreme (fun x => x) a b) as [H1 H0].
  rewrite H1, H0. split; lra.
Qed.
