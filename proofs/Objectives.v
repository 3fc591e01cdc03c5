(** The stationarity systems derived from the objectives they come from:
    each residual that OutputLayer.v, HiddenLayer.v, OrigOutput.v and
    LeCunChain.v state (and the Rust checker evaluates) is the partial
    derivative ([derivable_pt_lim]) of the objective in that state:
    Eq. 14 -> Eq. 15, Eq. 7 -> Eq. 10, Eq. 3 -> its stationarity in z+ and
    z- (scaled by 1/beta), Eq. 20 -> its KKT conditions.  Losses, inverse
    activations and potentials are arbitrary differentiable functions given
    with their derivatives. *)
Require Import Reals Lra Lia List FunctionalExtensionality.
Require Import DualProp.Common DualProp.OutputLayer DualProp.HiddenLayer
               DualProp.OrigOutput DualProp.Chain DualProp.LeCunChain
               DualProp.BPGeneral.
Open Scope R_scope.

(** Derivative of g along the line x0 + t d, at t = 0. *)
Lemma dpl_line : forall g x0 l d, derivable_pt_lim g x0 l ->
  derivable_pt_lim (fun t => g (x0 + t * d)) 0 (l * d).
Proof.
  intros g x0 l d Hg.
  apply (derivable_pt_lim_comp (fun t => x0 + t * d) g 0 d l).
  - apply dpl_affine.
  - replace (x0 + 0 * d) with x0 by ring. exact Hg.
Qed.

Lemma dpl_id_affine : forall c d x, derivable_pt_lim (fun z => c * z + d) x c.
Proof.
  intros. apply (dpl_ext (fun z => d + z * c)); [intro; ring|]. apply dpl_affine.
Qed.

Lemma dpl_c_lin : forall c d x, derivable_pt_lim (fun z => c + d * z) x d.
Proof.
  intros. apply (dpl_ext (fun z => c + z * d)); [intro; ring|]. apply dpl_affine.
Qed.

Lemma dpl_c_minus : forall c x, derivable_pt_lim (fun z => c - z) x (-1).
Proof.
  intros. apply (dpl_ext (fun z => c + z * (-1))); [intro; ring|]. apply dpl_affine.
Qed.

(** * DP+ output layer: Eq. 14 -> Eq. 15. *)

(** Eq. 14 per output unit: l(zbar) + (z+ - z-) (zbar - a). *)
Definition obj14 (l : R -> R) (alpha a zp zm : R) : R :=
  l (zbar alpha zp zm) + dlt zp zm * (zbar alpha zp zm - a).

(** Eq. 15 (first line) is the partial derivative of Eq. 14 in z+. *)
Theorem eq15_1_is_derivative : forall l lp alpha a zp zm,
  (forall z, derivable_pt_lim l z (lp z)) ->
  derivable_pt_lim (fun z => obj14 l alpha a z zm) zp (eq15_1 lp alpha a zp zm).
Proof.
  intros l lp alpha a zp zm Hl. unfold obj14, eq15_1, zbar, dlt.
  apply (dpl_val _ _ (lp (alpha * zp + abar alpha * zm) * alpha
                      + (1 * (alpha * zp + abar alpha * zm - a)
                         + (zp - zm) * alpha))); [ring|].
  apply dpl_plus.
  - apply (dpl_comp l lp (fun z => alpha * z + abar alpha * zm)); [exact Hl|].
    apply dpl_id_affine.
  - apply (dpl_mult (fun z => z - zm) (fun z => alpha * z + abar alpha * zm - a)).
    + apply dpl_sub_const. apply derivable_pt_lim_id.
    + apply dpl_sub_const. apply dpl_id_affine.
Qed.

(** Eq. 15 (second line) is the partial derivative of Eq. 14 in z-. *)
Theorem eq15_2_is_derivative : forall l lp alpha a zp zm,
  (forall z, derivable_pt_lim l z (lp z)) ->
  derivable_pt_lim (fun z => obj14 l alpha a zp z) zm (eq15_2 lp alpha a zp zm).
Proof.
  intros l lp alpha a zp zm Hl. unfold obj14, eq15_2, zbar, dlt.
  apply (dpl_val _ _ (lp (alpha * zp + abar alpha * zm) * abar alpha
                      + ((-1) * (alpha * zp + abar alpha * zm - a)
                         + (zp - zm) * abar alpha))); [ring|].
  apply dpl_plus.
  - apply (dpl_comp l lp (fun z => alpha * zp + abar alpha * z)); [exact Hl|].
    apply dpl_c_lin.
  - apply (dpl_mult (fun z => zp - z) (fun z => alpha * zp + abar alpha * z - a)).
    + apply dpl_c_minus.
    + apply dpl_sub_const. apply dpl_c_lin.
Qed.

(** Hence Eq. 16 is a stationary point of Eq. 14: both partial
    derivatives vanish there (eq16_satisfies_eq15), and only there
    (eq15_unique). *)
Corollary eq16_stationary_for_eq14 : forall l lp alpha a,
  (forall z, derivable_pt_lim l z (lp z)) ->
  derivable_pt_lim (fun z => obj14 l alpha a z (out_minus lp alpha a))
                   (out_plus lp alpha a) 0 /\
  derivable_pt_lim (fun z => obj14 l alpha a (out_plus lp alpha a) z)
                   (out_minus lp alpha a) 0.
Proof.
  intros l lp alpha a Hl. destruct (eq16_satisfies_eq15 lp alpha a) as [H1 H2].
  split.
  - rewrite <- H1. apply eq15_1_is_derivative. exact Hl.
  - rewrite <- H2. apply eq15_2_is_derivative. exact Hl.
Qed.

(** Vector form with a non-elementwise loss (e.g. softmax cross-entropy):
    Eq. 14 = l(zbar) + <z+ - z-, zbar - a>, where [lp v] is the gradient of
    l at v (its partial derivatives along the unit vectors).  The partial
    derivative in z+_i is the vector Eq. 15 ([veq15_1]). *)
Definition obj14_vec (l : Vec -> R) (alpha : R) (n : nat) (a zp zm : Vec) : R :=
  l (vzbar alpha zp zm) + dot n (vdlt zp zm) (fun j => vzbar alpha zp zm j - a j).

Theorem veq15_1_is_partial : forall (l : Vec -> R) (lp : Vec -> Vec) alpha n (a zp zm : Vec) i,
  (forall v k, derivable_pt_lim (fun s => l (fun j => v j + s * basis k j)) 0 (lp v k)) ->
  (i < n)%nat ->
  derivable_pt_lim (fun t => obj14_vec l alpha n a (fun j => zp j + t * basis i j) zm) 0
    (veq15_1 lp alpha a zp zm i).
Proof.
  intros l lp alpha n a zp zm i Hl Hi.
  set (U := fun j => 1 * (vzbar alpha zp zm j - a j) + (zp j - zm j) * alpha).
  apply (dpl_val _ _ (lp (vzbar alpha zp zm) i * alpha + vsum n (fun j => U j * basis i j))).
  { rewrite vsum_pick. destruct (lt_dec i n) as [_|]; [|lia].
    unfold U, veq15_1, vdlt, dlt. ring. }
  unfold obj14_vec. apply dpl_plus.
  - apply (dpl_ext (fun t => l (fun j => vzbar alpha zp zm j + (alpha * t) * basis i j))).
    { intro t. f_equal. apply functional_extensionality. intro j.
      unfold vzbar, zbar. ring. }
    apply (derivable_pt_lim_comp (fun t => alpha * t)
             (fun s => l (fun j => vzbar alpha zp zm j + s * basis i j)) 0 alpha).
    + apply (dpl_ext (fun t => 0 + alpha * t)); [intro; ring|]. apply dpl_c_lin.
    + rewrite Rmult_0_r. apply Hl.
  - unfold dot. apply dpl_vsum. intros j _.
    apply (dpl_line (fun z => (z - zm j) * (alpha * z + abar alpha * zm j - a j))
                    (zp j) (U j) (basis i j)).
    unfold U, vzbar, zbar.
    apply (dpl_mult (fun z => z - zm j) (fun z => alpha * z + abar alpha * zm j - a j)).
    + apply dpl_sub_const. apply derivable_pt_lim_id.
    + apply dpl_sub_const. apply dpl_id_affine.
Qed.

Theorem veq15_2_is_partial : forall (l : Vec -> R) (lp : Vec -> Vec) alpha n (a zp zm : Vec) i,
  (forall v k, derivable_pt_lim (fun s => l (fun j => v j + s * basis k j)) 0 (lp v k)) ->
  (i < n)%nat ->
  derivable_pt_lim (fun t => obj14_vec l alpha n a zp (fun j => zm j + t * basis i j)) 0
    (veq15_2 lp alpha a zp zm i).
Proof.
  intros l lp alpha n a zp zm i Hl Hi.
  set (U := fun j => (-1) * (vzbar alpha zp zm j - a j) + (zp j - zm j) * abar alpha).
  apply (dpl_val _ _ (lp (vzbar alpha zp zm) i * abar alpha
                      + vsum n (fun j => U j * basis i j))).
  { rewrite vsum_pick. destruct (lt_dec i n) as [_|]; [|lia].
    unfold U, veq15_2, vdlt, dlt. ring. }
  unfold obj14_vec. apply dpl_plus.
  - apply (dpl_ext (fun t => l (fun j => vzbar alpha zp zm j + (abar alpha * t) * basis i j))).
    { intro t. f_equal. apply functional_extensionality. intro j.
      unfold vzbar, zbar. ring. }
    apply (derivable_pt_lim_comp (fun t => abar alpha * t)
             (fun s => l (fun j => vzbar alpha zp zm j + s * basis i j)) 0 (abar alpha)).
    + apply (dpl_ext (fun t => 0 + abar alpha * t)); [intro; ring|]. apply dpl_c_lin.
    + rewrite Rmult_0_r. apply Hl.
  - unfold dot. apply dpl_vsum. intros j _.
    apply (dpl_line (fun z => (zp j - z) * (alpha * zp j + abar alpha * z - a j))
                    (zm j) (U j) (basis i j)).
    unfold U, vzbar, zbar.
    apply (dpl_mult (fun z => zp j - z) (fun z => alpha * zp j + abar alpha * z - a j)).
    + apply dpl_c_minus.
    + apply dpl_sub_const. apply dpl_c_lin.
Qed.

(** * DP+ hidden layer: Eq. 7 -> Eq. 10. *)

(** The terms of Eq. 7 that depend on one hidden unit's states: its own
    delta (f^-1(zbar) - a) and, from the layer above, -(W^T delta_{k+1})_i zbar
    = -b zbar (the rest of Eq. 7 does not depend on this unit). *)
Definition obj7_unit (finv : R -> R) (alpha a b zp zm : R) : R :=
  dlt zp zm * (finv (zbar alpha zp zm) - a) - b * zbar alpha zp zm.

Theorem eq10_1_is_derivative : forall finv dfinv alpha a b zp zm,
  (forall z, derivable_pt_lim finv z (dfinv z)) ->
  derivable_pt_lim (fun z => obj7_unit finv alpha a b z zm) zp
    (eq10_1 finv dfinv alpha a b zp zm).
Proof.
  intros finv dfinv alpha a b zp zm Hf. unfold obj7_unit, eq10_1, zbar, dlt.
  apply (dpl_val _ _
    ((1 * (finv (alpha * zp + abar alpha * zm) - a)
      + (zp - zm) * (dfinv (alpha * zp + abar alpha * zm) * alpha))
     - b * alpha)); [ring|].
  apply (derivable_pt_lim_minus
           (fun z => (z - zm) * (finv (alpha * z + abar alpha * zm) - a))
           (fun z => b * (alpha * z + abar alpha * zm))).
  - apply (dpl_mult (fun z => z - zm) (fun z => finv (alpha * z + abar alpha * zm) - a)).
    + apply dpl_sub_const. apply derivable_pt_lim_id.
    + apply dpl_sub_const.
      apply (dpl_comp finv dfinv (fun z => alpha * z + abar alpha * zm)); [exact Hf|].
      apply dpl_id_affine.
  - apply dpl_scal. apply dpl_id_affine.
Qed.

Theorem eq10_2_is_derivative : forall finv dfinv alpha a b zp zm,
  (forall z, derivable_pt_lim finv z (dfinv z)) ->
  derivable_pt_lim (fun z => obj7_unit finv alpha a b zp z) zm
    (eq10_2 finv dfinv alpha a b zp zm).
Proof.
  intros finv dfinv alpha a b zp zm Hf. unfold obj7_unit, eq10_2, zbar, dlt.
  apply (dpl_val _ _
    (((-1) * (finv (alpha * zp + abar alpha * zm) - a)
      + (zp - zm) * (dfinv (alpha * zp + abar alpha * zm) * abar alpha))
     - b * abar alpha)); [ring|].
  apply (derivable_pt_lim_minus
           (fun z => (zp - z) * (finv (alpha * zp + abar alpha * z) - a))
           (fun z => b * (alpha * zp + abar alpha * z))).
  - apply (dpl_mult (fun z => zp - z) (fun z => finv (alpha * zp + abar alpha * z) - a)).
    + apply dpl_c_minus.
    + apply dpl_sub_const.
      apply (dpl_comp finv dfinv (fun z => alpha * zp + abar alpha * z)); [exact Hf|].
      apply dpl_c_lin.
  - apply dpl_scal. apply dpl_c_lin.
Qed.

Lemma dpl_minus : forall f g x lf lg,
  derivable_pt_lim f x lf -> derivable_pt_lim g x lg ->
  derivable_pt_lim (fun t => f t - g t) x (lf - lg).
Proof. intros. apply (derivable_pt_lim_minus f g x lf lg); assumption. Qed.

Lemma dot_basis : forall n (u : Vec) i, (i < n)%nat -> dot n u (basis i) = u i.
Proof.
  intros. unfold dot. rewrite vsum_pick. destruct (lt_dec i n); [reflexivity | lia].
Qed.

(** Eq. 7 at the layer level: the terms that depend on the states of a
    hidden layer k of width din W, delta_k^T (f^-1(zbar_k) - a_k) and, from
    layer k+1, -delta_{k+1}^T W_k zbar_k ([dn] = delta_{k+1}); the other terms of
    Eq. 7 do not depend on layer k's states. *)
Definition obj7_layer (finv : R -> R) (alpha : R) (W : Lin) (a dn zp zm : Vec) : R :=
  dot (din W) (vdlt zp zm) (fun j => finv (vzbar alpha zp zm j) - a j)
  - dot (dout W) dn (app W (vzbar alpha zp zm)).

(** The partial derivative of Eq. 7 in z_k^+ at unit i is Eq. 10's first
    line with b = W_k^T delta_{k+1}: the feedback term of Eq. 8 is derived
    from the objective through the adjoint law, not assumed. *)
Theorem eq10_1_layer_is_partial : forall finv dfinv alpha (W : Lin) (a dn zp zm : Vec) i,
  (forall z, derivable_pt_lim finv z (dfinv z)) -> (i < din W)%nat ->
  derivable_pt_lim
    (fun t => obj7_layer finv alpha W a dn (fun j => zp j + t * basis i j) zm) 0
    (eq10_1 finv dfinv alpha (a i) (appT W dn i) (zp i) (zm i)).
Proof.
  intros finv dfinv alpha W a dn zp zm i Hf Hi.
  set (U := fun j => 1 * (finv (alpha * zp j + abar alpha * zm j) - a j)
                     + (zp j - zm j) * (dfinv (alpha * zp j + abar alpha * zm j) * alpha)).
  apply (dpl_val _ _
    (vsum (din W) (fun j => U j * basis i j)
     - vsum (dout W) (fun p => dn p * app W (fun j => alpha * basis i j) p))).
  { rewrite vsum_pick. destruct (lt_dec i (din W)) as [_|]; [|lia].
    change (vsum (dout W) (fun p => dn p * app W (fun j => alpha * basis i j) p))
      with (dot (dout W) dn (app W (fun j => alpha * basis i j))).
    rewrite <- adjoint. unfold dot.
    replace (vsum (din W) (fun j => appT W dn j * (alpha * basis i j)))
      with (alpha * vsum (din W) (fun j => appT W dn j * basis i j))
      by (rewrite <- vsum_scal; apply vsum_ext; intro; ring).
    rewrite vsum_pick. destruct (lt_dec i (din W)) as [_|]; [|lia].
    unfold U, eq10_1, zbar, dlt. ring. }
  unfold obj7_layer, dot. apply dpl_minus.
  - apply dpl_vsum. intros j Hj.
    apply (dpl_line (fun z => (z - zm j) * (finv (alpha * z + abar alpha * zm j) - a j))
                    (zp j) (U j) (basis i j)).
    unfold U. apply (dpl_mult (fun z => z - zm j)
                              (fun z => finv (alpha * z + abar alpha * zm j) - a j)).
    + apply dpl_sub_const. apply derivable_pt_lim_id.
    + apply dpl_sub_const.
      apply (dpl_comp finv dfinv (fun z => alpha * z + abar alpha * zm j)); [exact Hf|].
      apply dpl_id_affine.
  - apply dpl_vsum. intros p Hp. apply dpl_scal. apply dpl_app; [exact Hp|].
    intros j _.
    apply (dpl_ext (fun t => (alpha * zp j + abar alpha * zm j) + t * (alpha * basis i j))).
    { intro t. unfold vzbar, zbar. ring. }
    apply dpl_affine.
Qed.

(** The same in z_k^-: Eq. 10's second line. *)
Theorem eq10_2_layer_is_partial : forall finv dfinv alpha (W : Lin) (a dn zp zm : Vec) i,
  (forall z, derivable_pt_lim finv z (dfinv z)) -> (i < din W)%nat ->
  derivable_pt_lim
    (fun t => obj7_layer finv alpha W a dn zp (fun j => zm j + t * basis i j)) 0
    (eq10_2 finv dfinv alpha (a i) (appT W dn i) (zp i) (zm i)).
Proof.
  intros finv dfinv alpha W a dn zp zm i Hf Hi.
  set (U := fun j => (-1) * (finv (alpha * zp j + abar alpha * zm j) - a j)
                     + (zp j - zm j) * (dfinv (alpha * zp j + abar alpha * zm j) * abar alpha)).
  apply (dpl_val _ _
    (vsum (din W) (fun j => U j * basis i j)
     - vsum (dout W) (fun p => dn p * app W (fun j => abar alpha * basis i j) p))).
  { rewrite vsum_pick. destruct (lt_dec i (din W)) as [_|]; [|lia].
    change (vsum (dout W) (fun p => dn p * app W (fun j => abar alpha * basis i j) p))
      with (dot (dout W) dn (app W (fun j => abar alpha * basis i j))).
    rewrite <- adjoint. unfold dot.
    replace (vsum (din W) (fun j => appT W dn j * (abar alpha * basis i j)))
      with (abar alpha * vsum (din W) (fun j => appT W dn j * basis i j))
      by (rewrite <- vsum_scal; apply vsum_ext; intro; ring).
    rewrite vsum_pick. destruct (lt_dec i (din W)) as [_|]; [|lia].
    unfold U, eq10_2, zbar, dlt. ring. }
  unfold obj7_layer, dot. apply dpl_minus.
  - apply dpl_vsum. intros j Hj.
    apply (dpl_line (fun z => (zp j - z) * (finv (alpha * zp j + abar alpha * z) - a j))
                    (zm j) (U j) (basis i j)).
    unfold U. apply (dpl_mult (fun z => zp j - z)
                              (fun z => finv (alpha * zp j + abar alpha * z) - a j)).
    + apply dpl_c_minus.
    + apply dpl_sub_const.
      apply (dpl_comp finv dfinv (fun z => alpha * zp j + abar alpha * z)); [exact Hf|].
      apply dpl_c_lin.
  - apply dpl_vsum. intros p Hp. apply dpl_scal. apply dpl_app; [exact Hp|].
    intros j _.
    apply (dpl_ext (fun t => (alpha * zp j + abar alpha * zm j) + t * (abar alpha * basis i j))).
    { intro t. unfold vzbar, zbar. ring. }
    apply dpl_affine.
Qed.

(** Hence, for an affine activation, the Eq. 8 update of a whole layer is a
    stationary point of Eq. 7 in that layer's states (Prop. 3.1 derived). *)
Corollary affine_eq8_stationary_for_eq7 : forall c d alpha (W : Lin) (a dn : Vec) i,
  d <> 0 -> (i < din W)%nat ->
  let b := appT W dn in
  let zp := fun j => dp_plus (aff c d) alpha (a j) (b j) in
  let zm := fun j => dp_minus (aff c d) alpha (a j) (b j) in
  derivable_pt_lim
    (fun t => obj7_layer (aff_inv c d) alpha W a dn (fun j => zp j + t * basis i j) zm) 0 0 /\
  derivable_pt_lim
    (fun t => obj7_layer (aff_inv c d) alpha W a dn zp (fun j => zm j + t * basis i j)) 0 0.
Proof.
  intros c d alpha W a dn i Hd Hi b zp zm.
  destruct (affine_eq8_solves_eq10 c d alpha (a i) (b i) Hd) as [H1 H2].
  assert (Hf : forall z, derivable_pt_lim (aff_inv c d) z (aff_dinv d z))
    by (intro; apply aff_inv_derivative; exact Hd).
  split.
  - apply (dpl_val _ _ (eq10_1 (aff_inv c d) (aff_dinv d) alpha (a i) (appT W dn i)
                              (zp i) (zm i))); [exact H1|].
    apply eq10_1_layer_is_partial; assumption.
  - apply (dpl_val _ _ (eq10_2 (aff_inv c d) (aff_dinv d) alpha (a i) (appT W dn i)
                              (zp i) (zm i))); [exact H2|].
    apply eq10_2_layer_is_partial; assumption.
Qed.

(** * Original DP: Eq. 3 -> its stationarity conditions. *)

(** Eq. 3 at the output unit, any loss l (derivative lp), E_L(z, a) = z^2/2 - z a. *)
Definition obj3_out (l : R -> R) (alpha beta a zp zm : R) : R :=
  alpha * l zp + abar alpha * l zm + / beta * (EL zp a - EL zm a).

Lemma Jdp_is_obj3_out : forall alpha beta y a zp zm,
  Jdp alpha beta y a zp zm = obj3_out (lsq y) alpha beta a zp zm.
Proof. reflexivity. Qed.

(** The checker's residual z+ - a + alpha beta l'(z+) is beta times the
    partial derivative of Eq. 3 in z+ ... *)
Theorem eq3_out_plus_is_derivative : forall l lp alpha beta a zp zm,
  beta <> 0 -> (forall z, derivable_pt_lim l z (lp z)) ->
  derivable_pt_lim (fun z => obj3_out l alpha beta a z zm) zp
    (/ beta * (zp - a + alpha * (beta * lp zp))).
Proof.
  intros l lp alpha beta a zp zm Hb Hl. unfold obj3_out, EL.
  apply (dpl_val _ _ ((alpha * lp zp + 0) + / beta * ((1/2 * (2 * zp) - a) - 0))).
  { field. exact Hb. }
  apply dpl_plus; [apply dpl_plus|].
  - apply dpl_scal. apply Hl.
  - apply derivable_pt_lim_const.
  - apply dpl_scal. apply dpl_minus; [|apply derivable_pt_lim_const].
    apply (dpl_ext (fun z => 1/2 * (z * z) - z * a)); [intro; ring|].
    apply dpl_minus.
    + apply dpl_scal. apply (dpl_val _ _ (1 * zp + zp * 1)); [ring|].
      apply (dpl_mult (fun z => z) (fun z => z)); apply derivable_pt_lim_id.
    + apply (dpl_val _ _ (1 * a)); [ring|]. apply dpl_mult_const_r. apply derivable_pt_lim_id.
Qed.

(** ... and z- - a - abar beta l'(z-) is -beta times the one in z-. *)
Theorem eq3_out_minus_is_derivative : forall l lp alpha beta a zp zm,
  beta <> 0 -> (forall z, derivable_pt_lim l z (lp z)) ->
  derivable_pt_lim (fun z => obj3_out l alpha beta a zp z) zm
    (- / beta * (zm - a - abar alpha * (beta * lp zm))).
Proof.
  intros l lp alpha beta a zp zm Hb Hl. unfold obj3_out, EL.
  apply (dpl_val _ _ ((0 + abar alpha * lp zm) + / beta * (0 - (1/2 * (2 * zm) - a)))).
  { field. exact Hb. }
  apply dpl_plus; [apply dpl_plus|].
  - apply derivable_pt_lim_const.
  - apply dpl_scal. apply Hl.
  - apply dpl_scal. apply dpl_minus; [apply derivable_pt_lim_const|].
    apply (dpl_ext (fun z => 1/2 * (z * z) - z * a)); [intro; ring|].
    apply dpl_minus.
    + apply dpl_scal. apply (dpl_val _ _ (1 * zm + zm * 1)); [ring|].
      apply (dpl_mult (fun z => z) (fun z => z)); apply derivable_pt_lim_id.
    + apply (dpl_val _ _ (1 * a)); [ring|]. apply dpl_mult_const_r. apply derivable_pt_lim_id.
Qed.

(** With least squares the exact output rule zeroes both derivatives. *)
Corollary orig_out_stationary : forall alpha beta y a,
  0 < beta -> 0 <= alpha -> abar alpha * beta <> 1 ->
  orig_out_plus alpha beta a y - a + alpha * (beta * (orig_out_plus alpha beta a y - y)) = 0
  /\ orig_out_minus alpha beta a y - a
     - abar alpha * (beta * (orig_out_minus alpha beta a y - y)) = 0.
Proof.
  intros alpha beta y a Hb Ha H1. unfold orig_out_plus, orig_out_minus.
  assert (0 <= alpha * beta) by (apply Rmult_le_pos; lra).
  split; field.
  - lra.
  - intro H2. apply H1. lra.
Qed.

(** Eq. 3 at a hidden unit: E_k(z, a) = G(z) - z a with G' = f^-1 (the
    potential), and from the layer above -(1/beta) b zbar with
    b = (W_k^T delta_{k+1})_i. *)
Definition obj3_unit (G : R -> R) (alpha beta a b zp zm : R) : R :=
  / beta * ((G zp - zp * a) - (G zm - zm * a) - b * zbar alpha zp zm).

(** Original DP's hidden residuals f^-1(z+) - (a + alpha b) and
    f^-1(z-) - (a - abar b) are beta and -beta times the partial derivatives. *)
Theorem eq3_hidden_plus_is_derivative : forall G finv alpha beta a b zp zm,
  (forall z, derivable_pt_lim G z (finv z)) ->
  derivable_pt_lim (fun z => obj3_unit G alpha beta a b z zm) zp
    (/ beta * (finv zp - (a + alpha * b))).
Proof.
  intros G finv alpha beta a b zp zm HG. unfold obj3_unit, zbar.
  apply (dpl_val _ _ (/ beta * (((finv zp - 1 * a) - 0) - b * alpha))); [ring|].
  apply dpl_scal. apply dpl_minus; [apply dpl_minus|].
  - apply dpl_minus; [apply HG|]. apply dpl_mult_const_r. apply derivable_pt_lim_id.
  - apply derivable_pt_lim_const.
  - apply dpl_scal. apply dpl_id_affine.
Qed.

Theorem eq3_hidden_minus_is_derivative : forall G finv alpha beta a b zp zm,
  (forall z, derivable_pt_lim G z (finv z)) ->
  derivable_pt_lim (fun z => obj3_unit G alpha beta a b zp z) zm
    (- / beta * (finv zm - (a - abar alpha * b))).
Proof.
  intros G finv alpha beta a b zp zm HG. unfold obj3_unit, zbar.
  apply (dpl_val _ _ (/ beta * ((0 - (finv zm - 1 * a)) - b * abar alpha))); [ring|].
  apply dpl_scal. apply dpl_minus; [apply dpl_minus|].
  - apply derivable_pt_lim_const.
  - apply dpl_minus; [apply HG|]. apply dpl_mult_const_r. apply derivable_pt_lim_id.
  - apply dpl_scal. apply dpl_c_lin.
Qed.

(** * LeCun's Lagrangian, Eq. 20 -> its KKT conditions. *)

(** The terms of Eq. 20 that depend on layer k's primal state z (= zbar_k)
    and multiplier dk (= delta_k): delta_k^T (z_k - f(a_k)) and, from layer
    k+1, -delta_{k+1}^T f(W_k z_k) ([dn] = delta_{k+1}). *)
Definition lagr20_layer (f : R -> R) (W : Lin) (a z dk dn : Vec) : R :=
  dot (din W) dk (fun j => z j - f (a j)) - dot (dout W) dn (fun p => f (app W z p)).

(** Stationarity in the multiplier delta_k,i: the constraint z_i = f(a_i). *)
Theorem eq20_multiplier_is_partial : forall f (W : Lin) (a z dk dn : Vec) i,
  (i < din W)%nat ->
  derivable_pt_lim
    (fun t => lagr20_layer f W a z (fun j => dk j + t * basis i j) dn) 0 (z i - f (a i)).
Proof.
  intros f W a z dk dn i Hi. unfold lagr20_layer.
  apply (dpl_val _ _ (vsum (din W) (fun j => (z j - f (a j)) * basis i j) - 0)).
  { rewrite vsum_pick. destruct (lt_dec i (din W)); [ring | lia]. }
  apply dpl_minus; [|apply derivable_pt_lim_const].
  unfold dot. apply dpl_vsum. intros j _.
  apply (dpl_ext (fun t => dk j * (z j - f (a j)) + t * (basis i j * (z j - f (a j))))).
  { intro. ring. }
  apply (dpl_val _ _ (basis i j * (z j - f (a j)))); [ring|]. apply dpl_affine.
Qed.

(** Stationarity in the primal state z_k,i: delta_k,i = (W_k^T D_{k+1} delta_{k+1})_i
    with D_{k+1} = f'(W_k z_k), again through the adjoint law. *)
Theorem eq20_state_is_partial : forall f fp (W : Lin) (a z dk dn : Vec) i,
  (forall x, derivable_pt_lim f x (fp x)) -> (i < din W)%nat ->
  derivable_pt_lim
    (fun t => lagr20_layer f W a (fun j => z j + t * basis i j) dk dn) 0
    (dk i - appT W (fun p => fp (app W z p) * dn p) i).
Proof.
  intros f fp W a z dk dn i Hf Hi. unfold lagr20_layer.
  apply (dpl_val _ _
    (vsum (din W) (fun j => dk j * basis i j)
     - vsum (dout W) (fun p => dn p * (fp (app W z p) * app W (basis i) p)))).
  { rewrite vsum_pick. destruct (lt_dec i (din W)) as [_|]; [|lia].
    rewrite <- (dot_basis (din W) (appT W (fun p => fp (app W z p) * dn p)) i Hi).
    rewrite adjoint. unfold dot. f_equal. apply vsum_ext.
    intro. ring. }
  unfold dot. apply dpl_minus.
  - apply dpl_vsum. intros j _.
    apply (dpl_ext (fun t => (dk j * z j - dk j * f (a j)) + t * (dk j * basis i j))).
    { intro. ring. }
    apply dpl_affine.
  - apply dpl_vsum. intros p Hp.
    apply (dpl_val _ _
      (dn p * (fp (app W (fun j => z j + 0 * basis i j) p) * app W (basis i) p))).
    { replace (fun j => z j + 0 * basis i j) with z
        by (apply functional_extensionality; intro; ring).
      reflexivity. }
    apply dpl_scal.
    apply (dpl_comp f fp (fun t => app W (fun j => z j + t * basis i j) p)); [exact Hf|].
    apply dpl_app; [exact Hp|]. intros j _. apply dpl_affine.
Qed.

(** Hence the settled Eq. 21 update is a stationary point of Eq. 20 at
    layer k: both partial derivatives vanish at (zbar_k, delta_k), with
    D_{k+1} = f'(a_{k+1}) at the next layer's pre-activation. *)
Corollary settled_update_is_stationary_for_eq20 :
  forall alpha f fp (W : Lin) (a dn : Vec) i,
  (forall x, derivable_pt_lim f x (fp x)) -> (i < din W)%nat ->
  let Dn := fun p => fp (app W (fun j => f (a j)) p) in
  let b := appT W (fun p => Dn p * (1 * dn p)) in
  let zp := fun j => f (a j) + abar alpha * b j in
  let zm := fun j => f (a j) - alpha * b j in
  derivable_pt_lim
    (fun t => lagr20_layer f W a (fun j => vzbar alpha zp zm j + t * basis i j)
                           (vdlt zp zm) dn) 0 0 /\
  derivable_pt_lim
    (fun t => lagr20_layer f W a (vzbar alpha zp zm)
                           (fun j => vdlt zp zm j + t * basis i j) dn) 0 0.
Proof.
  intros alpha f fp W a dn i Hf Hi Dn b zp zm.
  destruct (settled_update_satisfies_kkt alpha f W a Dn dn) as [Hd Hz].
  assert (E : vzbar alpha zp zm = fun j => f (a j)).
  { apply functional_extensionality. intro j. apply Hz. }
  split.
  - apply (dpl_val _ _
      (vdlt zp zm i - appT W (fun p => fp (app W (vzbar alpha zp zm) p) * dn p) i)).
    { assert (Hdi : vdlt zp zm i = appT W (fun j => Dn j * dn j) i)
        by (unfold vdlt, dlt; apply Hd).
      rewrite E, Hdi. unfold Dn. ring. }
    apply eq20_state_is_partial; assumption.
  - apply (dpl_val _ _ (vzbar alpha zp zm i - f (a i))).
    { assert (Hzi : vzbar alpha zp zm i = f (a i)) by (unfold vzbar; apply Hz).
      rewrite Hzi. ring. }
    apply eq20_multiplier_is_partial. exact Hi.
Qed.

(** Eq. 3 at the layer level: the terms that depend on the states of hidden
    layer k, (1/beta) sum_j [E(z+_j, a_j) - E(z-_j, a_j)] and, from layer k+1,
    -(1/beta) <delta_{k+1}, W_k zbar_k>.  The partial derivative in z+_{k,i} is
    (1/beta) (f^-1(z+_i) - (a_i + alpha (W_k^T delta_{k+1})_i)): original
    DP's feedback term is derived through the adjoint law as well. *)
Definition obj3_layer (G : R -> R) (alpha beta : R) (W : Lin) (a dn zp zm : Vec) : R :=
  / beta * (vsum (din W) (fun j => (G (zp j) - zp j * a j) - (G (zm j) - zm j * a j))
            - dot (dout W) dn (app W (vzbar alpha zp zm))).

Theorem eq3_hidden_layer_plus_is_partial : forall G finv alpha beta (W : Lin) (a dn zp zm : Vec) i,
  (forall z, derivable_pt_lim G z (finv z)) -> (i < din W)%nat ->
  derivable_pt_lim
    (fun t => obj3_layer G alpha beta W a dn (fun j => zp j + t * basis i j) zm) 0
    (/ beta * (finv (zp i) - (a i + alpha * appT W dn i))).
Proof.
  intros G finv alpha beta W a dn zp zm i HG Hi.
  apply (dpl_val _ _
    (/ beta * (vsum (din W) (fun j => (finv (zp j) - 1 * a j) * basis i j)
               - vsum (dout W) (fun p => dn p * app W (fun j => alpha * basis i j) p)))).
  { rewrite vsum_pick. destruct (lt_dec i (din W)) as [_|]; [|lia].
    change (vsum (dout W) (fun p => dn p * app W (fun j => alpha * basis i j) p))
      with (dot (dout W) dn (app W (fun j => alpha * basis i j))).
    rewrite <- adjoint. unfold dot.
    replace (vsum (din W) (fun j => appT W dn j * (alpha * basis i j)))
      with (alpha * vsum (din W) (fun j => appT W dn j * basis i j))
      by (rewrite <- vsum_scal; apply vsum_ext; intro; ring).
    rewrite vsum_pick. destruct (lt_dec i (din W)) as [_|]; [|lia]. ring. }
  unfold obj3_layer, dot. apply dpl_scal. apply dpl_minus.
  - apply dpl_vsum. intros j _.
    apply (dpl_line (fun z => (G z - z * a j) - (G (zm j) - zm j * a j))
                    (zp j) (finv (zp j) - 1 * a j) (basis i j)).
    apply (dpl_val _ _ ((finv (zp j) - 1 * a j) - 0)); [ring|].
    apply dpl_minus; [|apply derivable_pt_lim_const].
    apply dpl_minus; [apply HG|]. apply dpl_mult_const_r. apply derivable_pt_lim_id.
  - apply dpl_vsum. intros p Hp. apply dpl_scal. apply dpl_app; [exact Hp|].
    intros j _.
    apply (dpl_ext (fun t => (alpha * zp j + abar alpha * zm j) + t * (alpha * basis i j))).
    { intro t. unfold vzbar, zbar. ring. }
    apply dpl_affine.
Qed.

Theorem eq3_hidden_layer_minus_is_partial : forall G finv alpha beta (W : Lin) (a dn zp zm : Vec) i,
  (forall z, derivable_pt_lim G z (finv z)) -> (i < din W)%nat ->
  derivable_pt_lim
    (fun t => obj3_layer G alpha beta W a dn zp (fun j => zm j + t * basis i j)) 0
    (- / beta * (finv (zm i) - (a i - abar alpha * appT W dn i))).
Proof.
  intros G finv alpha beta W a dn zp zm i HG Hi.
  apply (dpl_val _ _
    (/ beta * (vsum (din W) (fun j => (0 - (finv (zm j) - 1 * a j)) * basis i j)
               - vsum (dout W) (fun p => dn p * app W (fun j => abar alpha * basis i j) p)))).
  { rewrite vsum_pick. destruct (lt_dec i (din W)) as [_|]; [|lia].
    change (vsum (dout W) (fun p => dn p * app W (fun j => abar alpha * basis i j) p))
      with (dot (dout W) dn (app W (fun j => abar alpha * basis i j))).
    rewrite <- adjoint. unfold dot.
    replace (vsum (din W) (fun j => appT W dn j * (abar alpha * basis i j)))
      with (abar alpha * vsum (din W) (fun j => appT W dn j * basis i j))
      by (rewrite <- vsum_scal; apply vsum_ext; intro; ring).
    rewrite vsum_pick. destruct (lt_dec i (din W)) as [_|]; [|lia]. ring. }
  unfold obj3_layer, dot. apply dpl_scal. apply dpl_minus.
  - apply dpl_vsum. intros j _.
    apply (dpl_line (fun z => (G (zp j) - zp j * a j) - (G z - z * a j))
                    (zm j) (0 - (finv (zm j) - 1 * a j)) (basis i j)).
    apply dpl_minus; [apply derivable_pt_lim_const|].
    apply dpl_minus; [apply HG|]. apply dpl_mult_const_r. apply derivable_pt_lim_id.
  - apply dpl_vsum. intros p Hp. apply dpl_scal. apply dpl_app; [exact Hp|].
    intros j _.
    apply (dpl_ext (fun t => (alpha * zp j + abar alpha * zm j) + t * (abar alpha * basis i j))).
    { intro t. unfold vzbar, zbar. ring. }
    apply dpl_affine.
Qed.

(** Eq. 20 at the output unit: l(z_L) + delta_L (z_L - a_L).  Stationarity
    in z_L is delta_L = -l'(z_L), in delta_L it is z_L = a_L: the output
    conditions the checker uses for the Eq. 20 variants, met by Eq. 16's
    mean and difference (zbar = a, delta = -l'(a), [out_mean], [out_delta]). *)
Definition lagr20_out (l : R -> R) (a z d : R) : R := l z + d * (z - a).

Theorem eq20_out_state_is_derivative : forall l lp a z d,
  (forall x, derivable_pt_lim l x (lp x)) ->
  derivable_pt_lim (fun t => lagr20_out l a t d) z (lp z + d).
Proof.
  intros l lp a z d Hl. unfold lagr20_out.
  apply dpl_plus; [apply Hl|].
  apply (dpl_val _ _ (d * 1)); [ring|]. apply dpl_scal. apply dpl_sub_const.
  apply derivable_pt_lim_id.
Qed.

Theorem eq20_out_multiplier_is_derivative : forall l a z d,
  derivable_pt_lim (fun t => lagr20_out l a z t) d (z - a).
Proof.
  intros. unfold lagr20_out.
  apply (dpl_val _ _ (0 + 1 * (z - a))); [ring|].
  apply dpl_plus; [apply derivable_pt_lim_const|]. apply dpl_mult_const_r.
  apply derivable_pt_lim_id.
Qed.

Corollary eq16_stationary_for_eq20_out : forall l lp alpha a,
  (forall x, derivable_pt_lim l x (lp x)) ->
  let zb := zbar alpha (out_plus lp alpha a) (out_minus lp alpha a) in
  let d := dlt (out_plus lp alpha a) (out_minus lp alpha a) in
  derivable_pt_lim (fun t => lagr20_out l a t d) zb 0 /\
  derivable_pt_lim (fun t => lagr20_out l a zb t) d 0.
Proof.
  intros l lp alpha a Hl zb d. split.
  - apply (dpl_val _ _ (lp zb + d)).
    { unfold zb, d. rewrite out_mean, out_delta. ring. }
    apply eq20_out_state_is_derivative. exact Hl.
  - apply (dpl_val _ _ (zb - a)).
    { unfold zb. rewrite out_mean. ring. }
    apply eq20_out_multiplier_is_derivative.
Qed.
