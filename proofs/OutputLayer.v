(** Theorem 1: the DP+ output layer (Eqs. 14-16). *)
Require Import Reals Lra.
Require Import DualProp.Common.
Open Scope R_scope.

(** The loss gradient is an arbitrary function [lp] (the value l'(z) of the
    derivative of any differentiable loss).  The two optimality conditions
    of Eq. 14, printed as Eq. 15 (Objectives.v derives them: they are the
    partial derivatives of Eq. 14, [eq15_1_is_derivative],
    [eq15_2_is_derivative]): *)
Definition eq15_1 (lp : R -> R) (alpha a zp zm : R) : R :=
  alpha * lp (zbar alpha zp zm) + zbar alpha zp zm - a + alpha * dlt zp zm.
Definition eq15_2 (lp : R -> R) (alpha a zp zm : R) : R :=
  abar alpha * lp (zbar alpha zp zm) - zbar alpha zp zm + a
  + abar alpha * dlt zp zm.

(** The update of Eq. 16, with g = l'(a). *)
Definition out_plus (lp : R -> R) (alpha a : R) : R := a - abar alpha * lp a.
Definition out_minus (lp : R -> R) (alpha a : R) : R := a + alpha * lp a.

Lemma out_mean : forall lp alpha a,
  zbar alpha (out_plus lp alpha a) (out_minus lp alpha a) = a.
Proof. intros. unfold out_plus, out_minus, zbar, abar. ring. Qed.

Lemma out_delta : forall lp alpha a,
  dlt (out_plus lp alpha a) (out_minus lp alpha a) = - lp a.
Proof. intros. unfold out_plus, out_minus, dlt, abar. ring. Qed.

(** Eq. 16 satisfies Eq. 15, for every alpha and every loss gradient. *)
Theorem eq16_satisfies_eq15 : forall lp alpha a,
  eq15_1 lp alpha a (out_plus lp alpha a) (out_minus lp alpha a) = 0 /\
  eq15_2 lp alpha a (out_plus lp alpha a) (out_minus lp alpha a) = 0.
Proof.
  intros. unfold eq15_1, eq15_2. rewrite out_mean, out_delta.
  unfold abar. split; ring.
Qed.

(** Conversely, every solution of Eq. 15 has zbar = a and z+ - z- = -l'(a),
    hence is the Eq. 16 update (uniqueness). *)
Theorem eq15_unique : forall lp alpha a zp zm,
  eq15_1 lp alpha a zp zm = 0 -> eq15_2 lp alpha a zp zm = 0 ->
  zbar alpha zp zm = a /\ dlt zp zm = - lp a /\
  zp = out_plus lp alpha a /\ zm = out_minus lp alpha a.
Proof.
  intros lp alpha a zp zm H1 H2.
  assert (Hsum : lp (zbar alpha zp zm) + dlt zp zm = 0).
  { replace (lp (zbar alpha zp zm) + dlt zp zm)
      with (eq15_1 lp alpha a zp zm + eq15_2 lp alpha a zp zm)
      by (unfold eq15_1, eq15_2, abar; ring).
    rewrite H1, H2. ring. }
  assert (Hmean : zbar alpha zp zm = a).
  { assert (E : zbar alpha zp zm - a
              = eq15_1 lp alpha a zp zm
                - alpha * (lp (zbar alpha zp zm) + dlt zp zm))
      by (unfold eq15_1; ring).
    rewrite H1, Hsum in E. lra. }
  rewrite Hmean in Hsum.
  assert (Hd : dlt zp zm = - lp a) by lra.
  split; [exact Hmean|]. split; [exact Hd|].
  split.
  - rewrite (zp_from_mean alpha zp zm), Hmean, Hd. unfold out_plus. ring.
  - rewrite (zm_from_mean alpha zp zm), Hmean, Hd. unfold out_minus. ring.
Qed.

(** Least squares, l(z) = beta/2 (z - y)^2, l'(z) = beta (z - y). *)
Definition ls_grad (beta y : R) : R -> R := fun z => beta * (z - y).

Theorem eq16_least_squares : forall alpha beta y a,
  out_plus (ls_grad beta y) alpha a = a - abar alpha * beta * (a - y) /\
  out_minus (ls_grad beta y) alpha a = a + alpha * beta * (a - y).
Proof. intros. unfold out_plus, out_minus, ls_grad. split; ring. Qed.

(** Vector form: units indexed by any type I, and the loss gradient an
    arbitrary map lp : (I -> R) -> (I -> R) (not necessarily elementwise),
    only required to respect pointwise equality. *)
Section VectorOutput.
Definition veq15_1 {I : Type} (lp : (I -> R) -> (I -> R)) (alpha : R)
  (a zp zm : I -> R) (i : I) : R :=
  alpha * lp (vzbar alpha zp zm) i + vzbar alpha zp zm i - a i
  + alpha * vdlt zp zm i.
Definition veq15_2 {I : Type} (lp : (I -> R) -> (I -> R)) (alpha : R)
  (a zp zm : I -> R) (i : I) : R :=
  abar alpha * lp (vzbar alpha zp zm) i - vzbar alpha zp zm i + a i
  + abar alpha * vdlt zp zm i.
Definition vout_plus {I : Type} (lp : (I -> R) -> (I -> R)) alpha (a : I -> R)
  : I -> R := fun i => a i - abar alpha * lp a i.
Definition vout_minus {I : Type} (lp : (I -> R) -> (I -> R)) alpha (a : I -> R)
  : I -> R := fun i => a i + alpha * lp a i.
End VectorOutput.

Definition respects_pointwise {I : Type} (lp : (I -> R) -> (I -> R)) : Prop :=
  forall u v : I -> R, (forall i, u i = v i) -> forall i, lp u i = lp v i.

Theorem veq16_satisfies_veq15 : forall (I : Type) (lp : (I -> R) -> (I -> R))
  alpha a, respects_pointwise lp ->
  forall i,
  veq15_1 lp alpha a (vout_plus lp alpha a) (vout_minus lp alpha a) i = 0 /\
  veq15_2 lp alpha a (vout_plus lp alpha a) (vout_minus lp alpha a) i = 0.
Proof.
  intros I lp alpha a Hlp i.
  assert (Hm : forall j, vzbar alpha (vout_plus lp alpha a)
                            (vout_minus lp alpha a) j = a j).
  { intro j. unfold vzbar, vout_plus, vout_minus, zbar, abar. ring. }
  unfold veq15_1, veq15_2. rewrite (Hlp _ _ Hm i), Hm.
  unfold vdlt, dlt, vout_plus, vout_minus, abar. split; ring.
Qed.

Theorem veq15_unique : forall (I : Type) (lp : (I -> R) -> (I -> R))
  alpha (a zp zm : I -> R), respects_pointwise lp ->
  (forall i, veq15_1 lp alpha a zp zm i = 0) ->
  (forall i, veq15_2 lp alpha a zp zm i = 0) ->
  forall i, vzbar alpha zp zm i = a i /\ vdlt zp zm i = - lp a i /\
            zp i = vout_plus lp alpha a i /\ zm i = vout_minus lp alpha a i.
Proof.
  intros I lp alpha a zp zm Hlp H1 H2.
  assert (Hsum : forall i, lp (vzbar alpha zp zm) i + vdlt zp zm i = 0).
  { intro i. specialize (H1 i). specialize (H2 i).
    unfold veq15_1, veq15_2, abar in *. lra. }
  assert (Hmean : forall i, vzbar alpha zp zm i = a i).
  { intro i. specialize (H1 i). specialize (Hsum i).
    unfold veq15_1 in H1.
    assert (E : vzbar alpha zp zm i - a i
                = alpha * lp (vzbar alpha zp zm) i + vzbar alpha zp zm i - a i
                  + alpha * vdlt zp zm i
                  - alpha * (lp (vzbar alpha zp zm) i + vdlt zp zm i)) by ring.
    rewrite Hsum in E. lra. }
  intro i.
  assert (Hd : vdlt zp zm i = - lp a i).
  { specialize (Hsum i). rewrite (Hlp _ _ Hmean i) in Hsum. lra. }
  pose proof (Hmean i) as Hmi.
  unfold vzbar, vdlt in *.
  split; [exact Hmi|]. split; [exact Hd|].
  split.
  - rewrite (zp_from_mean alpha (zp i) (zm i)), Hmi, Hd. unfold vout_plus. ring.
  - rewrite (zm_from_mean alpha (zp i) (zm i)), Hmi, Hd. unfold vout_minus. ring.
Qed.
