(** Theorem 2: Prop. 3.1 (Eqs. 8, 10, 11, 12) for affine activations,
    per unit and lifted to vectors of any length. *)
Require Import Reals Lra.
Require Import DualProp.Common.
Open Scope R_scope.

(** The DP+ hidden update, Eq. 8, per unit.  [a] is the pre-activation
    W_{k-1} zbar_{k-1} and [b] the back-propagated term W_k^T delta_{k+1}. *)
Definition dp_plus (f : R -> R) (alpha a b : R) : R := f (a + abar alpha * b).
Definition dp_minus (f : R -> R) (alpha a b : R) : R := f (a - alpha * b).

(** The two optimality conditions of Eq. 10, for a general inverse
    activation [finv] with derivative [dfinv] (Objectives.v derives them as
    the partial derivatives of Eq. 7: [eq10_1_is_derivative],
    [eq10_1_layer_is_partial] and the z- versions). *)
Definition eq10_1 (finv dfinv : R -> R) (alpha a b zp zm : R) : R :=
  finv (zbar alpha zp zm) - a + alpha * dfinv (zbar alpha zp zm) * dlt zp zm
  - alpha * b.
Definition eq10_2 (finv dfinv : R -> R) (alpha a b zp zm : R) : R :=
  - finv (zbar alpha zp zm) + a
  + abar alpha * dfinv (zbar alpha zp zm) * dlt zp zm - abar alpha * b.
(** Their sum, Eq. 11. *)
Definition eq11 (dfinv : R -> R) (alpha b zp zm : R) : R :=
  dfinv (zbar alpha zp zm) * dlt zp zm - b.

Lemma eq10_sum : forall finv dfinv alpha a b zp zm,
  eq10_1 finv dfinv alpha a b zp zm + eq10_2 finv dfinv alpha a b zp zm
  = eq11 dfinv alpha b zp zm.
Proof. intros. unfold eq10_1, eq10_2, eq11, abar. ring. Qed.

(** Affine activation f(x) = c + d x, its inverse and the derivative of
    the inverse. *)
Definition aff (c d : R) : R -> R := fun x => c + d * x.
Definition aff_inv (c d : R) : R -> R := fun z => (z - c) / d.
Definition aff_dinv (d : R) : R -> R := fun _ => / d.

Lemma aff_inv_left : forall c d x, d <> 0 -> aff_inv c d (aff c d x) = x.
Proof. intros. unfold aff_inv, aff. field. auto. Qed.
Lemma aff_inv_right : forall c d z, d <> 0 -> aff c d (aff_inv c d z) = z.
Proof. intros. unfold aff_inv, aff. field. auto. Qed.

(** [aff_dinv d] really is the derivative of [aff_inv c d]. *)
Lemma aff_inv_derivative : forall c d z, d <> 0 ->
  derivable_pt_lim (aff_inv c d) z (aff_dinv d z).
Proof.
  intros c d z Hd eps Heps. exists (mkposreal 1 Rlt_0_1).
  intros h Hh _. unfold aff_inv, aff_dinv.
  replace (((z + h - c) / d - (z - c) / d) / h - / d) with 0
    by (field; split; auto).
  rewrite Rabs_R0. exact Heps.
Qed.

(** Per unit: the Eq. 8 update solves both conditions of Eq. 10 ... *)
Theorem affine_eq8_solves_eq10 : forall c d alpha a b, d <> 0 ->
  let zp := dp_plus (aff c d) alpha a b in
  let zm := dp_minus (aff c d) alpha a b in
  eq10_1 (aff_inv c d) (aff_dinv d) alpha a b zp zm = 0 /\
  eq10_2 (aff_inv c d) (aff_dinv d) alpha a b zp zm = 0.
Proof.
  intros c d alpha a b Hd zp zm.
  assert (Hm : zbar alpha zp zm = c + d * a)
    by (unfold zp, zm, dp_plus, dp_minus, aff, zbar, abar; ring).
  assert (Hdl : dlt zp zm = d * b)
    by (unfold zp, zm, dp_plus, dp_minus, aff, dlt, abar; ring).
  unfold eq10_1, eq10_2. rewrite Hm, Hdl. unfold aff_inv, aff_dinv, abar.
  split; field; auto.
Qed.

(** ... and it is the only solution (converse of Prop. 3.1 for affine f). *)
Theorem affine_eq10_unique : forall c d alpha a b zp zm, d <> 0 ->
  eq10_1 (aff_inv c d) (aff_dinv d) alpha a b zp zm = 0 ->
  eq10_2 (aff_inv c d) (aff_dinv d) alpha a b zp zm = 0 ->
  zp = dp_plus (aff c d) alpha a b /\ zm = dp_minus (aff c d) alpha a b.
Proof.
  intros c d alpha a b zp zm Hd H1 H2.
  assert (H11 : eq11 (aff_dinv d) alpha b zp zm = 0)
    by (rewrite <- (eq10_sum (aff_inv c d) (aff_dinv d) alpha a b zp zm), H1, H2; ring).
  unfold eq11, aff_dinv in H11.
  assert (Hdl : dlt zp zm = d * b).
  { apply (Rmult_eq_reg_l (/ d)); [|apply Rinv_neq_0_compat; auto].
    replace (/ d * (d * b)) with b by (field; auto). lra. }
  unfold eq10_1 in H1. rewrite Hdl in H1. unfold aff_inv, aff_dinv in H1.
  assert (Hm : zbar alpha zp zm = c + d * a).
  { assert (E : (zbar alpha zp zm - c) / d - a = 0)
      by (rewrite <- H1; field; auto).
    assert (E2 : zbar alpha zp zm - c = d * a).
    { apply (Rmult_eq_reg_l (/ d)); [|apply Rinv_neq_0_compat; auto].
      replace (/ d * (d * a)) with a by (field; auto).
      unfold Rdiv in E. lra. }
    lra. }
  split.
  - rewrite (zp_from_mean alpha zp zm), Hm, Hdl. unfold dp_plus, aff. ring.
  - rewrite (zm_from_mean alpha zp zm), Hm, Hdl. unfold dp_minus, aff. ring.
Qed.

(** Eq. 12 (delta = D^T W^T delta_{k+1}, here delta = d b) and Eq. 11 hold. *)
Theorem affine_eq12 : forall c d alpha a b,
  dlt (dp_plus (aff c d) alpha a b) (dp_minus (aff c d) alpha a b) = d * b /\
  zbar alpha (dp_plus (aff c d) alpha a b) (dp_minus (aff c d) alpha a b)
    = aff c d a.
Proof.
  intros. unfold dp_plus, dp_minus, aff, dlt, zbar, abar. split; ring.
Qed.

(** Only the two values of f at the nudged points a + abar b and
    a - alpha b matter: if f agrees there with an affine map (f "locally
    affine", as assumed in Prop. 3.1), the same conclusions hold. *)
Theorem locally_affine_solves_eq10 : forall f c d alpha a b, d <> 0 ->
  f (a + abar alpha * b) = aff c d (a + abar alpha * b) ->
  f (a - alpha * b) = aff c d (a - alpha * b) ->
  eq10_1 (aff_inv c d) (aff_dinv d) alpha a b
    (dp_plus f alpha a b) (dp_minus f alpha a b) = 0 /\
  eq10_2 (aff_inv c d) (aff_dinv d) alpha a b
    (dp_plus f alpha a b) (dp_minus f alpha a b) = 0.
Proof.
  intros f c d alpha a b Hd Hp Hm. unfold dp_plus at 1 2, dp_minus at 1 2.
  rewrite Hp, Hm. apply (affine_eq8_solves_eq10 c d alpha a b Hd).
Qed.

(** Vector form.  Units are indexed by an arbitrary type I (e.g. Fin n),
    the next layer by J; c, d are per-unit affine coefficients (f acts
    elementwise), a : I -> R the pre-activation and the back-propagated
    term is b = WT dnext for an arbitrary map WT (e.g. a transposed
    matrix; nothing about WT is needed). *)
Definition vdp_plus {I : Type} (c d : I -> R) alpha (a b : I -> R) : I -> R :=
  fun i => dp_plus (aff (c i) (d i)) alpha (a i) (b i).
Definition vdp_minus {I : Type} (c d : I -> R) alpha (a b : I -> R) : I -> R :=
  fun i => dp_minus (aff (c i) (d i)) alpha (a i) (b i).
Definition veq10_1 {I : Type} (c d : I -> R) alpha (a b zp zm : I -> R) (i : I)
  : R := eq10_1 (aff_inv (c i) (d i)) (aff_dinv (d i)) alpha (a i) (b i)
                (zp i) (zm i).
Definition veq10_2 {I : Type} (c d : I -> R) alpha (a b zp zm : I -> R) (i : I)
  : R := eq10_2 (aff_inv (c i) (d i)) (aff_dinv (d i)) alpha (a i) (b i)
                (zp i) (zm i).

Theorem vector_affine_prop31 :
  forall (I J : Type) (WT : (J -> R) -> (I -> R)) (dnext : J -> R)
         (c d a : I -> R) alpha,
  (forall i, d i <> 0) ->
  let b := WT dnext in
  (forall i, veq10_1 c d alpha a b (vdp_plus c d alpha a b)
                                   (vdp_minus c d alpha a b) i = 0 /\
             veq10_2 c d alpha a b (vdp_plus c d alpha a b)
                                   (vdp_minus c d alpha a b) i = 0 /\
             eq11 (aff_dinv (d i)) alpha (b i) (vdp_plus c d alpha a b i)
                                               (vdp_minus c d alpha a b i) = 0 /\
             vdlt (vdp_plus c d alpha a b) (vdp_minus c d alpha a b) i
               = d i * b i) /\
  (forall zp zm : I -> R,
     (forall i, veq10_1 c d alpha a b zp zm i = 0) ->
     (forall i, veq10_2 c d alpha a b zp zm i = 0) ->
     forall i, zp i = vdp_plus c d alpha a b i /\
               zm i = vdp_minus c d alpha a b i).
Proof.
  intros I J WT dnext c d a alpha Hd b. split.
  - intro i. destruct (affine_eq8_solves_eq10 (c i) (d i) alpha (a i) (b i)
                        (Hd i)) as [H1 H2].
    unfold veq10_1, veq10_2, vdp_plus, vdp_minus.
    split; [exact H1|]. split; [exact H2|]. split.
    + rewrite <- (eq10_sum (aff_inv (c i) (d i)) (aff_dinv (d i)) alpha (a i)).
      unfold dp_plus, dp_minus in *. rewrite H1, H2. ring.
    + unfold vdlt. apply (affine_eq12 (c i) (d i) alpha (a i) (b i)).
  - intros zp zm H1 H2 i.
    apply (affine_eq10_unique (c i) (d i) alpha (a i) (b i) (zp i) (zm i)
             (Hd i) (H1 i) (H2 i)).
Qed.
