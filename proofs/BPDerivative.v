(** The back-propagation ground truth is the derivative of the loss: for a
    scalar identity chain, the explicit gradient formula used in
    DPPlusChain.dp_plus_scalar_chain_explicit is the derivative of
    1/2 (a_L - y)^2 with respect to each weight. *)
Require Import Reals Lra Psatz List.
Require Import DualProp.Chain.
Import ListNotations.
Open Scope R_scope.

Lemma fwd_app : forall pre w post x,
  fwd x (pre ++ w :: post) = prod_w post * w * fwd x pre.
Proof.
  induction pre as [|u pre IH]; intros w post x; simpl.
  - rewrite fwd_prod. ring.
  - rewrite IH. reflexivity.
Qed.

Lemma explicit_grads_nth : forall pre w post y x,
  nth (length pre) (explicit_grads y x (pre ++ w :: post)) 0
  = (fwd x (pre ++ w :: post) - y) * prod_w post * fwd x pre.
Proof.
  induction pre as [|u pre IH]; intros w post y x; simpl.
  - reflexivity.
  - rewrite IH. reflexivity.
Qed.

Theorem bp_scalar_is_derivative : forall pre w post x y,
  derivable_pt_lim (fun v => 1/2 * (fwd x (pre ++ v :: post) - y) ^ 2) w
    (nth (length pre) (explicit_grads y x (pre ++ w :: post)) 0).
Proof.
  intros pre w post x y. rewrite explicit_grads_nth.
  set (P := prod_w post). set (A := fwd x pre).
  intros eps Heps.
  set (K := P ^ 2 * A ^ 2).
  assert (HK : 0 <= K) by (unfold K; apply Rmult_le_pos; apply pow2_ge_0).
  assert (Hd : 0 < eps / (K + 1)).
  { unfold Rdiv. apply Rmult_lt_0_compat; [lra|]. apply Rinv_0_lt_compat. lra. }
  exists (mkposreal _ Hd). intros h Hh0 Hh. simpl in Hh.
  rewrite !fwd_app. fold P A.
  replace ((1 / 2 * (P * (w + h) * A - y) ^ 2 - 1 / 2 * (P * w * A - y) ^ 2) / h
           - (P * w * A - y) * P * A)
    with (1 / 2 * K * h) by (unfold K; field; exact Hh0).
  rewrite Rabs_mult. rewrite (Rabs_right (1 / 2 * K)) by lra.
  assert (Hlt : (K + 1) * Rabs h < eps).
  { apply (Rmult_lt_compat_l (K + 1)) in Hh; [|lra].
    replace ((K + 1) * (eps / (K + 1))) with eps in Hh by (field; lra). exact Hh. }
  pose proof (Rabs_pos h). nra.
Qed.

Lemma Forall2_nth_default : forall (A B : Type) (P : A -> B -> Prop) l1 l2 d1 d2,
  Forall2 P l1 l2 -> P d1 d2 -> forall n, P (nth n l1 d1) (nth n l2 d2).
Proof.
  intros A B P l1 l2 d1 d2 H Hd. induction H; intro n; destruct n; simpl; auto.
Qed.

Require Import DualProp.DPPlusChain.

(** Hence, for a scalar identity chain, every DP+ gradient estimate is the
    derivative of the loss 1/2 (a_L - y)^2 with respect to that weight,
    for every alpha and every beta > 0. *)
Theorem dp_plus_scalar_is_derivative : forall alpha beta pre w post x y i,
  0 < beta ->
  derivable_pt_lim (fun v => 1/2 * (fwd x (pre ++ v :: post) - y) ^ 2) w
    (nth (length pre)
         (dp_net id_f alpha beta (fun _ => y) (fun _ => x)
                 (map scalar (pre ++ w :: post))) (fun _ _ => 0) i i).
Proof.
  intros alpha beta pre w post x y i Hb.
  pose proof (dp_plus_scalar_chain_explicit alpha beta y x (pre ++ w :: post) i Hb)
    as H.
  pose proof (Forall2_nth_default _ _ (fun (g : Grad) (e : R) => g i i = e) _ _
                (fun _ _ => 0) 0 H eq_refl (length pre)) as Hn.
  simpl in Hn. rewrite Hn. apply bp_scalar_is_derivative.
Qed.
