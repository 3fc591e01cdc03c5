(** Theorem 3: ReLU hidden units under the DP+ update (Eq. 8), with the
    subspace form of Eq. 19 at inactive units. *)
Require Import Reals Lra.
Require Import DualProp.Common DualProp.HiddenLayer.
Open Scope R_scope.

Definition relu (x : R) : R := Rmax 0 x.

Lemma relu_pos : forall x, 0 <= x -> relu x = x.
Proof. intros. unfold relu. apply Rmax_right. exact H. Qed.
Lemma relu_neg : forall x, x <= 0 -> relu x = 0.
Proof. intros. unfold relu. apply Rmax_left. exact H. Qed.

(** Residuals used throughout (and by the Rust checker).  With the active
    piece of ReLU (the identity, slope 1, inverse the identity), Eq. 10 reads
      r1 = (zbar - a) + alpha (delta - b)
      r2 = -(zbar - a) + abar (delta - b)
    and their sum, Eq. 11, is r11 = delta - b.  For a unit whose two nudged
    pre-activations lie on one piece of slope D (1 active, 0 inactive),
    Eq. 12 reads delta = D b, with residual r12 = delta - D b. *)
Definition r1 (alpha a b zp zm : R) : R :=
  (zbar alpha zp zm - a) + alpha * (dlt zp zm - b).
Definition r2 (alpha a b zp zm : R) : R :=
  - (zbar alpha zp zm - a) + abar alpha * (dlt zp zm - b).
Definition r11 (b zp zm : R) : R := dlt zp zm - b.
Definition r12 (D b zp zm : R) : R := dlt zp zm - D * b.

(** r1, r2 are exactly the Eq. 10 conditions for f = identity. *)
Lemma r1_r2_are_eq10 : forall alpha a b zp zm,
  r1 alpha a b zp zm = eq10_1 (aff_inv 0 1) (aff_dinv 1) alpha a b zp zm /\
  r2 alpha a b zp zm = eq10_2 (aff_inv 0 1) (aff_dinv 1) alpha a b zp zm.
Proof.
  intros. unfold r1, r2, eq10_1, eq10_2, aff_inv, aff_dinv. split; field.
Qed.

Lemma r1_plus_r2 : forall alpha a b zp zm,
  r1 alpha a b zp zm + r2 alpha a b zp zm = r11 b zp zm.
Proof. intros. unfold r1, r2, r11, abar. ring. Qed.

Definition rp (alpha a b : R) : R := dp_plus relu alpha a b.   (* z+ *)
Definition rm (alpha a b : R) : R := dp_minus relu alpha a b.  (* z- *)

(** Active unit: both nudged pre-activations >= 0.  ReLU is the identity
    there, every residual vanishes and the mean is the feed-forward relu(a). *)
Theorem relu_active : forall alpha a b,
  0 <= alpha <= 1 -> 0 <= a + abar alpha * b -> 0 <= a - alpha * b ->
  r1 alpha a b (rp alpha a b) (rm alpha a b) = 0 /\
  r2 alpha a b (rp alpha a b) (rm alpha a b) = 0 /\
  r11 b (rp alpha a b) (rm alpha a b) = 0 /\
  r12 1 b (rp alpha a b) (rm alpha a b) = 0 /\
  zbar alpha (rp alpha a b) (rm alpha a b) = relu a.
Proof.
  intros alpha a b Ha Hp Hm.
  unfold rp, rm, dp_plus, dp_minus. rewrite (relu_pos _ Hp), (relu_pos _ Hm).
  assert (Ha0 : 0 <= a).
  { replace a with (alpha * (a + abar alpha * b) + abar alpha * (a - alpha * b))
      by (unfold abar; ring).
    unfold abar in *. nra. }
  rewrite (relu_pos _ Ha0).
  unfold r1, r2, r11, r12, zbar, dlt, abar. repeat split; ring.
Qed.

(** Inactive unit: both nudged pre-activations <= 0.  Then z+ = z- = 0.
    Eq. 19 per unit: the linear piece is f(x) = z0 + D x with D = 0 and
    offset z0 = 0, so the constraint z - z0 in range(D) pins the mean at
    zbar = z0 = 0, while "D^+ (z - z0) = a + N v" (N = 1 spans the null
    space of D = 0) constrains nothing: the multiplier v absorbs any
    pre-activation, so that half of Eq. 19 is not stated (it holds for every
    input).  What is checkable: z+ = z- = 0, zbar = z0 = relu(a) = 0, Eq. 12
    with D = 0 (delta = 0 = D b), and that the unprojected Eq. 11 residual
    is r11 = -b, nonzero whenever the feedback b is: this is why Eq. 10/11
    must be replaced by Eq. 19 at inactive units (only the projection of
    Eq. 11 on the active subspace, D D^+ = 0, vanishes). *)
Theorem relu_inactive : forall alpha a b,
  0 <= alpha <= 1 -> a + abar alpha * b <= 0 -> a - alpha * b <= 0 ->
  rp alpha a b = 0 /\ rm alpha a b = 0 /\
  zbar alpha (rp alpha a b) (rm alpha a b) = relu a /\
  relu a = 0 /\
  r12 0 b (rp alpha a b) (rm alpha a b) = 0 /\
  r11 b (rp alpha a b) (rm alpha a b) = - b.
Proof.
  intros alpha a b Ha Hp Hm.
  assert (Ha0 : a <= 0).
  { replace a with (alpha * (a + abar alpha * b) + abar alpha * (a - alpha * b))
      by (unfold abar; ring).
    unfold abar in *. nra. }
  unfold rp, rm, dp_plus, dp_minus.
  rewrite (relu_neg _ Hp), (relu_neg _ Hm), (relu_neg _ Ha0).
  unfold zbar, r11, r12, dlt. split; [reflexivity|]. split; [reflexivity|].
  split; [ring|]. split; [reflexivity|]. split; ring.
Qed.

(** Straddling the kink, case a + abar b > 0 > a - alpha b: z+ is on the
    active piece, z- is clipped to 0.  With m = a - alpha b < 0 (the clipped
    pre-activation of z-), the mean is zbar = alpha (a + abar b), so
    zbar - a = -abar m, and the active-piece residuals are
    r1 = (2 alpha - 1) m, r2 = 2 abar m, r11 = m. *)
Theorem relu_straddle_plus : forall alpha a b,
  a - alpha * b < 0 < a + abar alpha * b ->
  let m := a - alpha * b in
  rp alpha a b = a + abar alpha * b /\ rm alpha a b = 0 /\
  zbar alpha (rp alpha a b) (rm alpha a b) = alpha * (a + abar alpha * b) /\
  zbar alpha (rp alpha a b) (rm alpha a b) - a = - abar alpha * m /\
  zbar alpha (rp alpha a b) (rm alpha a b) - relu a
    = alpha * (a + abar alpha * b) - relu a /\
  (0 <= a -> zbar alpha (rp alpha a b) (rm alpha a b) - relu a = - abar alpha * m) /\
  (a <= 0 -> zbar alpha (rp alpha a b) (rm alpha a b) - relu a
             = alpha * (a + abar alpha * b)) /\
  r1 alpha a b (rp alpha a b) (rm alpha a b) = (2 * alpha - 1) * m /\
  r2 alpha a b (rp alpha a b) (rm alpha a b) = 2 * abar alpha * m /\
  r11 b (rp alpha a b) (rm alpha a b) = m.
Proof.
  intros alpha a b [Hm Hp] m.
  unfold rp, rm, dp_plus, dp_minus.
  rewrite (relu_pos _ (Rlt_le _ _ Hp)), (relu_neg _ (Rlt_le _ _ Hm)).
  unfold m, r1, r2, r11, zbar, dlt, abar.
  repeat split; try ring.
  - intro H. rewrite (relu_pos _ H). ring.
  - intro H. rewrite (relu_neg _ H). ring.
Qed.

(** Straddling the kink, case a + abar b < 0 < a - alpha b: z+ clipped to
    0, z- on the active piece.  With p = a + abar b < 0: zbar =
    abar (a - alpha b), zbar - a = -alpha p, r1 = -2 alpha p,
    r2 = (2 alpha - 1) p, r11 = -p. *)
Theorem relu_straddle_minus : forall alpha a b,
  a + abar alpha * b < 0 < a - alpha * b ->
  let p := a + abar alpha * b in
  rp alpha a b = 0 /\ rm alpha a b = a - alpha * b /\
  zbar alpha (rp alpha a b) (rm alpha a b) = abar alpha * (a - alpha * b) /\
  zbar alpha (rp alpha a b) (rm alpha a b) - a = - alpha * p /\
  (0 <= a -> zbar alpha (rp alpha a b) (rm alpha a b) - relu a = - alpha * p) /\
  (a <= 0 -> zbar alpha (rp alpha a b) (rm alpha a b) - relu a
             = abar alpha * (a - alpha * b)) /\
  r1 alpha a b (rp alpha a b) (rm alpha a b) = - 2 * alpha * p /\
  r2 alpha a b (rp alpha a b) (rm alpha a b) = (2 * alpha - 1) * p /\
  r11 b (rp alpha a b) (rm alpha a b) = - p.
Proof.
  intros alpha a b [Hp Hm] p.
  unfold rp, rm, dp_plus, dp_minus.
  rewrite (relu_neg _ (Rlt_le _ _ Hp)), (relu_pos _ (Rlt_le _ _ Hm)).
  unfold p, r1, r2, r11, zbar, dlt, abar.
  repeat split; try ring.
  - intro H. rewrite (relu_pos _ H). ring.
  - intro H. rewrite (relu_neg _ H). ring.
Qed.

(** Vector form: a layer of ReLU units indexed by any type I, b = WT dnext
    for an arbitrary map WT.  If every unit is either active (mask D_i = 1)
    or inactive (D_i = 0) at both nudged points (no unit straddles the
    kink), then Eq. 12 holds in every unit (delta = D b), the means are the
    feed-forward relu(a), and the Eq. 10 residuals vanish on the active
    units (D_i r1 = D_i r2 = 0). *)
Theorem relu_layer_no_straddle : forall (I J : Type)
  (WT : (J -> R) -> (I -> R)) (dnext : J -> R) (a D : I -> R) alpha,
  0 <= alpha <= 1 ->
  let b := WT dnext in
  (forall i, (D i = 1 /\ 0 <= a i + abar alpha * b i /\ 0 <= a i - alpha * b i) \/
             (D i = 0 /\ a i + abar alpha * b i <= 0 /\ a i - alpha * b i <= 0)) ->
  forall i,
    r12 (D i) (b i) (rp alpha (a i) (b i)) (rm alpha (a i) (b i)) = 0 /\
    zbar alpha (rp alpha (a i) (b i)) (rm alpha (a i) (b i)) = relu (a i) /\
    D i * r1 alpha (a i) (b i) (rp alpha (a i) (b i)) (rm alpha (a i) (b i)) = 0 /\
    D i * r2 alpha (a i) (b i) (rp alpha (a i) (b i)) (rm alpha (a i) (b i)) = 0.
Proof.
  intros I J WT dnext a D alpha Ha b Hcase i.
  destruct (Hcase i) as [[HD [Hp Hm]]|[HD [Hp Hm]]]; rewrite HD.
  - destruct (relu_active alpha (a i) (b i) Ha Hp Hm) as [H1 [H2 [_ [H12 Hz]]]].
    rewrite H1, H2. repeat split; try ring; assumption.
  - destruct (relu_inactive alpha (a i) (b i) Ha Hp Hm)
      as [_ [_ [Hz [_ [H12 _]]]]].
    repeat split; try ring; assumption.
Qed.
