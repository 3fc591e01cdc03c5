(** Repeated inference passes (K > 1): DP+ at alpha in {0, 1} keeps every
    mean state at the feed-forward activation after any number of layer
    updates in any order (any schedule, any K), by induction.  This is the
    multi-pass form of [dp_mean_feedforward_extreme] (Eqs. 6, 8, 16). *)
Require Import Reals Lra Lia List Arith FunctionalExtensionality.
Require Import DualProp.Common DualProp.HiddenLayer DualProp.OrigVsPlus
               DualProp.Chain.
Import ListNotations.
Open Scope R_scope.

Section Passes.
(** The network: activation f, output gradient map lp (e.g. beta (a - y),
    any map), depth L (layer L is the linear output), weights ws k = W_k for
    k = 0 .. L-1, input x = z_0. *)
Variable f : R -> R.
Variable lp : Vec -> Vec.
Variable alpha : R.
Variable L : nat.
Variable ws : nat -> Lin.
Variable x : Vec.

(** A state holds (z_k^+, z_k^-) for every layer k >= 1; layer 0 is the input. *)
Definition State := nat -> Vec * Vec.

Definition mean (st : State) (k : nat) : Vec :=
  match k with O => x | _ => vzbar alpha (fst (st k)) (snd (st k)) end.

(** One layer update, as the Rust [update_layer] does it: a_k = W_{k-1} zbar_{k-1}
    from the current states; the output layer by Eq. 16, a hidden layer by
    Eq. 8 with b = W_k^T delta_{k+1} from the current states of layer k+1. *)
Definition upd (st : State) (k : nat) : Vec * Vec :=
  let a := app (ws (pred k)) (mean st (pred k)) in
  if Nat.eqb k L then (fun i => a i - abar alpha * lp a i, fun i => a i + alpha * lp a i)
  else let b := appT (ws k) (vdlt (fst (st (S k))) (snd (st (S k)))) in
       (fun i => dp_plus f alpha (a i) (b i), fun i => dp_minus f alpha (a i) (b i)).

Definition step (st : State) (k : nat) : State :=
  fun j => if Nat.eqb j k then upd st k else st j.

(** A schedule is any list of layer indices; K passes of a schedule [order]
    are [Nat.iter K (fun st => run st order)]. *)
Definition run (st : State) (sched : list nat) : State := fold_left step sched st.

(** The feed-forward activations h_0 = x, h_k = f(W_{k-1} h_{k-1}), h_L = W_{L-1} h_{L-1}. *)
Fixpoint hff (k : nat) : Vec :=
  match k with
  | O => x
  | S k' => if Nat.eqb (S k') L then app (ws k') (hff k')
            else fun i => f (app (ws k') (hff k') i)
  end.

Lemma hff_S : forall k, hff (S k) = if Nat.eqb (S k) L then app (ws k) (hff k)
                                     else fun i => f (app (ws k) (hff k) i).
Proof. reflexivity. Qed.

(** The paper's initialisation: z+ = z- = feed-forward. *)
Definition st0 : State := fun k => (hff k, hff k).

Definition Inv (st : State) : Prop := forall k, (1 <= k)%nat -> mean st k = hff k.

Lemma st0_inv : Inv st0.
Proof.
  intros k Hk. destruct k as [|k]; [lia|]. unfold mean, st0. simpl.
  apply functional_extensionality. intro i. unfold vzbar, zbar, abar. ring.
Qed.

Lemma mean_all : forall st, Inv st -> forall k, mean st k = hff k.
Proof. intros st H k. destruct k as [|k]; [reflexivity|]. apply H. lia. Qed.

Hypothesis extreme : alpha = 0 \/ alpha = 1.

Lemma upd_mean : forall st k, Inv st -> (1 <= k)%nat ->
  vzbar alpha (fst (upd st k)) (snd (upd st k)) = hff k.
Proof.
  intros st k H Hk. destruct k as [|k]; [lia|].
  unfold upd. simpl pred. rewrite (mean_all st H k), hff_S.
  destruct (Nat.eqb (S k) L).
  - apply functional_extensionality. intro i. unfold vzbar, zbar, abar. simpl. ring.
  - apply functional_extensionality. intro i. unfold vzbar. simpl.
    apply (dp_mean_feedforward_extreme f alpha). exact extreme.
Qed.

Lemma step_inv : forall st k, Inv st -> Inv (step st k).
Proof.
  intros st k H j Hj. destruct j as [|j]; [lia|].
  unfold mean, step. destruct (Nat.eqb (S j) k) eqn:E.
  - apply Nat.eqb_eq in E. rewrite <- E. apply upd_mean; [exact H | lia].
  - apply (H (S j) Hj).
Qed.

Lemma run_inv : forall sched st, Inv st -> Inv (run st sched).
Proof.
  induction sched as [|k sched IH]; intros st H; simpl; [exact H|].
  apply IH. apply step_inv. exact H.
Qed.

(** Any schedule, any number of layer updates: every mean state is the
    feed-forward activation. *)
Theorem dp_plus_extreme_any_schedule : forall sched k, (1 <= k)%nat ->
  mean (run st0 sched) k = hff k.
Proof. intros. apply run_inv; [apply st0_inv | exact H]. Qed.

(** K passes of any schedule (by induction on K). *)
Theorem dp_plus_extreme_K_passes : forall K order k, (1 <= k)%nat ->
  mean (Nat.iter K (fun st => run st order) st0) k = hff k.
Proof.
  intros K order k Hk. revert k Hk.
  assert (HI : Inv (Nat.iter K (fun st => run st order) st0)).
  { induction K as [|K IH]; simpl; [apply st0_inv|]. apply run_inv. exact IH. }
  exact HI.
Qed.

(** * One UpDown pass reaches a fixed point: K passes give the states of one. *)

(** Under the invariant an update depends only on the layer above: the
    output update is a constant, a hidden update a function of the states
    of layer k + 1. *)
Definition out_L : Vec * Vec :=
  let a := app (ws (pred L)) (hff (pred L)) in
  (fun i => a i - abar alpha * lp a i, fun i => a i + alpha * lp a i).
Definition hid (k : nat) (p : Vec * Vec) : Vec * Vec :=
  let a := app (ws (pred k)) (hff (pred k)) in
  let b := appT (ws k) (vdlt (fst p) (snd p)) in
  (fun i => dp_plus f alpha (a i) (b i), fun i => dp_minus f alpha (a i) (b i)).

Lemma upd_out : forall st, Inv st -> upd st L = out_L.
Proof. intros st H. unfold upd. rewrite (mean_all st H), Nat.eqb_refl. reflexivity. Qed.

Lemma upd_hid : forall st k, Inv st -> k <> L -> upd st k = hid k (st (S k)).
Proof.
  intros st k H Hk. unfold upd. rewrite (mean_all st H).
  apply Nat.eqb_neq in Hk. rewrite Hk. reflexivity.
Qed.

(** The settled states, top-down: layer L - n. *)
Fixpoint sett (n : nat) : Vec * Vec :=
  match n with O => out_L | S n' => hid (L - S n') (sett n') end.
Definition settled (k : nat) : Vec * Vec := sett (L - k).

Lemma settled_L : settled L = out_L.
Proof. unfold settled. rewrite Nat.sub_diag. reflexivity. Qed.

Lemma settled_hid : forall k, (k < L)%nat -> settled k = hid k (settled (S k)).
Proof.
  intros k Hk. unfold settled. replace (L - k)%nat with (S (L - S k)) by lia.
  simpl sett. replace (L - S (L - S k))%nat with k by lia. reflexivity.
Qed.

(** Layers n+1 .. L hold their settled states. *)
Definition Agree (st : State) (n : nat) : Prop :=
  forall k, (n < k <= L)%nat -> st k = settled k.

Lemma step_agree : forall st k, Inv st -> Agree st k -> (1 <= k <= L)%nat ->
  Agree (step st k) (pred k).
Proof.
  intros st k H A Hk j Hj. unfold step. destruct (Nat.eqb j k) eqn:E.
  - apply Nat.eqb_eq in E. subst j. destruct (Nat.eq_dec k L) as [->|Hne].
    + rewrite upd_out, settled_L by exact H. reflexivity.
    + rewrite upd_hid by assumption. rewrite settled_hid by lia.
      rewrite (A (S k)) by lia. reflexivity.
  - apply Nat.eqb_neq in E. apply A. lia.
Qed.

(** The downward sweep n, n-1, ..., 1. *)
Fixpoint down (n : nat) : list nat := match n with O => [] | S n' => S n' :: down n' end.

Lemma down_reaches : forall n, (n <= L)%nat -> forall st, Inv st -> Agree st n ->
  Agree (run st (down n)) 0.
Proof.
  induction n as [|n IH]; intros Hn st H A; simpl; [exact A|].
  apply IH; [lia | apply step_inv; exact H |].
  apply (step_agree st (S n) H A). lia.
Qed.

(** The paper's schedule (Rust [Schedule::UpDown]): layers 1 .. L-1 upwards,
    the output L, then L-1 .. 1 downwards. *)
Definition updown : list nat := seq 1 (pred L) ++ down L.

Lemma updown_settles : forall st, Inv st -> Agree (run st updown) 0.
Proof.
  intros st H. unfold updown, run. rewrite fold_left_app.
  apply down_reaches; [lia | apply run_inv; exact H |].
  intros k Hk. lia.
Qed.

(** K >= 1 UpDown passes from the feed-forward start: every layer holds its
    settled state, so K passes give exactly the states (hence deltas and
    gradient estimates) of one pass. *)
Theorem dp_plus_extreme_K_passes_equal_one : forall K k, (1 <= K)%nat ->
  (1 <= k <= L)%nat ->
  Nat.iter K (fun st => run st updown) st0 k = run st0 updown k.
Proof.
  intros K k HK Hk. destruct K as [|K]; [lia|].
  assert (HI : Inv (Nat.iter K (fun st => run st updown) st0)).
  { induction K as [|K IH]; simpl; [apply st0_inv|]. apply run_inv. apply IH. lia. }
  simpl Nat.iter.
  rewrite (updown_settles _ HI k) by lia.
  rewrite (updown_settles _ st0_inv k) by lia. reflexivity.
Qed.

End Passes.
