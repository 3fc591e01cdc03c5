(** Dampened original DP (the follow-up code's cnn_dualprop_RAOVR_dampened_ff,
    issue 11; not in the paper): where f is invertible, a fixed point of the
    dampened hidden update z = f((s + L z) / (1 + L)), s = a + alpha b or
    a - abar b, is exactly a solution of (1 + L) f^-1(z) - L z = s. *)
Require Import Reals Lra.
Open Scope R_scope.

Theorem dampened_fixed_point_iff : forall (f finv : R -> R) (L s z : R),
  0 <= L ->
  (forall u, finv (f u) = u) -> (forall w, f (finv w) = w) ->
  (z = f ((s + L * z) / (1 + L)) <-> (1 + L) * finv z - L * z = s).
Proof.
  intros f finv L s z HL Hl Hr. split; intro H.
  - assert (Hu : finv z = (s + L * z) / (1 + L)).
    { rewrite H at 1. apply Hl. }
    rewrite Hu. field. apply Rgt_not_eq. lra.
  - replace ((s + L * z) / (1 + L)) with (finv z).
    + symmetry. apply Hr.
    + rewrite <- H. field. apply Rgt_not_eq. lra.
Qed.

(** On an identity piece (f = id) the dampened and the undamped update have
    the same fixed points: z = (s + L z) / (1 + L) iff z = s. *)
Corollary dampened_identity_same_fixed_point : forall L s z : R,
  0 <= L -> (z = (s + L * z) / (1 + L) <-> z = s).
Proof.
  intros L s z HL.
  pose proof (dampened_fixed_point_iff (fun u => u) (fun u => u) L s z HL
                (fun u => eq_refl) (fun w => eq_refl)) as H.
  simpl in H. split; intro Hz.
  - apply H in Hz. lra.
  - apply H. subst s. ring.
Qed.
