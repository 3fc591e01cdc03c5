(** Theorem 7: the output layer of the original dual propagation (Eq. 3)
    with least squares l(z) = 1/2 (z - y)^2 and E_L(z, a) = 1/2 z^2 - z a. *)
Require Import Reals Lra Psatz.
Require Import DualProp.Common.
Open Scope R_scope.

Definition lsq (y z : R) : R := 1/2 * (z - y) ^ 2.
Definition EL (z a : R) : R := 1/2 * z ^ 2 - z * a.

(** The output-layer part of the Eq. 3 objective, minimised over z+ and
    maximised over z-. *)
Definition Jdp (alpha beta y a zp zm : R) : R :=
  alpha * lsq y zp + abar alpha * lsq y zm + / beta * (EL zp a - EL zm a).

Definition orig_out_plus (alpha beta a y : R) : R :=
  (a + alpha * beta * y) / (1 + alpha * beta).
Definition orig_out_minus (alpha beta a y : R) : R :=
  (a - abar alpha * beta * y) / (1 - abar alpha * beta).

Lemma sq_zero : forall x : R, x ^ 2 = 0 -> x = 0.
Proof.
  intros x H. replace (x ^ 2) with (x * x) in H by ring.
  destruct (Rmult_integral _ _ H); auto.
Qed.

(** The objective in z+ is a parabola with positive curvature around
    orig_out_plus. *)
Lemma Jdp_plus_expansion : forall alpha beta y a zm z,
  0 <= alpha -> 0 < beta ->
  Jdp alpha beta y a z zm - Jdp alpha beta y a (orig_out_plus alpha beta a y) zm
  = (alpha / 2 + / (2 * beta)) * (z - orig_out_plus alpha beta a y) ^ 2.
Proof.
  intros. unfold Jdp, lsq, EL, orig_out_plus, abar.
  field. split; nra.
Qed.

(** z+ = (a + alpha beta y)/(1 + alpha beta) is the global minimiser over
    z+, for every z-, and it is the unique one. *)
Theorem orig_out_plus_global_min : forall alpha beta y a zm z,
  0 <= alpha -> 0 < beta ->
  Jdp alpha beta y a (orig_out_plus alpha beta a y) zm
    <= Jdp alpha beta y a z zm /\
  (Jdp alpha beta y a z zm = Jdp alpha beta y a (orig_out_plus alpha beta a y) zm
   -> z = orig_out_plus alpha beta a y).
Proof.
  intros alpha beta y a zm z Ha Hb.
  pose proof (Jdp_plus_expansion alpha beta y a zm z Ha Hb) as E.
  assert (Hk : 0 < alpha / 2 + / (2 * beta)).
  { assert (0 < / (2 * beta)) by (apply Rinv_0_lt_compat; lra). lra. }
  set (s := orig_out_plus alpha beta a y) in *.
  split.
  - assert (0 <= (alpha / 2 + / (2 * beta)) * (z - s) ^ 2)
      by (apply Rmult_le_pos; [lra | apply pow2_ge_0]). lra.
  - intro Heq. assert (H0 : (alpha / 2 + / (2 * beta)) * (z - s) ^ 2 = 0) by lra.
    destruct (Rmult_integral _ _ H0) as [Hz|Hz]; [lra|].
    apply sq_zero in Hz. lra.
Qed.

Lemma Jdp_minus_expansion : forall alpha beta y a zp z,
  0 < beta -> abar alpha * beta < 1 ->
  Jdp alpha beta y a zp (orig_out_minus alpha beta a y) - Jdp alpha beta y a zp z
  = ((1 - abar alpha * beta) / (2 * beta))
    * (z - orig_out_minus alpha beta a y) ^ 2.
Proof.
  intros alpha beta y a zp z Hb Hab. unfold Jdp, lsq, EL, orig_out_minus.
  unfold abar in *. field. split; lra.
Qed.

(** When abar beta < 1, z- = (a - abar beta y)/(1 - abar beta) is the
    global maximiser over z-, for every z+, and the unique one. *)
Theorem orig_out_minus_global_max : forall alpha beta y a zp z,
  0 < beta -> abar alpha * beta < 1 ->
  Jdp alpha beta y a zp z <= Jdp alpha beta y a zp (orig_out_minus alpha beta a y) /\
  (Jdp alpha beta y a zp z = Jdp alpha beta y a zp (orig_out_minus alpha beta a y)
   -> z = orig_out_minus alpha beta a y).
Proof.
  intros alpha beta y a zp z Hb Hab.
  pose proof (Jdp_minus_expansion alpha beta y a zp z Hb Hab) as E.
  assert (Hk : 0 < (1 - abar alpha * beta) / (2 * beta)).
  { unfold Rdiv. apply Rmult_lt_0_compat; [lra|]. apply Rinv_0_lt_compat; lra. }
  set (s := orig_out_minus alpha beta a y) in *.
  set (k := (1 - abar alpha * beta) / (2 * beta)) in *.
  split.
  - assert (0 <= k * (z - s) ^ 2)
      by (apply Rmult_le_pos; [lra | apply pow2_ge_0]). lra.
  - intro Heq. assert (H0 : k * (z - s) ^ 2 = 0) by lra.
    destruct (Rmult_integral _ _ H0) as [Hz|Hz]; [lra|].
    apply sq_zero in Hz. lra.
Qed.

(** The pair is a saddle point of the objective (min over z+, max over z-). *)
Corollary orig_out_saddle : forall alpha beta y a zp zm,
  0 <= alpha -> 0 < beta -> abar alpha * beta < 1 ->
  Jdp alpha beta y a (orig_out_plus alpha beta a y) zm
    <= Jdp alpha beta y a (orig_out_plus alpha beta a y) (orig_out_minus alpha beta a y)
  /\ Jdp alpha beta y a (orig_out_plus alpha beta a y) (orig_out_minus alpha beta a y)
    <= Jdp alpha beta y a zp (orig_out_minus alpha beta a y).
Proof.
  intros. split.
  - apply orig_out_minus_global_max; auto.
  - apply orig_out_plus_global_min; auto.
Qed.

(** In z- the objective is J(z) = J(0) + k z^2 + m z with the constants below. *)
Lemma Jdp_minus_quadratic : forall alpha beta y a zp z, 0 < beta ->
  Jdp alpha beta y a zp z
  = Jdp alpha beta y a zp 0
    + (abar alpha - / beta) / 2 * z ^ 2 + (a / beta - abar alpha * y) * z.
Proof. intros. unfold Jdp, lsq, EL. field. lra. Qed.

(** abar beta > 1: the objective is unbounded above in z-, so no maximiser. *)
Theorem orig_out_minus_unbounded : forall alpha beta y a zp M,
  0 < beta -> abar alpha * beta > 1 ->
  exists z, Jdp alpha beta y a zp z > M.
Proof.
  intros alpha beta y a zp M Hb Hab.
  set (k := (abar alpha - / beta) / 2).
  set (m := a / beta - abar alpha * y).
  set (J0 := Jdp alpha beta y a zp 0).
  assert (Hk : 0 < k).
  { unfold k. assert (abar alpha > / beta).
    { apply (Rmult_lt_reg_r beta); [lra|]. rewrite Rinv_l; lra. }
    lra. }
  set (t := 1 + (Rabs (M - J0) + Rabs m + 1) / k).
  exists t. rewrite (Jdp_minus_quadratic alpha beta y a zp t Hb). fold J0 k m.
  assert (Hq : 0 <= (Rabs (M - J0) + Rabs m + 1) / k).
  { unfold Rdiv. apply Rmult_le_pos.
    - pose proof (Rabs_pos (M - J0)); pose proof (Rabs_pos m); lra.
    - left. apply Rinv_0_lt_compat. exact Hk. }
  assert (Ht : 1 <= t) by (unfold t; lra).
  assert (Hkt : k * t = k + (Rabs (M - J0) + Rabs m + 1))
    by (unfold t; field; lra).
  assert (Hm : - Rabs m <= m) by (pose proof (Rabs_pos m); pose proof (Rle_abs (- m)); rewrite Rabs_Ropp in *; lra).
  assert (HM : M - J0 <= Rabs (M - J0)) by apply RRle_abs.
  assert (Hmt : - Rabs m * t <= m * t) by nra.
  assert (Hkt2 : k * t - Rabs m >= Rabs (M - J0) + 1) by lra.
  clearbody t k m J0. pose proof (Rabs_pos (M - J0)).
  assert (Hp : 0 <= (t - 1) * (k * t - Rabs m))
    by (apply Rmult_le_pos; lra).
  assert (Hexp : k * t ^ 2 + m * t - (k * t - Rabs m)
                 = (t - 1) * (k * t - Rabs m) + (m * t + Rabs m * t))
    by ring.
  lra.
Qed.

(** abar beta = 1: the objective is affine in z-, with slope abar (a - y).
    If a <> y it is unbounded above (no maximiser); if a = y it is constant
    in z-, so every z- is a maximiser and the formula for z- is undefined. *)
Theorem orig_out_minus_degenerate : forall alpha beta y a zp,
  0 < beta -> abar alpha * beta = 1 ->
  (a <> y -> forall M, exists z, Jdp alpha beta y a zp z > M) /\
  (a = y -> forall z z', Jdp alpha beta y a zp z = Jdp alpha beta y a zp z').
Proof.
  intros alpha beta y a zp Hb Hab.
  assert (Hinv : / beta = abar alpha).
  { apply (Rmult_eq_reg_r beta); [|lra]. rewrite Rinv_l; lra. }
  assert (Hlin : forall z, Jdp alpha beta y a zp z
                   = Jdp alpha beta y a zp 0 + abar alpha * (a - y) * z).
  { intro z. rewrite (Jdp_minus_quadratic alpha beta y a zp z Hb).
    unfold Rdiv. rewrite Hinv. ring. }
  assert (Hab0 : abar alpha <> 0) by (intro H; rewrite H in Hab; lra).
  split.
  - intros Hay M.
    assert (Hs : abar alpha * (a - y) <> 0).
    { apply Rmult_integral_contrapositive. split; lra. }
    exists ((M - Jdp alpha beta y a zp 0 + 1) / (abar alpha * (a - y))).
    rewrite Hlin.
    replace (abar alpha * (a - y) *
             ((M - Jdp alpha beta y a zp 0 + 1) / (abar alpha * (a - y))))
      with (M - Jdp alpha beta y a zp 0 + 1) by (field; split; lra).
    lra.
  - intros Hay z z'. rewrite (Hlin z), (Hlin z'). rewrite Hay. ring.
Qed.
