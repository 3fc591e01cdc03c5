(** Theorem 6: the variant from LeCun's Lagrangian (Eq. 20) with the
    settled sign of Eq. 21, its KKT conditions, its exactness, and the
    failure of the printed sign. *)
Require Import Reals Lra List.
Require Import DualProp.Common DualProp.Chain.
Import ListNotations.
Open Scope R_scope.

(** [sgn] = 1 is the settled update
      z+ = f(a) + abar W^T D (z+_{k+1} - z-_{k+1}),
      z- = f(a) - alpha W^T D (z+_{k+1} - z-_{k+1}),
    [sgn] = -1 is the printed Eq. 21 sign, (z-_{k+1} - z+_{k+1}).
    D_{k+1} = f'(a_{k+1}) is taken at the next layer's pre-activation
    (for f = id both readings of the printed argument give D = 1).
    [lc_layer] returns the gradient estimates of ws, delta_k and D_k
    (D_L = 1 at the linear output layer, nudged by Eq. 16). *)
Fixpoint lc_layer (sgn : R) (f fp : R -> R) (alpha beta : R) (y : Vec)
  (a : Vec) (ws : list Lin) : list Grad * Vec * Vec :=
  match ws with
  | [] =>
      let zp := fun i => a i - abar alpha * (beta * (a i - y i)) in
      let zm := fun i => a i + alpha * (beta * (a i - y i)) in
      ([], fun i => zp i - zm i, fun _ => 1)
  | W :: ws' =>
      let h := fun i => f (a i) in
      let r := lc_layer sgn f fp alpha beta y (app W h) ws' in
      let dn := snd (fst r) in
      let Dn := snd r in
      let b := appT W (fun i => Dn i * (sgn * dn i)) in
      let zp := fun i => f (a i) + abar alpha * b i in
      let zm := fun i => f (a i) - alpha * b i in
      let zb := fun i => zbar alpha (zp i) (zm i) in
      ((fun i j => - / beta * (Dn i * dn i) * zb j) :: fst (fst r),
       fun i => zp i - zm i,
       fun i => fp (a i))
  end.

Definition lc_net (sgn : R) (f fp : R -> R) (alpha beta : R) (y x : Vec)
  (ws : list Lin) : list Grad :=
  match ws with
  | [] => []
  | W :: ws' =>
      let r := lc_layer sgn f fp alpha beta y (app W x) ws' in
      (fun i j => - / beta * (snd r i * snd (fst r) i) * x j) :: fst (fst r)
  end.

(** KKT conditions of Eq. 20 at the states of one layer, for the
    multiplier delta_k = z+_k - z-_k and the primal variable zbar_k:
    output: delta_L = -l'(zbar_L) = -beta (zbar_L - y) and zbar_L = a_L;
    hidden: delta_k = W_k^T D_{k+1} delta_{k+1} and zbar_k = f(a_k)
    (Objectives.v derives both as partial derivatives of Eq. 20:
    [eq20_state_is_partial], [eq20_multiplier_is_partial]). *)
Definition kkt_hidden (alpha : R) (f : R -> R) (W : Lin) (a zp zm Dn dn : Vec)
  : Prop :=
  (forall i, zp i - zm i = appT W (fun j => Dn j * dn j) i) /\
  (forall i, zbar alpha (zp i) (zm i) = f (a i)).

(** The settled update satisfies the hidden KKT conditions, for any f. *)
Theorem settled_update_satisfies_kkt : forall alpha f (W : Lin) (a Dn dn : Vec),
  let b := appT W (fun i => Dn i * (1 * dn i)) in
  kkt_hidden alpha f W a (fun i => f (a i) + abar alpha * b i)
                         (fun i => f (a i) - alpha * b i) Dn dn.
Proof.
  intros. split.
  - intro i. unfold b. rewrite (appT_ext W _ (fun j => Dn j * dn j)).
    + unfold abar. ring.
    + intro. ring.
  - intro i. unfold zbar, abar. ring.
Qed.

(** The printed sign satisfies it only when W^T D delta_{k+1} = 0. *)
Theorem printed_update_kkt_iff : forall alpha f (W : Lin) (a Dn dn : Vec),
  let b := appT W (fun i => Dn i * (-1 * dn i)) in
  kkt_hidden alpha f W a (fun i => f (a i) + abar alpha * b i)
                         (fun i => f (a i) - alpha * b i) Dn dn
  <-> (forall i, appT W (fun j => Dn j * dn j) i = 0).
Proof.
  intros. assert (Hb : forall i, b i = -1 * appT W (fun j => Dn j * dn j) i).
  { intro i. unfold b. rewrite <- appT_scal. apply appT_ext. intro. ring. }
  split.
  - intros [H _] i. specialize (H i). rewrite Hb in H. unfold abar in H. lra.
  - intro H. split.
    + intro i. rewrite Hb, H. unfold abar. ring.
    + intro i. unfold zbar, abar. ring.
Qed.

(** Exactness: with the settled sign, D_k delta_k = -beta e_k (e_k the BP
    error) and the gradient estimates -(1/beta) (D_k delta_k) zbar_{k-1}^T
    are the BP gradients, for every f, f', alpha and beta > 0. *)
Lemma lc_layer_settled : forall f fp alpha beta y ws a, beta <> 0 ->
  grads_eq (fst (fst (lc_layer 1 f fp alpha beta y a ws)))
           (fst (bp_layer f fp y a ws)) /\
  (forall i, snd (lc_layer 1 f fp alpha beta y a ws) i
             * snd (fst (lc_layer 1 f fp alpha beta y a ws)) i
             = - beta * snd (bp_layer f fp y a ws) i).
Proof.
  intros f fp alpha beta y ws. induction ws as [|W ws IH]; intros a Hb.
  - simpl. split; [constructor|]. intro i. unfold abar. ring.
  - simpl. destruct (IH (app W (fun i => f (a i))) Hb) as [Hg Hd].
    set (rl := lc_layer 1 f fp alpha beta y (app W (fun i => f (a i))) ws) in *.
    set (rb := bp_layer f fp y (app W (fun i => f (a i))) ws) in *.
    assert (HT : forall i, appT W (fun j => snd rl j * (1 * snd (fst rl) j)) i
                           = - beta * appT W (snd rb) i).
    { intro i. rewrite <- appT_scal. apply appT_ext. intro j.
      rewrite <- Hd. ring. }
    split.
    + constructor; [|exact Hg]. intros i j.
      rewrite Hd. unfold zbar, abar. field. exact Hb.
    + intro i. rewrite HT. unfold abar. ring.
Qed.

Theorem lecun_settled_equals_bp : forall f fp alpha beta (y x : Vec) ws,
  0 < beta ->
  grads_eq (lc_net 1 f fp alpha beta y x ws) (bp_net f fp y x ws).
Proof.
  intros f fp alpha beta y x ws Hb. destruct ws as [|W ws]; simpl; [constructor|].
  assert (Hb' : beta <> 0) by lra.
  destruct (lc_layer_settled f fp alpha beta y ws (app W x) Hb') as [Hg Hd].
  constructor; [|exact Hg]. intros i j. rewrite Hd. field. exact Hb'.
Qed.

(** Printed sign: the estimates alternate in sign relative to BP, layer by
    layer from the output: the gradient of W_{k-1} is (-1)^(L-k) times
    BP's, so every other layer has the wrong sign. *)
Fixpoint signed_eq (n : nat) (gs1 gs2 : list Grad) : Prop :=
  match gs1, gs2 with
  | [], [] => True
  | g1 :: r1, g2 :: r2 =>
      (forall i j, g1 i j = (-1) ^ n * g2 i j) /\ signed_eq (pred n) r1 r2
  | _, _ => False
  end.

Lemma lc_layer_printed : forall f fp alpha beta y ws a, beta <> 0 ->
  signed_eq (pred (length ws))
    (fst (fst (lc_layer (-1) f fp alpha beta y a ws)))
    (fst (bp_layer f fp y a ws)) /\
  (forall i, snd (lc_layer (-1) f fp alpha beta y a ws) i
             * snd (fst (lc_layer (-1) f fp alpha beta y a ws)) i
             = (-1) ^ length ws * (- beta * snd (bp_layer f fp y a ws) i)).
Proof.
  intros f fp alpha beta y ws. induction ws as [|W ws IH]; intros a Hb.
  - simpl. split; [exact I|]. intro i. unfold abar. ring.
  - simpl. destruct (IH (app W (fun i => f (a i))) Hb) as [Hg Hd].
    set (rl := lc_layer (-1) f fp alpha beta y (app W (fun i => f (a i))) ws) in *.
    set (rb := bp_layer f fp y (app W (fun i => f (a i))) ws) in *.
    assert (HT : forall i, appT W (fun j => snd rl j * (-1 * snd (fst rl) j)) i
                 = (-1) ^ S (length ws) * (- beta * appT W (snd rb) i)).
    { intro i. simpl.
      replace ((-1) * (-1) ^ length ws * (- beta * appT W (snd rb) i))
        with ((-1) * (-1) ^ length ws * - beta * appT W (snd rb) i) by ring.
      rewrite <- appT_scal. apply appT_ext. intro j.
      replace (snd rl j * (-1 * snd (fst rl) j))
        with (-1 * (snd rl j * snd (fst rl) j)) by ring.
      rewrite Hd. ring. }
    split.
    + simpl. split; [|exact Hg]. intros i j. rewrite Hd.
      unfold zbar, abar. field. exact Hb.
    + intro i. rewrite HT. unfold abar. simpl. ring.
Qed.

Theorem lecun_printed_alternates : forall f fp alpha beta (y x : Vec) ws,
  0 < beta ->
  signed_eq (pred (length ws)) (lc_net (-1) f fp alpha beta y x ws)
            (bp_net f fp y x ws).
Proof.
  intros f fp alpha beta y x ws Hb. destruct ws as [|W ws]; simpl; [exact I|].
  assert (Hb' : beta <> 0) by lra.
  destruct (lc_layer_printed f fp alpha beta y ws (app W x) Hb') as [Hg Hd].
  split; [|exact Hg]. intros i j. rewrite Hd. field. exact Hb'.
Qed.

(** Concrete counterexample: two scalar layers, f = id (D = 1), x = 1,
    W_0 = W_1 = 1, y = 0, beta = 1, alpha = 1/2.  BP: a_2 = 1, the
    gradient of W_0 is 1.  Printed sign: z_2^+ = 1/2, z_2^- = 3/2, so
    delta_2 = -1 and the KKT condition demands delta_1 = W_1 D_2 delta_2 = -1,
    but the printed update gives z_1^+ = 3/2, z_1^- = 1/2, delta_1 = +1, and
    the gradient estimate of W_0 is -1: the wrong sign. *)
Definition cx_ws : list Lin := [scalar 1; scalar 1].
Definition cx_x : Vec := fun _ => 1.
Definition cx_y : Vec := fun _ => 0.

Theorem printed_sign_counterexample :
  let r := lc_layer (-1) (fun z => z) (fun _ => 1) (1/2) 1 cx_y
                    (app (scalar 1) cx_x) [scalar 1] in
  let r2 := lc_layer (-1) (fun z => z) (fun _ => 1) (1/2) 1 cx_y
                     (app (scalar 1) (fun i => app (scalar 1) cx_x i)) [] in
  (* delta_2 = -1 and delta_1 = +1, violating delta_1 = W_1 D_2 delta_2 *)
  snd (fst r2) 0%nat = -1 /\ snd (fst r) 0%nat = 1 /\
  snd (fst r) 0%nat <> 1 * snd r2 0%nat * snd (fst r2) 0%nat /\
  (* gradient estimates of W_0: printed -1, settled = BP = +1 *)
  hd (fun _ _ => 0) (lc_net (-1) (fun z => z) (fun _ => 1) (1/2) 1 cx_y cx_x cx_ws)
     0%nat 0%nat = -1 /\
  hd (fun _ _ => 0) (lc_net 1 (fun z => z) (fun _ => 1) (1/2) 1 cx_y cx_x cx_ws)
     0%nat 0%nat = 1 /\
  hd (fun _ _ => 0) (bp_net (fun z => z) (fun _ => 1) cx_y cx_x cx_ws)
     0%nat 0%nat = 1.
Proof.
  unfold cx_ws, cx_x, cx_y. simpl. unfold zbar, abar.
  repeat split; try field; lra.
Qed.
