(** Shared notation for the dual-propagation proofs.
    Equation numbers refer to Hoier and Zach, "A Lagrangian Perspective on
    Dual Propagation".  Everything is per unit (one real number) unless a
    file says otherwise; vectors are functions from an index type to R. *)
Require Import Reals Lra.
Open Scope R_scope.

(** abar = 1 - alpha *)
Definition abar (alpha : R) : R := 1 - alpha.

(** Weighted mean of the two compartments (Eq. 6): zbar = alpha z+ + abar z-. *)
Definition zbar (alpha zp zm : R) : R := alpha * zp + abar alpha * zm.

(** Difference of the two compartments (Eq. 6): delta = z+ - z-. *)
Definition dlt (zp zm : R) : R := zp - zm.

(** Vector versions, over an arbitrary index type I (e.g. the units of a layer). *)
Definition vzbar {I : Type} (alpha : R) (zp zm : I -> R) : I -> R :=
  fun i => zbar alpha (zp i) (zm i).
Definition vdlt {I : Type} (zp zm : I -> R) : I -> R :=
  fun i => dlt (zp i) (zm i).

(** A compartment pair written as "mean + share of the difference". *)
Lemma zp_from_mean : forall alpha zp zm,
  zp = zbar alpha zp zm + abar alpha * dlt zp zm.
Proof. intros. unfold zbar, abar, dlt. ring. Qed.

Lemma zm_from_mean : forall alpha zp zm,
  zm = zbar alpha zp zm - alpha * dlt zp zm.
Proof. intros. unfold zbar, abar, dlt. ring. Qed.
